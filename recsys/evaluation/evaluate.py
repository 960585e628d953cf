"""Offline evaluation of any recommender on held-out interactions, full ranking."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_choice, check_int
from recsys._progress import progress
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError, DataError
from recsys.evaluation import metrics as kernels
from recsys.evaluation._html import evaluation_html
from recsys.models.base import Recommender

ACCURACY_METRICS = kernels.CORE_METRICS
USERS_PER_CALL = 8192


@dataclass
class EvaluationResult:
    """Metrics of one model on one test set.

    Attributes
    ----------
    summary : pandas.Series
        Mean of each per-user metric (``"ndcg@10"`` ...) plus ``"coverage@k"``.
    per_user : pandas.DataFrame
        One row per evaluated user (indexed by external user id), one column per metric.
    info : dict
        What was counted and left out: evaluated users, test users unknown to the model,
        test entries on items without any training interaction (outside the model's index
        or in it with no user; they stay relevant and count as misses).
    """

    summary: pd.Series
    per_user: pd.DataFrame
    info: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"EvaluationResult(\n{self.summary.to_string()}\n)"

    def _repr_html_(self) -> str:
        return evaluation_html(self)


def _relevance(model: Recommender, test: Interactions, threshold: float | None = None,
               ) -> tuple[np.ndarray, sp.csr_matrix, dict]:
    """Evaluated user ids and their relevant items over the model's item columns.

    Test items the model never saw get extra columns beyond ``model.n_items`` so they count in
    recall's denominator but can never be hit.
    """
    positive = test.matrix.copy()
    floor = 0.0 if threshold is None else float(threshold)
    keep = (positive.data > 0) & (positive.data >= floor)
    positive.data = np.where(keep, positive.data, 0).astype(np.float32)
    positive.eliminate_zeros()
    test_rows = np.flatnonzero(np.diff(positive.indptr) > 0)
    user_ids = test.users.ids[test_rows]
    known = model.users_.to_index(user_ids, missing="ignore") >= 0
    positive = positive[test_rows[known]]
    item_cols = model.items_.to_index(test.items.ids, missing="ignore")
    unseen_items = np.flatnonzero(item_cols < 0)
    item_cols[unseen_items] = model.n_items + np.arange(len(unseen_items))
    relevant = sp.csr_matrix(
        (positive.data, item_cols[positive.indices], positive.indptr),
        shape=(positive.shape[0], model.n_items + len(unseen_items)))
    relevant.sort_indices()
    info = {
        "users_evaluated": int(known.sum()),
        "users_unknown_skipped": int((~known).sum()),
        "test_entries_on_unseen_items": int(_without_training(model, relevant)
                                            [relevant.indices].sum()),
    }
    return user_ids[known], relevant, info


def _without_training(model: Recommender, relevant: sp.csr_matrix) -> np.ndarray:
    """Mask of the relevance columns whose item has no training interaction: outside the
    model's index, or in it (splits keep one item index for train and test) with no user."""
    held = np.bincount(model.user_items_.indices, minlength=model.n_items) > 0
    return np.concatenate([~held, np.ones(relevant.shape[1] - model.n_items, dtype=bool)])


def evaluate(
    model: Recommender,
    test: Interactions,
    train: Interactions | None = None,
    k: int | Sequence[int] = 10,
    metrics: Sequence[str] = ACCURACY_METRICS,
    show_progress: bool = False,
    beyond: bool = False,
    item_features: Any = None,
    relevance_threshold: float | None = None,
    gains: str = "binary",
    recommend_options: Mapping[str, Any] | None = None,
) -> EvaluationResult:
    """Score a fitted model on held-out interactions by ranking the whole catalog.

    Every test user the model knows gets one full-ranking list (training items excluded, as
    the model saw them); every stored positive test entry is relevant. Sampled metrics are not
    offered: ranking against a sample of negatives changes which model wins (Krichene &
    Rendle, 2020).

    Parameters
    ----------
    model : Recommender
        A fitted model.
    test : Interactions
        Held-out interactions (usually from :mod:`recsys.split`); matched to the model by
        external ids.
    train : Interactions, optional
        The training interactions, when they are not the model's own: test entries that also
        appear in ``train`` are dropped (they could never be recommended).
    k : int or list of int
        Cut-offs; every metric is computed at each.
    metrics : list of str
        Names of per-user kernels in :mod:`recsys.evaluation.metrics`.
    show_progress : bool
        Progress bar over batches of users.
    beyond : bool
        Also measure the lists themselves (:mod:`recsys.evaluation.metrics`): per user
        ``novelty@k``, ``arp@k`` (average recommended popularity) and ``diversity@k``
        (intra-list diversity); in the summary also ``gini@k`` of exposure and
        ``personalization@k``. Popularity comes from ``train`` when given, else from the
        model's training data.
    item_features : Features or array (n_items, n_features), optional
        Item vectors for ``diversity@k``: a :class:`~recsys.data.features.Features` (rows
        matched by item id; items without a row count as featureless) or an array aligned
        with the model's items. Default: the items' columns of the training matrix, so two
        items are similar when the same users interacted with them.
    relevance_threshold : float, optional
        Only test entries whose weight is at least this are relevant (ratings of 4 and 5 with
        ``4``); the others are ignored, as if they were not in the test set.
    gains : {"binary", "linear", "exponential"}
        Gains of ``ndcg`` from the test weights (see :func:`recsys.evaluation.metrics.ndcg`);
        the other metrics count relevant items.
    recommend_options : dict, optional
        Keyword arguments for every ``model.recommend`` call: ``where=`` filters,
        ``diversify=`` re-ranking, ``items`` / ``exclude`` lists. The lists are scored as
        served, so their cost in accuracy shows.

    Returns
    -------
    EvaluationResult

    Examples
    --------
    >>> import recsys as rs
    >>> ds = rs.datasets.demo()
    >>> train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)
    >>> res = rs.evaluate(rs.Popularity().fit(train), test, k=10)
    >>> bool(0.0 <= res.summary["ndcg@10"] <= 1.0)
    True
    """
    model._check_fitted()
    requested = k if isinstance(k, Iterable) and not isinstance(k, (str, bytes)) else [k]
    cutoffs = sorted({check_int("k", c) for c in requested})
    if not cutoffs:
        raise ConfigError("k must name at least one cut-off")
    for name in metrics:
        check_choice("metric", name, ACCURACY_METRICS)
    if train is not None:
        test = _drop_train_entries(test, train)
    user_ids, relevant, info = _relevance(model, test, relevance_threshold)
    if len(user_ids) == 0:
        raise DataError("no test user is known to the model: nothing to evaluate")
    width = max(cutoffs)
    recommended = np.empty((len(user_ids), width), np.int64)
    starts = range(0, len(user_ids), USERS_PER_CALL)
    for start in progress(starts, desc=f"evaluate {type(model).__name__}", unit="batch",
                      disable=not show_progress):
        recs = model.recommend(user_ids[start:start + USERS_PER_CALL], k=width,
                               **(recommend_options or {}))
        recommended[start:start + USERS_PER_CALL] = recs.positions
    values = kernels.compute(recommended, relevant, metrics=list(metrics), k=cutoffs,
                             gains=gains)
    frame = pd.DataFrame({f"{name}@{cutoff}": values[name][cutoff]
                          for cutoff in cutoffs for name in metrics},
                         index=pd.Index(user_ids, name="user"))
    if beyond:
        for column, values_at in _per_user_beyond(model, recommended, cutoffs, train,
                                                  item_features).items():
            frame[column] = values_at
    summary = frame.mean()
    for cutoff in cutoffs:
        summary[f"coverage@{cutoff}"] = kernels.coverage(recommended, model.n_items, k=cutoff)
        if beyond:
            summary[f"gini@{cutoff}"] = kernels.gini_index(recommended, model.n_items, k=cutoff)
            summary[f"personalization@{cutoff}"] = kernels.personalization(recommended, k=cutoff)
    return EvaluationResult(summary, frame, info)


def _per_user_beyond(model: Recommender, recommended: np.ndarray, cutoffs: list[int],
                     train: Interactions | None, item_features: Any) -> dict[str, np.ndarray]:
    """novelty@k, arp@k and diversity@k columns over the model's item columns."""
    if train is None:
        seen = model.user_items_
        counts: np.ndarray = np.bincount(seen.indices[seen.data > 0], minlength=model.n_items)
        n_train_users = model.n_users
    else:
        # The caller's train may index items differently: count per model column.
        cols = model.items_.to_index(train.items.ids, missing="ignore")
        per_train_item = np.bincount(train.matrix.indices[train.matrix.data > 0],
                                     minlength=train.n_items)
        counts = np.zeros(model.n_items)
        np.add.at(counts, cols[cols >= 0], per_train_item[cols >= 0])
        n_train_users = train.n_users
    if item_features is None:
        vectors = model.user_items_.T  # items x users: co-interaction similarity
    elif hasattr(item_features, "index"):  # Features: align its rows to the model's items
        rows = item_features.index.to_index(model.items_.ids, missing="ignore")
        vectors = item_features.matrix[np.maximum(rows, 0)]
        vectors = sp.diags((rows >= 0).astype(np.float32)) @ vectors
    else:
        vectors = item_features
        if vectors.shape[0] != model.n_items:
            raise DataError(f"item_features has {vectors.shape[0]} rows; the model has "
                            f"{model.n_items} items")
    novelty = kernels.novelty(recommended, counts, k=cutoffs, n_users=n_train_users)
    arp = kernels.average_recommended_popularity(recommended, counts, k=cutoffs)
    diversity = kernels.intra_list_diversity(recommended, vectors, k=cutoffs)
    out = {}
    for cutoff in cutoffs:
        out[f"novelty@{cutoff}"] = novelty[cutoff]
        out[f"arp@{cutoff}"] = arp[cutoff]
        out[f"diversity@{cutoff}"] = diversity[cutoff]
    return out


def _drop_train_entries(test: Interactions, train: Interactions) -> Interactions:
    rows, cols, _ = test.entries()
    train_rows = train.users.to_index(test.users.ids[rows], missing="ignore")
    train_cols = train.items.to_index(test.items.ids[cols], missing="ignore")
    both = (train_rows >= 0) & (train_cols >= 0)
    in_train = np.zeros(len(rows), bool)
    in_train[both] = np.asarray(
        train.matrix[train_rows[both], train_cols[both]]).ravel() != 0
    if not in_train.any():
        return test
    return test.select(~in_train, step="evaluate",
                       reason="test entries also present in train dropped")
