"""What an experiment produced: one :class:`ModelRun` per model and the
:class:`ExperimentResult` the report renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from recsys.data.interactions import Interactions
from recsys.errors import RecsysError
from recsys.evaluation.experiment.config import ExperimentConfig
from recsys.evaluation.metrics import BEYOND_METRICS

PER_USER_BEYOND = BEYOND_METRICS  # the per-user columns evaluate(beyond=True) adds
GLOBAL_BEYOND = ("coverage", "gini", "personalization")


class RunScores(NamedTuple):
    """The values of a model that ran: per user (averaged over folds) and per fold."""

    per_user: pd.DataFrame
    folds: pd.DataFrame


@dataclass
class ModelRun:
    """What happened to one model: parameters, timings, per-user values, or its error."""

    name: str
    class_name: str
    params: dict
    status: str = "ok"
    error: str = ""
    best_params: list[dict] = field(default_factory=list)  # one per fold when tuned
    trials: pd.DataFrame | None = None  # every tuning trial with its fold; None: not tuned
    fit_seconds: float = 0.0
    evaluate_seconds: float = 0.0
    per_user: pd.DataFrame | None = None  # users x metric columns, averaged over folds
    folds: pd.DataFrame | None = None  # one row per fold: evaluate's summary
    exposure: np.ndarray | None = None  # top-report_k slots per catalog item, all folds
    info: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def scores(self) -> RunScores:
        """``per_user`` and ``folds``, which every run that is ``ok`` has.

        Raises
        ------
        RecsysError
            The run has no values: it failed or was skipped (callers check ``ok`` first).
        """
        if self.per_user is None or self.folds is None:
            raise RecsysError(f"model {self.name!r} has no evaluation results: its run is "
                              f"{self.status!r}")
        return RunScores(self.per_user, self.folds)


@dataclass
class ExperimentResult:
    """Everything :func:`run_experiment` computed; :mod:`~recsys.evaluation.experiment.report`
    renders it.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy, one row per (model, metric): ``mean, ci_low, ci_high`` (95% bootstrap over the
        users every successful model was scored on), the paired tests against the baseline
        (as :func:`recsys.compare`), ``fold_std`` for k-fold, ``status`` and ``error``. A
        failed model has a single row with its error.
    curves : pandas.DataFrame
        ``model, metric, k, mean`` for every accuracy metric and k.
    pairwise : pandas.DataFrame
        Per metric, the best model against each other one (paired tests, Holm-corrected
        over the others): see :func:`recsys.evaluation.experiment.stats.best_vs_others`.
    """

    config: ExperimentConfig
    output: Path
    runs: list[ModelRun]
    table: pd.DataFrame
    curves: pd.DataFrame
    data: dict
    split: dict
    baseline: str | None
    item_counts: np.ndarray
    interactions: Interactions
    pairwise: pd.DataFrame = field(default_factory=pd.DataFrame)
    seconds: float = 0.0
    files: dict[str, Path] = field(default_factory=dict)

    def summary(self, k: int | None = None) -> pd.DataFrame:
        """Models x metrics at ``k`` (default: ``report_k``): the means, failed models NaN."""
        k = k or self.config.report_k
        ok = self.table[self.table["status"] == "ok"]
        wide = ok[ok["metric"].str.endswith(f"@{k}")].pivot(
            index="model", columns="metric", values="mean")
        names = [run.name for run in self.runs]
        columns = [c for c in (f"{m}@{k}" for m in (*self.config.metrics, *PER_USER_BEYOND,
                                                     *GLOBAL_BEYOND)) if c in wide.columns]
        return wide.reindex(index=names, columns=columns)

