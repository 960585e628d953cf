"""Plots a person reads instead of tables; reachable as ``rs.plot``.

Every function draws on a new :class:`matplotlib.figure.Figure`, or on the ``ax`` it is given,
and returns the Figure. Nothing here touches matplotlib's global state: the backend is never
switched and a new figure is not registered with pyplot, so it shows once when it is a
notebook cell's value, ``fig.savefig(path)`` writes it, and code that manages its own figures
passes ``ax=`` (an Axes from ``plt.subplots()``, or one per panel for the multi-panel plots).
Writing files is the report's job (:mod:`recsys.evaluation.experiment.report`).

Examples
--------
>>> import recsys as rs
>>> ds = rs.datasets.demo()
>>> train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)
>>> result = rs.evaluate(rs.ItemKNN().fit(train), test, k=10)
>>> fig = rs.plot.metrics(result)
>>> [ax.get_title() for ax in fig.axes][:3]
['precision@10', 'recall@10', 'ndcg@10']
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from recsys.data.interactions import Interactions
from recsys.data.summary import item_counts as count_items
from recsys.evaluation.evaluate import EvaluationResult
from recsys.evaluation.significance import bootstrap_ci

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["curves", "distributions", "long_tail", "metric_table", "metrics",
           "popularity_bias"]

_METRIC_LABELS = {"ndcg": "NDCG", "recall": "Recall", "precision": "Precision", "map": "MAP",
                  "mrr": "MRR", "hit_rate": "Hit rate"}
# What one number of a metric is: the x label of its panel.
_UNITS = {"coverage": "share of catalog items", "gini": "Gini of slot exposure (0 = equal)",
          "personalization": "1 - mean list overlap", "novelty": "mean self-information (bits)",
          "arp": "mean training popularity", "diversity": "mean over users (95% CI)"}
# Metrics not bounded by 1.
_UNBOUNDED = ("novelty", "arp")
# Metrics where a larger value is not simply better: no "best" marker.
_NO_BEST = ("gini", "arp")


class NotebookFigure(Figure):
    """A Figure that a notebook shows as a PNG when it is a cell's value, whether or not the
    inline backend has registered its display hooks (it does so only once pyplot has drawn).
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def panels(ax: Any, n: int, *, ncols: int, size: tuple[float, float],
           sharey: bool = False) -> tuple[Figure, list[Axes]]:
    """``n`` axes: new ones on a new figure (``ncols`` per row, each ``size`` inches), or
    the ones given as ``ax`` (one Axes, or ``n`` of them).

    Examples
    --------
    >>> figure, axes = panels(None, 3, ncols=2, size=(2.0, 2.0))
    >>> len(axes), len(figure.axes)
    (3, 3)
    """
    if ax is None:
        ncols = max(1, min(ncols, n))
        nrows = -(-n // ncols)
        fig = NotebookFigure(figsize=(size[0] * ncols + 1.0, size[1] * nrows + 0.6),
                      layout="constrained")
        grid = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey)
        axes = list(grid.ravel())
        for extra in axes[n:]:
            fig.delaxes(extra)
        return fig, axes[:n]
    axes = [ax] if hasattr(ax, "plot") else list(np.ravel(ax))
    if len(axes) != n:
        raise ValueError(f"ax must hold {n} Axes (one per panel), got {len(axes)}")
    return axes[0].figure, axes


# --------------------------------------------------------------------------- metrics


def metric_table(data: Any, k: int | None = None, *, n_bootstrap: int = 1000,
                 seed: int = 0) -> pd.DataFrame:
    """Tidy ``model, metric, mean, ci_low, ci_high[, significant]`` rows from what the
    evaluation functions return.

    Parameters
    ----------
    data : EvaluationResult, dict of name -> EvaluationResult, DataFrame or ExperimentResult
        An :func:`~recsys.evaluate` result (named "model"), several of them, a tidy table as
        :func:`~recsys.compare` returns it, or an experiment run's result.
    k : int, optional
        Keep the metrics at this cut-off only (an experiment's ``report_k`` by default).
    n_bootstrap, seed : int
        Resamples of users, and their seed, for the 95% CIs of evaluate results (catalog
        level values such as coverage have none).

    Examples
    --------
    >>> frame = pd.DataFrame({"ndcg@10": [0.0, 1.0, 0.5]})
    >>> result = EvaluationResult(frame.mean().rename(None), frame)
    >>> metric_table(result)[["model", "metric", "mean"]].to_dict("records")
    [{'model': 'model', 'metric': 'ndcg@10', 'mean': 0.5}]
    """
    if isinstance(data, EvaluationResult):
        data = {"model": data}
    if isinstance(data, Mapping):
        frames = [_evaluation_rows(name, result, n_bootstrap, seed)
                  for name, result in data.items()]
        table = pd.concat(frames, ignore_index=True)
    elif isinstance(data, pd.DataFrame):
        table = data
    elif hasattr(data, "table") and hasattr(data, "config"):  # an ExperimentResult
        table = data.table[data.table["status"] == "ok"]
        k = data.config.report_k if k is None else k
    else:
        raise TypeError("data must be an EvaluationResult, a dict of them, a tidy DataFrame "
                        f"or an ExperimentResult; got {type(data).__name__}")
    missing = {"model", "metric", "mean"} - set(table.columns)
    if missing:
        raise ValueError(f"the table needs columns model, metric, mean; missing {missing}")
    if k is not None:
        table = table[table["metric"].str.endswith(f"@{k}")]
    return table.reset_index(drop=True)


def _evaluation_rows(name: str, result: EvaluationResult, n_bootstrap: int,
                     seed: int) -> pd.DataFrame:
    rows = []
    for metric, mean in result.summary.items():
        low = high = np.nan
        if metric in result.per_user:
            values = result.per_user[metric].dropna().to_numpy(float)
            if len(values) > 1:
                low, high = bootstrap_ci(values[:, None], n_bootstrap, seed=seed)[:, 0]
        rows.append({"model": name, "metric": metric, "mean": float(mean),
                     "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def metrics(data: Any, *, k: int | None = None, metrics: Sequence[str] | None = None,
            ax: Any = None, ncols: int | None = None, title: str = "") -> Figure:
    """Small multiples: one panel per metric, one dot per model with its 95% CI.

    Each panel has its own scale, so metrics of different sizes stay readable. The best
    model of a panel (largest mean; none for Gini and ARP, where larger is not better) is
    drawn filled and named in the panel's corner (with two models or more); ``*`` marks a
    model significantly different from the baseline when the table has a ``significant``
    column.

    Parameters
    ----------
    data : EvaluationResult, dict of name -> EvaluationResult, DataFrame or ExperimentResult
        See :func:`metric_table`.
    k : int, optional
        Only the metrics at this cut-off.
    metrics : list of str, optional
        Panels to draw (``"ndcg@10"``, ...), in order; every metric of the table by default.
    ax : Axes or sequence of Axes, optional
        One Axes per panel; a new figure when omitted.
    ncols : int, optional
        Panels per row of a new figure; by default one row up to five panels, else two rows.
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> table = pd.DataFrame({"model": ["pop", "knn"] * 2,
    ...                       "metric": ["ndcg@10"] * 2 + ["coverage@10"] * 2,
    ...                       "mean": [0.1, 0.2, 0.05, 0.4], "ci_low": [0.09, 0.18, None, None],
    ...                       "ci_high": [0.11, 0.22, None, None]})
    >>> fig = metrics(table)
    >>> [a.get_title() for a in fig.axes], fig.axes[1].get_xlabel()
    (['ndcg@10', 'coverage@10'], 'share of catalog items')
    """
    table = metric_table(data, k)
    names = list(metrics) if metrics is not None else list(dict.fromkeys(table["metric"]))
    if not names:
        raise ValueError("nothing to plot: the table has no metric (check k)")
    models = list(dict.fromkeys(table["model"]))
    if ncols is None:
        ncols = len(names) if len(names) <= 5 else -(-len(names) // 2)
    fig, axes = panels(ax, len(names), ncols=ncols, size=(3.1, 0.45 * len(models) + 1.3),
                        sharey=True)
    y = np.arange(len(models))[::-1]  # the first model on top
    for axis, metric in zip(axes, names, strict=True):
        rows = table[table["metric"] == metric].set_index("model").reindex(models)
        _dot_panel(axis, metric, rows, y)
    axes[0].set_yticks(y, models)
    axes[0].set_ylim(-0.7, len(models) - 0.3)
    if title:
        fig.suptitle(title)
    return fig


def _dot_panel(ax: Axes, metric: str, rows: pd.DataFrame, y: np.ndarray) -> None:
    mean = rows["mean"].to_numpy(float)
    low = rows["ci_low"].to_numpy(float) if "ci_low" in rows else np.full(len(rows), np.nan)
    high = rows["ci_high"].to_numpy(float) if "ci_high" in rows else np.full(len(rows), np.nan)
    has_ci = ~np.isnan(low) & ~np.isnan(high)
    if has_ci.any():
        ax.errorbar(mean[has_ci], y[has_ci], xerr=[mean[has_ci] - low[has_ci],
                                                   high[has_ci] - mean[has_ci]],
                    fmt="none", ecolor="0.35", elinewidth=1.2, capsize=3)
    ax.scatter(mean, y, s=36, facecolors="white", edgecolors="C0", linewidths=1.5, zorder=3)
    base = metric.split("@")[0]
    if base not in _NO_BEST and len(mean) > 1 and np.isfinite(mean).any():
        best = int(np.nanargmax(mean))
        ax.scatter([mean[best]], [y[best]], s=48, color="C0", zorder=4)
        ax.annotate(f"best: {rows.index[best]} {mean[best]:.3f}", xy=(0.02, 0.98),
                    xycoords="axes fraction", va="top", fontsize=7.5, color="C0")
    if "significant" in rows:
        for xi, yi, star in zip(np.where(has_ci, high, mean), y,
                                rows["significant"].to_numpy(), strict=True):
            if star is True or star == 1:
                ax.annotate("*", xy=(xi, yi), xytext=(3, -3), textcoords="offset points",
                            fontsize=10)
    right = np.nanmax(np.where(has_ci, high, mean)) if np.isfinite(mean).any() else 1.0
    right = max(right, 1e-9) * 1.25
    if base not in _UNBOUNDED:  # a share or a mean of shares: the axis need not pass 1
        right = min(right, 1.05)
    ax.set_xlim(0, right)
    ax.set_title(metric)
    ax.set_xlabel(_UNITS.get(base, "mean over users (95% CI)" if has_ci.any()
                             else "mean over users"))
    ax.grid(axis="x", alpha=0.3)


# --------------------------------------------------------------------------- data


def long_tail(interactions: Interactions, *, ax: Axes | None = None, title: str = "") -> Figure:
    """Item popularity from the head to the tail (linear axes), with the 20% head shaded.

    Parameters
    ----------
    interactions : Interactions
    ax : Axes, optional
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.Interactions.from_arrays(["a", "a", "b", "c"], ["x", "y", "x", "x"])
    >>> fig = long_tail(inter)
    >>> fig.axes[0].get_ylabel(), fig.axes[0].get_yscale()
    ('users who interacted', 'linear')
    """
    counts = np.sort(count_items(interactions))[::-1]
    fig, (axis,) = panels(ax, 1, ncols=1, size=(6.5, 3.8))
    rank = np.arange(1, len(counts) + 1)
    axis.plot(rank, counts, lw=1.5, color="C0")
    head = max(1, int(round(0.2 * len(counts))))
    share = counts[:head].sum() / max(1, counts.sum())
    axis.axvline(head, color="grey", ls="--", lw=1)
    axis.fill_between(rank[:head], counts[:head], alpha=0.25, color="C0",
                      label=f"top 20% of items: {share:.0%} of interactions")
    axis.set_xlabel("item rank by popularity")
    axis.set_ylabel("users who interacted")
    axis.set_xlim(0, max(1, len(counts)))
    axis.set_ylim(0, max(1.0, float(counts[0]) if len(counts) else 1.0) * 1.05)
    axis.legend()
    axis.set_title(title or "Popularity long tail")
    return fig


def popularity_bias(item_counts: np.ndarray, exposure: Mapping[str, np.ndarray], *,
                    n_bins: int = 10, ax: Axes | None = None, title: str = "") -> Figure:
    """Recommended vs catalog popularity, on a linear axis.

    Items are put in ``n_bins`` popularity bins (head to tail); per bin, its share of the
    training interactions (grey bars) next to each model's share of the recommendation
    slots (lines). A model above the bars in the head amplifies popularity.

    Parameters
    ----------
    item_counts : array, shape (n_items,)
        Training interactions (or users) per item.
    exposure : dict model -> array, shape (n_items,)
        How often each item appears in the model's top-k lists.
    n_bins : int
    ax : Axes, optional
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = popularity_bias(np.array([50, 20, 5, 1]), {"pop": np.array([9, 1, 0, 0])},
    ...                       n_bins=4)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['pop']
    """
    counts = np.asarray(item_counts, dtype=float)
    order = np.argsort(-counts, kind="stable")  # most popular first
    n_bins = max(1, min(n_bins, len(counts)))
    bins = np.empty(len(counts), dtype=np.int64)
    bins[order] = np.arange(len(counts)) * n_bins // max(1, len(counts))

    def share(values: np.ndarray) -> np.ndarray:
        total = np.bincount(bins, weights=np.asarray(values, float), minlength=n_bins)
        return total / max(total.sum(), 1e-12)

    fig, (axis,) = panels(ax, 1, ncols=1, size=(7.0, 4.0))
    x = np.arange(1, n_bins + 1)
    axis.bar(x, share(counts), color="lightgrey", label="catalog (training interactions)")
    for model, values in exposure.items():
        axis.plot(x, share(values), marker="o", ms=4, label=str(model))
    axis.set_xticks(x)
    axis.set_xlabel(f"item popularity bin (1 = most popular {100 // n_bins}% of items)")
    axis.set_ylabel("share of interactions / of recommendation slots")
    axis.set_ylim(0, None)
    axis.legend(fontsize=8)
    axis.set_title(title or "Popularity bias: recommendation slots vs interactions")
    return fig


# --------------------------------------------------------------------------- experiment


def curves(curves: pd.DataFrame, *, metrics: Sequence[str] = ("recall", "ndcg"),
           ax: Any = None, title: str = "") -> Figure:
    """Metric@k against k, one panel per metric, one line per model.

    Parameters
    ----------
    curves : pandas.DataFrame
        Tidy, with columns ``model, metric, k, mean`` (``metric`` without ``@k``), as an
        experiment result's ``curves``.
    metrics : list of str
    ax : Axes or sequence of Axes, optional
        One per metric.
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> frame = pd.DataFrame({"model": ["pop"] * 2, "metric": ["ndcg"] * 2, "k": [5, 10],
    ...                       "mean": [0.1, 0.12]})
    >>> curves(frame, metrics=("ndcg",)).axes[0].get_ylabel()
    'NDCG@k'
    """
    fig, axes = panels(ax, len(metrics), ncols=len(metrics), size=(4.6, 3.8))
    for axis, metric in zip(axes, metrics, strict=True):
        part = curves[curves["metric"] == metric]
        for model, rows in part.groupby("model", sort=False):
            rows = rows.sort_values("k")
            axis.plot(rows["k"], rows["mean"], marker="o", ms=4, label=str(model))
        label = _METRIC_LABELS.get(metric, metric)
        axis.set_xlabel("k (list length)")
        axis.set_ylabel(f"{label}@k")
        axis.set_title(f"{label}@k")
        axis.set_ylim(0, None)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def distributions(per_user: Mapping[str, pd.DataFrame], columns: Sequence[str], *,
                  ax: Any = None, title: str = "") -> Figure:
    """Box plots of per-user values, one panel per metric, one box per model (the white
    diamond is the mean: the number the tables report).

    Parameters
    ----------
    per_user : dict model -> DataFrame
        Users x metric columns, as ``EvaluationResult.per_user``.
    columns : list of str
    ax : Axes or sequence of Axes, optional
        One per column.
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> frame = pd.DataFrame({"ndcg@10": [0.0, 0.5, 1.0]})
    >>> distributions({"pop": frame}, ["ndcg@10"]).axes[0].get_title()
    'ndcg@10'
    """
    fig, axes = panels(ax, len(columns), ncols=len(columns), size=(3.2, 3.8))
    names = list(per_user)
    for axis, column in zip(axes, columns, strict=True):
        data = [per_user[name][column].dropna().to_numpy(float) for name in names]
        axis.boxplot(data, showmeans=True, showfliers=False,
                     meanprops={"marker": "D", "markerfacecolor": "white", "markersize": 5})
        axis.set_xticks(np.arange(1, len(names) + 1), names, rotation=30, ha="right",
                        fontsize=8)
        axis.set_title(column)
        axis.set_xlabel("model")
        axis.set_ylabel("per-user value")
        axis.grid(axis="y", alpha=0.3)
    fig.suptitle(title or "Per-user metric distributions")
    return fig
