"""K-fold cross-validation of one model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

import recsys.split as split
from recsys._progress import progress
from recsys.data.interactions import Interactions
from recsys.evaluation.evaluate import ACCURACY_METRICS, evaluate
from recsys.models.base import Recommender


@dataclass
class CrossValidationResult:
    """Per-fold summaries and their mean and standard deviation.

    Attributes
    ----------
    folds : pandas.DataFrame
        One row per fold, one column per metric.
    summary : pandas.DataFrame
        One row per metric with columns ``mean`` and ``std`` (sample std over folds).
    """

    folds: pd.DataFrame
    summary: pd.DataFrame


def cross_validate(
    model: Recommender,
    interactions: Interactions,
    folds: int = 5,
    k: int | Sequence[int] = 10,
    metrics: Sequence[str] = ACCURACY_METRICS,
    seed: int = 42,
    show_progress: bool = True,
) -> CrossValidationResult:
    """Fit a fresh clone of ``model`` on each per-user fold split and evaluate it.

    Parameters
    ----------
    model : Recommender
        Its parameters are used; the instance itself is not fitted.
    interactions : Interactions
    folds : int
        Number of folds (:func:`recsys.split.kfold`).
    k, metrics
        As in :func:`recsys.evaluate`.
    seed : int
        Seed of the fold assignment.
    show_progress : bool

    Returns
    -------
    CrossValidationResult

    Examples
    --------
    >>> import recsys as rs
    >>> cv = rs.cross_validate(rs.Popularity(), rs.datasets.demo().interactions, folds=3,
    ...                        show_progress=False)
    >>> bool(cv.summary.loc["ndcg@10", "mean"] > 0)
    True
    """
    rows = []
    pairs = split.kfold(interactions, n_folds=folds, seed=seed)
    for train, test in progress(pairs, total=folds, desc=f"cv {type(model).__name__}",
                            unit="fold", disable=not show_progress):
        fitted = model.clone().fit(train)
        rows.append(evaluate(fitted, test, k=k, metrics=metrics).summary)
    table = pd.DataFrame(rows, index=pd.RangeIndex(1, folds + 1, name="fold"))
    summary = pd.DataFrame({"mean": table.mean(), "std": table.std(ddof=1)})
    return CrossValidationResult(table, summary)
