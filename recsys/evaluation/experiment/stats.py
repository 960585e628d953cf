"""The statistics of a run: bootstrap CIs, paired tests, per-k curves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.evaluation.experiment.config import ExperimentConfig
from recsys.evaluation.experiment.results import GLOBAL_BEYOND, ModelRun
from recsys.evaluation.significance import bootstrap_ci, holm, paired_tests

ALPHA = 0.05  # level of every "significant" column (Holm-adjusted paired t-test p)


def _bootstrap_cis(values: dict[str, np.ndarray], n_resamples: int, seed: int) -> dict:
    """95% percentile bootstrap CIs of the column means of every (users x models) array.

    The resampling is :func:`recsys.evaluation.compare.bootstrap_ci`'s (same generator, same
    draws), but the draws become a (resamples x users) count matrix built once and applied to
    every metric with one matrix product, instead of one fancy-indexed copy per metric.
    Arrays with NaN rows (a user without a value) fall back to ``bootstrap_ci`` on the rest.
    """
    out = {}
    clean = [name for name, v in values.items() if len(v) and not np.isnan(v).any()]
    for name, v in values.items():
        if name not in clean:
            present = v[~np.isnan(v).any(axis=1)]
            out[name] = bootstrap_ci(present, n_resamples, seed=seed) if len(present) else \
                np.full((2, v.shape[1]), np.nan)
    if not clean:
        return out
    stacked = np.hstack([values[name] for name in clean])
    n_users = len(stacked)
    rng = np.random.default_rng(seed)
    means = np.empty((n_resamples, stacked.shape[1]))
    chunk = max(1, (1 << 22) // n_users)  # bounded memory for many users
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        draws = rng.integers(0, n_users, size=(rows, n_users))
        draws += np.arange(rows)[:, None] * n_users
        counts = np.bincount(draws.ravel(), minlength=rows * n_users).reshape(rows, n_users)
        means[start:start + rows] = counts @ stacked / n_users
    bounds = np.percentile(means, [2.5, 97.5], axis=0)
    width = values[clean[0]].shape[1]
    for i, name in enumerate(clean):
        out[name] = bounds[:, i * width:(i + 1) * width]
    return out


def _compare(runs: list[ModelRun], baseline: str | None, config: ExperimentConfig) -> tuple[
        pd.DataFrame, str | None, pd.DataFrame]:
    """Tidy table with CIs and paired tests on the users every successful model was scored
    on (the statistics of :func:`recsys.compare`, applied to the runs' per-user values), the
    baseline's name, and the best-against-the-others tests of :func:`best_vs_others`."""
    ok = [run for run in runs if run.ok]
    rows: list[dict] = []
    pairwise = []
    if ok:
        names = [run.name for run in ok]
        if baseline not in names:
            baseline = names[0]
        users = ok[0].scores.per_user.index
        for run in ok[1:]:
            users = users.intersection(run.scores.per_user.index, sort=False)
        columns = list(ok[0].scores.per_user.columns)
        b = names.index(baseline)
        table = {column: np.column_stack([run.scores.per_user.loc[users, column].to_numpy(float)
                                          for run in ok]) for column in columns}
        cis = _bootstrap_cis(table, config.n_bootstrap, config.seed)
        for column in columns:
            values = table[column]
            values = values[~np.isnan(values).any(axis=1)]  # e.g. diversity of 1-item lists
            ci = cis[column]
            pairs = best_vs_others(values, names, column, ALPHA)
            if len(pairs):
                pairwise.append(pairs)
            tested = [i for i in range(len(ok)) if i != b and len(values) > 1]
            tests = {i: paired_tests(values[:, i] - values[:, b]) for i in tested}
            adjusted = dict(zip(tested, holm([tests[i][0] for i in tested]), strict=True))
            for i, run in enumerate(ok):
                p_t, p_w, effect = tests.get(i, (np.nan, np.nan, np.nan))
                p_holm = adjusted.get(i, np.nan)
                rows.append({
                    "model": run.name, "metric": column, "mean": values[:, i].mean(),
                    "ci_low": ci[0, i], "ci_high": ci[1, i],
                    "diff": values[:, i].mean() - values[:, b].mean(),
                    "effect_size": effect, "p_ttest": p_t, "p_wilcoxon": p_w,
                    "p_holm": p_holm, "significant": bool(p_holm < ALPHA),
                    "users": len(values), "fold_std": _fold_std(run, column),
                    "status": "ok", "error": ""})
        for run in ok:  # catalog-level values: one number per model, no CI
            folds = run.scores.folds
            for column in folds.columns:
                if column.split("@")[0] in GLOBAL_BEYOND:
                    rows.append({"model": run.name, "metric": column,
                                 "mean": float(folds[column].mean()),
                                 "fold_std": _fold_std(run, column), "users": len(users),
                                 "significant": False, "status": "ok", "error": ""})
    for run in runs:
        if not run.ok:
            rows.append({"model": run.name, "metric": "", "significant": False,
                         "status": run.status, "error": run.error})
    columns = ["model", "metric", "mean", "ci_low", "ci_high", "diff", "effect_size",
               "p_ttest", "p_wilcoxon", "p_holm", "significant", "users", "fold_std",
               "status", "error"]
    frame = pd.DataFrame(rows, columns=columns)
    order = {run.name: i for i, run in enumerate(runs)}
    frame = frame.sort_values("model", key=lambda s: s.map(order), kind="stable")
    frame.attrs["baseline"] = baseline if ok else None
    best = pd.concat(pairwise, ignore_index=True) if pairwise else \
        pd.DataFrame(columns=PAIRWISE_COLUMNS)
    return frame.reset_index(drop=True), baseline if ok else None, best


PAIRWISE_COLUMNS = ["metric", "best", "model", "best_mean", "mean", "diff", "effect_size",
                    "p_ttest", "p_wilcoxon", "p_holm", "significant"]
# Per-user columns where a larger mean is not better: no best model is named.
NO_BEST = ("arp",)


def best_vs_others(values: np.ndarray, names: list[str], metric: str,
                   alpha: float = 0.05) -> pd.DataFrame:
    """Is the best model really better than each other one? Paired tests per user.

    Parameters
    ----------
    values : numpy.ndarray, shape (n_users, n_models)
        Per-user values of one metric, the same users in every column (no NaN).
    names : list of str
        Model names, one per column.
    metric : str
        The metric's name, copied into the rows.
    alpha : float
        Level of the ``significant`` column, on the Holm-adjusted paired t-test p-values.

    Returns
    -------
    pandas.DataFrame
        One row per model other than the best (largest mean): ``metric, best, model,
        best_mean, mean, diff`` (best minus model), ``effect_size`` (Cohen's d_z),
        ``p_ttest, p_wilcoxon``, ``p_holm`` (t-test p, Holm-corrected over the other models)
        and ``significant``. Empty for a single model, fewer than two users, or a metric
        where larger is not better (ARP).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> values = np.column_stack([rng.random(200), rng.random(200) + 0.3,
    ...                           rng.random(200) + 0.29])
    >>> table = best_vs_others(values, ["pop", "knn", "als"], "ndcg@10")
    >>> table[["best", "model", "significant"]].values.tolist()
    [['knn', 'pop', True], ['knn', 'als', False]]
    """
    if metric.split("@")[0] in NO_BEST or values.shape[1] < 2 or len(values) < 2:
        return pd.DataFrame(columns=PAIRWISE_COLUMNS)
    means = values.mean(axis=0)
    best = int(np.argmax(means))
    others = [i for i in range(values.shape[1]) if i != best]
    tests = [paired_tests(values[:, best] - values[:, i]) for i in others]
    adjusted = holm([test[0] for test in tests])
    return pd.DataFrame([
        {"metric": metric, "best": names[best], "model": names[i], "best_mean": means[best],
         "mean": means[i], "diff": means[best] - means[i], "effect_size": effect,
         "p_ttest": p_t, "p_wilcoxon": p_w, "p_holm": p_holm,
         "significant": bool(p_holm < alpha)}
        for i, (p_t, p_w, effect), p_holm in zip(others, tests, adjusted, strict=True)],
        columns=PAIRWISE_COLUMNS)


def _fold_std(run: ModelRun, column: str) -> float:
    if run.folds is None or len(run.folds) < 2 or column not in run.folds:
        return float("nan")
    return float(run.folds[column].std(ddof=1))


def _curves(runs: list[ModelRun], config: ExperimentConfig) -> pd.DataFrame:
    rows = []
    for run in runs:
        if not run.ok:
            continue
        for metric in config.metrics:
            for k in config.k:
                rows.append({"model": run.name, "metric": metric, "k": k,
                             "mean": float(run.scores.per_user[f"{metric}@{k}"].mean())})
    return pd.DataFrame(rows, columns=["model", "metric", "k", "mean"])


