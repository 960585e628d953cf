"""Statistics of per-user metric values: bootstrap confidence intervals, paired tests and the
Holm correction. Pure functions over arrays, shared by :func:`recsys.compare`, the experiment
runner, the plots and the notebook displays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["bootstrap_ci", "holm", "paired_tests", "unpaired_tests"]


def bootstrap_ci(values: np.ndarray, n_resamples: int = 1000, level: float = 0.95,
                 seed: int = 0) -> np.ndarray:
    """Percentile bootstrap CI of the mean of each column of ``values`` (users x series).

    All columns are resampled with the same user draws, so intervals of paired series stay
    comparable.

    Examples
    --------
    >>> low, high = bootstrap_ci(np.arange(100.0)[:, None], seed=1)[:, 0]
    >>> bool(low < 49.5 < high)
    True
    """
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(values), size=(n_resamples, len(values)))
    means = values[draws].mean(axis=1)  # (n_resamples, n_series)
    tail = (1.0 - level) / 2.0 * 100.0
    return np.percentile(means, [tail, 100.0 - tail], axis=0)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(6).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    scaled = (len(p) - np.arange(len(p))) * p[order]
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty_like(p)
    out[order] = adjusted
    return out


def paired_tests(diff: np.ndarray) -> tuple[float, float, float]:
    """Paired tests of per-user differences between two models scored on the same users.

    Parameters
    ----------
    diff : numpy.ndarray of float, shape (n_users,)
        Per-user metric of one model minus the other's (no NaN: drop users without a value).

    Returns
    -------
    p_ttest : float
        Two-sided p-value of the paired t-test (mean difference 0); 0.0 when every user
        differs by the same non-zero amount.
    p_wilcoxon : float
        Two-sided p-value of the Wilcoxon signed-rank test (zero differences dropped).
    effect_size : float
        Cohen's d_z: mean difference over its standard deviation (+-inf for a constant,
        non-zero difference).

    Identical models (every difference 0) give ``(1.0, 1.0, 0.0)``. These are the tests
    :func:`compare` and the experiment runner report; correct several of them with
    :func:`holm`.

    Examples
    --------
    >>> import numpy as np
    >>> p_t, p_w, d = paired_tests(np.array([0.1, 0.2, 0.0, 0.3, 0.1, 0.2]))
    >>> p_t < 0.05, round(d, 2)
    (True, 1.43)
    >>> paired_tests(np.zeros(5))
    (1.0, 1.0, 0.0)
    """
    if not np.any(diff):
        return 1.0, 1.0, 0.0
    spread = diff.std(ddof=1)
    effect = float(diff.mean() / spread) if spread > 0 else float(np.sign(diff.mean()) * np.inf)
    p_t = float(stats.ttest_1samp(diff, 0.0).pvalue) if spread > 0 else 0.0
    p_w = float(stats.wilcoxon(diff, zero_method="wilcox").pvalue)
    return p_t, p_w, effect


def unpaired_tests(values: np.ndarray, baseline: np.ndarray) -> tuple[float, float, float]:
    """Tests of two independent groups of per-user values (an online A/B test, where each
    user saw one model).

    Returns
    -------
    p_ttest : float
        Two-sided p-value of Welch's t-test (unequal variances).
    p_ranksum : float
        Two-sided p-value of the Wilcoxon rank-sum (Mann-Whitney U) test.
    effect_size : float
        Cohen's d: difference of the means over the pooled standard deviation.

    Two groups of the same constant give ``(1.0, 1.0, 0.0)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p_t, p_u, d = unpaired_tests(rng.normal(1, 1, 200), rng.normal(0, 1, 200))
    >>> bool(p_t < 1e-6 and p_u < 1e-6), round(d, 1)
    (True, 1.1)
    """
    a, b = np.asarray(values, np.float64), np.asarray(baseline, np.float64)
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                     / max(len(a) + len(b) - 2, 1))
    diff = a.mean() - b.mean()
    if pooled == 0:
        return (1.0, 1.0, 0.0) if diff == 0 else (0.0, 0.0, float(np.copysign(np.inf, diff)))
    p_t = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    p_u = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return p_t, p_u, float(diff / pooled)
