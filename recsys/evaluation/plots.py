"""Plots a person reads instead of tables; every function writes a PNG and returns its path."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from recsys.data.interactions import Interactions  # noqa: E402
from recsys.data.summary import item_counts  # noqa: E402


def _save(fig: plt.Figure, path: str | PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def metric_bars(table: pd.DataFrame, path: str | PathLike, title: str = "") -> Path:
    """Grouped bars: one group per metric (columns), one bar per model (rows).

    Examples
    --------
    >>> table = pd.DataFrame({"ndcg@10": [0.1, 0.2]}, index=["pop", "knn"])
    >>> metric_bars(table, "/tmp/bars.png").name
    'bars.png'
    """
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * table.shape[1], 4))
    width = 0.8 / max(1, len(table))
    x = np.arange(table.shape[1])
    for i, (model, row) in enumerate(table.iterrows()):
        bars = ax.bar(x + i * width, row.to_numpy(float), width, label=str(model))
        ax.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
    ax.set_xticks(x + width * (len(table) - 1) / 2, table.columns)
    ax.set_ylabel("mean over test users")
    ax.set_ylim(0, max(1e-9, float(np.nanmax(table.to_numpy(float)))) * 1.25)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1),
              ncol=min(4, len(table)), frameon=False)
    ax.set_title(title)
    return _save(fig, path)


def long_tail(interactions: Interactions, path: str | PathLike, title: str = "") -> Path:
    """Item popularity sorted from the head to the tail, with the 20% head marked."""
    counts = np.sort(item_counts(interactions))[::-1]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(np.arange(1, len(counts) + 1), counts, lw=1.5)
    head = max(1, int(round(0.2 * len(counts))))
    share = counts[:head].sum() / max(1, counts.sum())
    ax.axvline(head, color="grey", ls="--", lw=1)
    ax.fill_between(np.arange(1, head + 1), counts[:head], alpha=0.25,
                    label=f"top 20% of items: {share:.0%} of interactions")
    ax.set_xlabel("item rank by popularity")
    ax.set_ylabel("users who interacted")
    ax.set_yscale("symlog")
    ax.legend()
    ax.set_title(title or "Popularity long tail")
    return _save(fig, path)


# --------------------------------------------------------------------------- experiment report


def metric_bars_ci(table: pd.DataFrame, path: str | PathLike, title: str = "") -> Path:
    """Grouped bars with 95% confidence intervals: one group per metric, one bar per model.

    ``table`` is tidy, as :func:`recsys.compare` returns it: columns ``model, metric, mean,
    ci_low, ci_high`` and optionally ``significant`` (starred above the bar).

    Examples
    --------
    >>> table = pd.DataFrame({"model": ["pop", "knn"], "metric": ["ndcg@10"] * 2,
    ...                       "mean": [0.1, 0.2], "ci_low": [0.09, 0.18],
    ...                       "ci_high": [0.11, 0.22]})
    >>> metric_bars_ci(table, "/tmp/bars_ci.png").name
    'bars_ci.png'
    """
    models = list(dict.fromkeys(table["model"]))
    metrics = list(dict.fromkeys(table["metric"]))
    fig, ax = plt.subplots(figsize=(2.2 + 1.5 * len(metrics), 4.2))
    width = 0.8 / max(1, len(models))
    x = np.arange(len(metrics))
    top = 0.0
    for i, model in enumerate(models):
        rows = table[table["model"] == model].set_index("metric").reindex(metrics)
        mean = rows["mean"].to_numpy(float)
        low = np.nan_to_num(mean - rows["ci_low"].to_numpy(float))
        high = np.nan_to_num(rows["ci_high"].to_numpy(float) - mean)
        ax.bar(x + i * width, mean, width, yerr=[low, high], capsize=2, label=str(model),
               error_kw={"lw": 0.8})
        if "significant" in rows:
            stars = rows["significant"].to_numpy()
            for xi, yi, star in zip(x + i * width, mean + high, stars, strict=True):
                if star is True or star == 1:
                    ax.text(xi, yi, "*", ha="center", va="bottom", fontsize=9)
        top = max(top, float(np.nanmax(mean + high)) if len(mean) else 0.0)
    ax.set_xticks(x + width * (len(models) - 1) / 2, metrics)
    ax.set_ylabel("mean over test users (95% CI)")
    ax.set_ylim(0, max(1e-9, top) * 1.15)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1),
              ncol=min(4, len(models)), frameon=False)
    ax.set_title(title or "Metrics per model (* significantly different from the baseline)")
    return _save(fig, path)


_METRIC_LABELS = {"ndcg": "NDCG", "recall": "Recall", "precision": "Precision", "map": "MAP",
                  "mrr": "MRR", "hit_rate": "Hit rate"}


def metric_curves(curves: pd.DataFrame, path: str | PathLike,
                  metrics: tuple[str, ...] = ("recall", "ndcg"), title: str = "") -> Path:
    """Metric@k against k, one panel per metric, one line per model.

    ``curves`` is tidy with columns ``model, metric, k, mean`` (``metric`` without ``@k``).

    Examples
    --------
    >>> curves = pd.DataFrame({"model": ["pop"] * 2, "metric": ["ndcg"] * 2, "k": [5, 10],
    ...                        "mean": [0.1, 0.12]})
    >>> metric_curves(curves, "/tmp/curves.png", metrics=("ndcg",)).name
    'curves.png'
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        part = curves[curves["metric"] == metric]
        for model, rows in part.groupby("model", sort=False):
            rows = rows.sort_values("k")
            ax.plot(rows["k"], rows["mean"], marker="o", ms=4, label=str(model))
        ax.set_xlabel("k (list length)")
        label = _METRIC_LABELS.get(metric, metric)
        ax.set_ylabel(f"{label}@k")
        ax.set_title(f"{label}@k")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def popularity_bias(item_counts: np.ndarray, exposure: dict[str, np.ndarray],
                    path: str | PathLike, n_bins: int = 10, title: str = "") -> Path:
    """Recommended vs catalog popularity: items in popularity bins (head to tail) and, per
    bin, its share of the training interactions next to each model's share of the
    recommendation slots. A model above the grey bars in the head amplifies popularity.

    Parameters
    ----------
    item_counts : array, shape (n_items,)
        Training interactions (or users) per item.
    exposure : dict model -> array, shape (n_items,)
        How often each item appears in the model's top-k lists.

    Examples
    --------
    >>> counts = np.array([50, 20, 5, 1])
    >>> popularity_bias(counts, {"pop": np.array([9, 1, 0, 0])}, "/tmp/bias.png", 4).name
    'bias.png'
    """
    counts = np.asarray(item_counts, dtype=float)
    order = np.argsort(-counts, kind="stable")  # most popular first
    n_bins = max(1, min(n_bins, len(counts)))
    bins = np.empty(len(counts), dtype=np.int64)
    bins[order] = np.arange(len(counts)) * n_bins // max(1, len(counts))

    def share(values: np.ndarray) -> np.ndarray:
        total = np.bincount(bins, weights=np.asarray(values, float), minlength=n_bins)
        return total / max(total.sum(), 1e-12)

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    x = np.arange(1, n_bins + 1)
    ax.bar(x, share(counts), color="lightgrey", label="catalog (training interactions)")
    for model, values in exposure.items():
        ax.plot(x, share(values), marker="o", ms=4, label=str(model))
    ax.set_xticks(x)
    ax.set_xlabel(f"item popularity bin (1 = most popular {100 // n_bins}% of items)")
    ax.set_ylabel("share")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.legend(fontsize=8)
    ax.set_title(title or "Popularity bias: recommendation slots vs interactions")
    return _save(fig, path)


def per_user_distributions(per_user: dict[str, pd.DataFrame], columns: list[str],
                           path: str | PathLike, title: str = "") -> Path:
    """Box plots of per-user metric values, one panel per metric, one box per model (the
    white diamond is the mean: the number the tables report).

    Examples
    --------
    >>> frame = pd.DataFrame({"ndcg@10": [0.0, 0.5, 1.0]})
    >>> per_user_distributions({"pop": frame}, ["ndcg@10"], "/tmp/dist.png").name
    'dist.png'
    """
    fig, axes = plt.subplots(1, len(columns), figsize=(1.2 + 3.2 * len(columns), 4),
                             squeeze=False)
    names = list(per_user)
    for ax, column in zip(axes[0], columns, strict=True):
        data = [per_user[name][column].dropna().to_numpy(float) for name in names]
        ax.boxplot(data, showmeans=True, showfliers=False,
                   meanprops={"marker": "D", "markerfacecolor": "white", "markersize": 5})
        ax.set_xticks(np.arange(1, len(names) + 1), names, rotation=30, ha="right",
                      fontsize=8)
        ax.set_title(column)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title or "Per-user metric distributions")
    return _save(fig, path)
