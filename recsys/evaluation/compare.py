"""Side-by-side comparison of models: bootstrap confidence intervals and paired tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from recsys._checks import check_int, check_real
from recsys._progress import progress
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError
from recsys.evaluation._html import comparison_html
from recsys.evaluation.evaluate import ACCURACY_METRICS, evaluate
from recsys.evaluation.significance import bootstrap_ci, holm, paired_tests
from recsys.models.base import Recommender

__all__ = ["COLUMNS", "ComparisonTable", "bootstrap_ci", "compare", "format_comparison", "holm",
           "paired_tests"]

COLUMNS = ["model", "metric", "mean", "ci_low", "ci_high", "diff", "effect_size",
           "p_ttest", "p_wilcoxon", "p_holm", "significant", "users"]


class ComparisonTable(pd.DataFrame):
    """The tidy table :func:`compare` returns: a DataFrame that a notebook shows as a compact
    models x metrics table (``mean [CI]``, the best in bold, * significant). Anything
    computed from it (a selection, a pivot) is a plain DataFrame."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _repr_html_(self) -> str:
        return comparison_html(self)


def compare(
    models: Mapping[str, Recommender],
    train: Interactions,
    test: Interactions,
    k: int = 10,
    baseline: str | None = None,
    metrics: Sequence[str] = ("ndcg", "recall", "precision", "map"),
    n_bootstrap: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    show_progress: bool = False,
) -> pd.DataFrame:
    """Evaluate several models on the same users; CIs, and paired tests against a baseline.

    Models not yet fitted are fitted on ``train``; fitted ones are used as they are. Every
    model is scored on the users all of them can rank, so the tests are paired per user.

    Parameters
    ----------
    models : dict name -> Recommender
    train, test : Interactions
    k : int
    baseline : str, optional
        Name of the model the others are tested against (paired t-test and Wilcoxon
        signed-rank per metric, Holm-corrected across models, effect size Cohen's d_z).
        Defaults to the first model.
    metrics : list of str
    n_bootstrap : int
        Resamples of users for the 95% percentile bootstrap CI of each mean.
    alpha : float
        Level for the ``significant`` column (on Holm-adjusted t-test p-values).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    ComparisonTable
        A pandas DataFrame, tidy: one row per (model, metric) with columns ``model, metric,
        mean, ci_low, ci_high, diff, effect_size, p_ttest, p_wilcoxon, p_holm, significant,
        users``. A notebook shows it as a compact models x metrics table; pretty print with
        :func:`format_comparison`.

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.datasets.demo().interactions
    >>> train, test = rs.split.random(inter, test_size=0.2, seed=42)
    >>> table = rs.compare({"pop": rs.Popularity(), "knn": rs.ItemKNN()}, train, test,
    ...                    baseline="pop", n_bootstrap=200)
    >>> bool(table.query("model == 'knn' and metric == 'ndcg@10'")["significant"].item())
    True
    """
    if not models:
        raise ConfigError("compare needs at least one model")
    names = list(models)
    baseline = names[0] if baseline is None else baseline
    if baseline not in models:
        raise ConfigError(f"baseline {baseline!r} is not one of the models {names}")
    k = check_int("k", k)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap)
    check_real("alpha", alpha, strict=True)
    per_user = {}
    for name in progress(names, desc="compare", unit="model", disable=not show_progress):
        model = models[name]
        if not model.is_fitted:
            model.fit(train)
        result = evaluate(model, test, k=k, metrics=[m for m in metrics
                                                     if m in ACCURACY_METRICS])
        per_user[name] = result.per_user
    users = per_user[names[0]].index
    for frame in per_user.values():
        users = users.intersection(frame.index, sort=False)
    rows = []
    for column in per_user[names[0]].columns:
        values = np.column_stack([per_user[n].loc[users, column].to_numpy() for n in names])
        ci = bootstrap_ci(values, n_bootstrap, seed=seed)
        base = values[:, names.index(baseline)]
        tested = [i for i, n in enumerate(names) if n != baseline]
        tests = {i: paired_tests(values[:, i] - base) for i in tested}
        adjusted = dict(zip(tested, holm([tests[i][0] for i in tested]), strict=True))
        for i, name in enumerate(names):
            p_t, p_w, effect = tests.get(i, (np.nan, np.nan, np.nan))
            p_holm = adjusted.get(i, np.nan)
            rows.append({
                "model": name, "metric": column, "mean": values[:, i].mean(),
                "ci_low": ci[0, i], "ci_high": ci[1, i],
                "diff": values[:, i].mean() - base.mean(), "effect_size": effect,
                "p_ttest": p_t, "p_wilcoxon": p_w, "p_holm": p_holm,
                "significant": bool(p_holm < alpha) if name != baseline else False,
                "users": len(users),
            })
    table = ComparisonTable(rows, columns=COLUMNS)
    table.attrs["baseline"] = baseline
    return table


def format_comparison(table: pd.DataFrame) -> str:
    """A compact human table: one row per model, ``mean [ci_low, ci_high]`` per metric with a
    star where the difference to the baseline is significant.

    Examples
    --------
    >>> print(format_comparison(table))  # doctest: +SKIP
    """
    def cell(row: pd.Series) -> str:
        star = "*" if row["significant"] else " "
        return f"{row['mean']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}]{star}"

    wide = table.assign(cell=table.apply(cell, axis=1)).pivot(
        index="model", columns="metric", values="cell")
    wide = wide.loc[list(dict.fromkeys(table["model"]))]
    baseline = table.attrs.get("baseline", "")
    test = table.attrs.get("test", "paired t-test")
    note = f"\n* significantly different from baseline {baseline!r} (Holm-adjusted {test})"
    return wide.to_string() + note
