"""Prequential (test-then-learn) evaluation of a model fed by a stream of events.

Events are taken in time order, in chunks. Before each chunk the model recommends for the
chunk's users and is scored on what they did next (the items new to them); then it learns the
chunk through :meth:`~recsys.models.base.Recommender.update` (or, every ``refit_every``
chunks, a full fit on everything so far), exactly as a service that ingests events would.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_int
from recsys.data.interactions import Interactions, numeric_column
from recsys.errors import ColumnError, ConfigError
from recsys.evaluation.metrics import ndcg, recall
from recsys.models.base import EVENT_COLUMNS, Recommender

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["StreamResult", "evaluate_stream"]


@dataclass
class StreamResult:
    """What :func:`evaluate_stream` measured.

    Attributes
    ----------
    chunks : pandas.DataFrame
        One row per chunk: ``chunk``, ``first_time`` / ``last_time`` of its events,
        ``events``, ``users`` (scored: those with an item new to them), ``ndcg`` and
        ``recall`` (means over those users, at ``k``), ``learn`` ("update" or "refit") and
        ``learn_seconds`` (wall time of learning the chunk).
    k : int
    """

    chunks: pd.DataFrame
    k: int

    @property
    def summary(self) -> dict[str, float]:
        """NDCG and recall over every scored user of the stream, and the learning time."""
        users = self.chunks["users"].to_numpy(float)
        total = max(users.sum(), 1.0)
        return {f"ndcg@{self.k}": float((self.chunks["ndcg"].fillna(0) * users).sum() / total),
                f"recall@{self.k}": float((self.chunks["recall"].fillna(0) * users).sum()
                                          / total),
                "learn_seconds": float(self.chunks["learn_seconds"].sum())}

    def plot(self, *, ax: Axes | None = None, label: str = "") -> Figure:
        """NDCG and recall per chunk over the stream; chunks learned by a refit are marked.

        Returns the Figure (a new one, or the one of ``ax``), as :mod:`recsys.plot` does.
        """
        from recsys.evaluation.plots import panels

        figure, (ax,) = panels(ax, 1, ncols=1, size=(6.0, 3.0))
        frame = self.chunks
        for metric in ("ndcg", "recall"):
            ax.plot(frame["chunk"], frame[metric], marker=".",
                    label=f"{label} {metric}@{self.k}".strip())
        refits = frame[frame["learn"] == "refit"]
        if len(refits):
            ax.plot(refits["chunk"], refits["ndcg"], "x", color="black", label="refit")
        ax.set_xlabel("chunk (time order)")
        ax.set_ylabel("mean over the chunk's users")
        ax.legend()
        return figure


def evaluate_stream(
    model: Recommender,
    events: pd.DataFrame,
    *,
    k: int = 10,
    step: int = 1000,
    refit_every: int | None = None,
    train: Interactions | None = None,
) -> StreamResult:
    """Prequential evaluation: for each chunk of ``step`` events in time order, recommend
    for its users, score the lists on the items each user then took that were new to them
    (NDCG and recall at ``k``; items the model did not know yet count as misses), then learn
    the chunk.

    Parameters
    ----------
    model : Recommender
        A fitted model; it is copied, the caller's model does not change.
    events : pandas.DataFrame
        Columns ``user_id``, ``item_id``, ``timestamp``, optionally ``weight``; sorted here
        by time (stably).
    k : int
    step : int
        Events per chunk.
    refit_every : int, optional
        Every this many chunks, fit a fresh clone of the model on ``train`` plus every event
        so far instead of updating (periodic retraining, for comparison); None: update only.
    train : Interactions, optional
        What ``model`` was fitted on; needed by ``refit_every``. Families fitted on a
        Dataset with item features (ContentBased, LightFM, a Hybrid holding one) cannot be
        refitted from interactions: ``refit_every`` raises for them before any chunk.

    Returns
    -------
    StreamResult

    Examples
    --------
    >>> import recsys as rs
    >>> frame = rs.datasets.demo().interactions.to_pandas().rename(
    ...     columns={"user": "user_id", "item": "item_id"}).sort_values("timestamp")
    >>> start = rs.Interactions.from_pandas(frame.iloc[:30000], timestamp="timestamp")
    >>> model = rs.Popularity().fit(start)
    >>> result = rs.evaluate_stream(model, frame.iloc[30000:34000], k=10, step=2000)
    >>> result.chunks[["chunk", "events", "learn"]].values.tolist()
    [[0, 2000, 'update'], [1, 2000, 'update']]
    """
    model._check_fitted()
    k = check_int("k", k)
    step = check_int("step", step)
    missing = [c for c in (*EVENT_COLUMNS, "timestamp") if c not in events.columns]
    if missing:
        raise ColumnError(f"evaluate_stream needs event columns {missing}; the frame has "
                          f"{list(events.columns)[:20]}")
    if refit_every is not None:
        refit_every = check_int("refit_every", refit_every)
        if train is None:
            raise ConfigError("refit_every needs train= (the interactions the model was "
                              "fitted on) to refit on them plus the events so far")
        if model.uses_item_features:
            # A refit here sees Interactions only: such a family would fail (ContentBased)
            # or silently lose its item features (LightFM) after the first chunks.
            raise ConfigError(f"refit_every refits on interactions alone, and "
                              f"{type(model).__name__} is fitted on a Dataset with item "
                              "features; evaluate it with updates only (refit_every=None), "
                              "or refit it yourself between calls")
    # Validated once, whole, before anything is learned (an error names the column and row).
    Interactions.from_pandas(events, *EVENT_COLUMNS, timestamp="timestamp",
                             weight="weight" if "weight" in events.columns else None)
    order = np.argsort(numeric_column(events, "timestamp", "timestamp"), kind="stable")
    events = events.iloc[order].reset_index(drop=True)
    if "weight" not in events.columns:
        events = events.assign(weight=1.0)
    history = _as_frame(train) if train is not None else None
    learner = copy.deepcopy(model)
    rows = []
    for number, start in enumerate(range(0, len(events), step)):
        chunk = events.iloc[start:start + step]
        users, relevant = _targets(learner, chunk)
        scored = np.diff(relevant.indptr) > 0
        metrics = {"ndcg": np.nan, "recall": np.nan}
        if scored.any():
            lists = learner.recommend(users[scored], k=k, on_unknown="fallback").positions
            found = relevant[scored]
            metrics = {"ndcg": float(np.mean(np.asarray(ndcg(lists, found, k)))),
                       "recall": float(np.mean(np.asarray(recall(lists, found, k))))}
        refit = refit_every is not None and (number + 1) % refit_every == 0
        began = time.perf_counter()
        if refit:
            assert history is not None
            seen = pd.concat([history, events.iloc[:start + step]], ignore_index=True)
            learner = learner.clone().fit(_interactions(seen))
        else:
            learner.update(chunk)
        rows.append({"chunk": number, "first_time": chunk["timestamp"].iloc[0],
                     "last_time": chunk["timestamp"].iloc[-1], "events": len(chunk),
                     "users": int(scored.sum()), **metrics,
                     "learn": "refit" if refit else "update",
                     "learn_seconds": time.perf_counter() - began})
    return StreamResult(pd.DataFrame(rows), k)


def _targets(model: Recommender, chunk: pd.DataFrame) -> tuple[np.ndarray, sp.csr_matrix]:
    """The chunk's users and, per user, the items they took that were new to them (over the
    model's items, then one column per item the model does not know: never recommended)."""
    user_rows, uniques = pd.factorize(chunk[EVENT_COLUMNS[0]])
    users = np.asarray(uniques, dtype=object)
    item_ids = chunk[EVENT_COLUMNS[1]].to_numpy()
    columns = model.items_.to_index(item_ids, missing="ignore")
    unknown = columns < 0
    _, extra = np.unique(pd.Series(item_ids[unknown], dtype=object).astype(str),
                         return_inverse=True)
    columns[unknown] = len(model.items_) + extra
    known_rows = model.users_.to_index(users, missing="ignore")
    seen = np.zeros(len(chunk), bool)
    known = (known_rows[user_rows] >= 0) & ~unknown
    if known.any():  # an item the user already had cannot be recommended: not a target
        history = model.user_items_[known_rows[user_rows[known]], columns[known]]
        seen[known] = np.asarray(history).ravel() != 0
    width = len(model.items_) + int(extra.max(initial=-1)) + 1
    relevant = sp.csr_matrix((np.ones(int((~seen).sum()), np.float32),
                              (user_rows[~seen], columns[~seen])), shape=(len(users), width))
    relevant.sum_duplicates()
    relevant.data[:] = 1.0
    return users, relevant


def _as_frame(train: Interactions) -> pd.DataFrame:
    frame = train.to_pandas().rename(columns={"user": EVENT_COLUMNS[0],
                                              "item": EVENT_COLUMNS[1]})
    if "timestamp" not in frame.columns:  # before every event of the stream
        frame["timestamp"] = np.iinfo(np.int64).min
    return frame


def _interactions(frame: pd.DataFrame) -> Interactions:
    return Interactions.from_pandas(frame, *EVENT_COLUMNS, weight="weight",
                                    timestamp="timestamp")
