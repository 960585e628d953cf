"""Online A/B tests from logs: what each model showed (the impressions log of ``recsys serve
--impressions``) and what users did afterwards (an events log), with the statistics of
:func:`recsys.compare`.

Each impression is scored like an offline list: the items the user interacted with after it
was shown (within ``window`` seconds) are its relevant items, and precision, recall, NDCG, MAP
and hit rate at ``k`` follow from the same kernels as offline. A user's value is the mean over
their impressions by one model. Users are split between models (each saw one), so the tests
are for independent groups: Welch's t-test and the Wilcoxon rank-sum test, Holm-corrected
across models, with Cohen's d as the effect size, and a bootstrap CI of each mean.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_int, check_real
from recsys.errors import ConfigError, DataError
from recsys.evaluation.compare import COLUMNS, ComparisonTable
from recsys.evaluation.significance import bootstrap_ci, holm, unpaired_tests
from recsys.ranking._accuracy import compute

__all__ = ["compare_online", "read_impressions"]

IMPRESSION_COLUMNS = ("time", "user", "model", "items")
ONLINE_METRICS = ("ndcg", "recall", "precision", "map", "hit_rate")


def read_impressions(path: str | os.PathLike) -> pd.DataFrame:
    """An impressions log (JSON lines, see :mod:`recsys.serving.impressions`) as a frame
    with columns ``time``, ``user``, ``model``, ``source``, ``items`` (lists).

    Raises
    ------
    DataError
        A line that is not JSON, or a column missing.
    """
    try:
        frame = pd.read_json(path, lines=True, dtype=False)
    except ValueError as exc:
        raise DataError(f"{path} is not an impressions log (JSON lines): {exc}") from None
    missing = [c for c in IMPRESSION_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: impressions need {list(IMPRESSION_COLUMNS)}; missing "
                        f"{missing}")
    if frame["model"].isna().all():  # a service of one model
        frame["model"] = "model"
    return frame


def compare_online(
    impressions: pd.DataFrame | str | os.PathLike,
    events: pd.DataFrame,
    k: int = 10,
    window: float | None = None,
    baseline: str | None = None,
    metrics: Sequence[str] = ONLINE_METRICS,
    engaged_only: bool = False,
    n_bootstrap: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> ComparisonTable:
    """Compare the models of an online test from its impressions and the events after them.

    Parameters
    ----------
    impressions : DataFrame or path
        Columns ``time`` (Unix seconds), ``user``, ``model``, ``items`` (the list shown, best
        first); or the path of an impressions log.
    events : DataFrame
        Columns ``user``, ``item``, ``time`` (Unix seconds): clicks, carts, purchases.
    k : int
        Cutoff of the metrics (lists are cut to their first ``k`` items).
    window : float, optional
        Seconds after an impression during which an event counts for it; None: any later
        event.
    baseline : str, optional
        The model the others are tested against; defaults to the first in the log.
    metrics : sequence of str
        Among "precision", "recall", "ndcg", "map", "mrr", "hit_rate".
    engaged_only : bool
        Score only impressions followed by at least one event (as an offline evaluation
        scores only users with test items); by default every impression counts, and one
        followed by nothing scores 0.
    n_bootstrap, alpha, seed
        As in :func:`recsys.compare`.

    Returns
    -------
    ComparisonTable
        The columns of :func:`recsys.compare`; ``p_ttest`` is Welch's t-test, ``p_wilcoxon``
        the rank-sum test, ``effect_size`` Cohen's d, ``users`` the users of each model.

    Examples
    --------
    >>> shown = pd.DataFrame({"time": [0.0, 0.0, 0.0, 0.0], "user": ["u1", "u2", "u3", "u4"],
    ...                       "model": ["a", "a", "b", "b"],
    ...                       "items": [["x", "y"], ["y", "z"], ["x", "y"], ["x", "z"]]})
    >>> clicks = pd.DataFrame({"user": ["u1", "u3", "u3", "u4"], "item": ["x", "x", "y", "x"],
    ...                        "time": [5.0, 5.0, 6.0, 5.0]})
    >>> table = compare_online(shown, clicks, k=2, metrics=["precision"], n_bootstrap=10)
    >>> table[["model", "mean", "users"]].values.tolist()
    [['a', 0.25, 2], ['b', 0.75, 2]]
    """
    shown = read_impressions(impressions) if not isinstance(impressions, pd.DataFrame) \
        else impressions
    k = check_int("k", k)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap)
    check_real("alpha", alpha, strict=True)
    missing = [c for c in ("user", "item", "time") if c not in events.columns]
    if missing:
        raise DataError(f"events need columns user, item, time; missing {missing}")
    per_user = _per_user_values(shown, events, k, window, list(metrics), engaged_only)
    names = list(dict.fromkeys(shown["model"]))
    baseline = names[0] if baseline is None else baseline
    if baseline not in names:
        raise ConfigError(f"baseline {baseline!r} is not one of the models {names}")
    rows = []
    for metric in metrics:
        groups = {name: per_user.loc[per_user["model"] == name, metric].to_numpy()
                  for name in names}
        base = groups[baseline]
        tested = [n for n in names if n != baseline and len(groups[n]) > 1 and len(base) > 1]
        tests = {n: unpaired_tests(groups[n], base) for n in tested}
        adjusted = dict(zip(tested, holm([tests[n][0] for n in tested]), strict=True))
        for name in names:
            values = groups[name]
            low, high = (bootstrap_ci(values[:, None], n_bootstrap, seed=seed)[:, 0]
                         if len(values) else (np.nan, np.nan))
            p_t, p_u, effect = tests.get(name, (np.nan, np.nan, np.nan))
            p_holm = adjusted.get(name, np.nan)
            mean = values.mean() if len(values) else np.nan
            rows.append({"model": name, "metric": f"{metric}@{k}", "mean": mean,
                         "ci_low": low, "ci_high": high, "diff": mean - base.mean(),
                         "effect_size": effect, "p_ttest": p_t, "p_wilcoxon": p_u,
                         "p_holm": p_holm,
                         "significant": bool(p_holm < alpha) if name != baseline else False,
                         "users": len(values)})
    table = ComparisonTable(rows, columns=COLUMNS)
    table.attrs["baseline"] = baseline
    table.attrs["test"] = "Welch t-test, independent groups"
    return table


def _per_user_values(shown: pd.DataFrame, events: pd.DataFrame, k: int,
                     window: float | None, metrics: list[str],
                     engaged_only: bool) -> pd.DataFrame:
    """One row per (user, model): the mean of each metric over that user's impressions."""
    lists = [list(items)[:k] for items in shown["items"]]
    lengths = np.array([len(items) for items in lists], np.int64)
    flat = pd.Series([item for items in lists for item in items], dtype=object)
    codes, catalog = pd.factorize(pd.concat([flat, events["item"].astype(object)],
                                            ignore_index=True))
    shown_codes, event_codes = codes[:len(flat)], codes[len(flat):]
    recommended = np.full((len(shown), max(k, 1)), -1, np.int64)
    rows = np.repeat(np.arange(len(shown)), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    recommended[rows, np.arange(len(flat)) - starts] = shown_codes
    # Relevant items of an impression: the user's events after it (within the window).
    pairs = pd.DataFrame({"impression": np.arange(len(shown)), "user": shown["user"],
                          "shown_at": shown["time"].to_numpy(np.float64)}).merge(
        pd.DataFrame({"user": events["user"], "item": event_codes,
                      "time": events["time"].to_numpy(np.float64)}), on="user")
    later = pairs["time"] > pairs["shown_at"]
    if window is not None:
        later &= pairs["time"] <= pairs["shown_at"] + check_real("window", window)
    pairs = pairs[later]
    relevant = sp.csr_matrix((np.ones(len(pairs), np.float32),
                              (pairs["impression"].to_numpy(), pairs["item"].to_numpy())),
                             shape=(len(shown), max(len(catalog), 1)))
    relevant.data[:] = 1.0  # an item clicked twice is relevant once
    values = compute(recommended, relevant, metrics=metrics, k=k)
    frame = pd.DataFrame({name: np.nan_to_num(np.asarray(v, np.float64))
                          for name, v in values.items()})
    frame["user"], frame["model"] = shown["user"].to_numpy(), shown["model"].to_numpy()
    if engaged_only:
        frame = frame[np.diff(relevant.indptr) > 0]
    return frame.groupby(["model", "user"], sort=False)[metrics].mean().reset_index()
