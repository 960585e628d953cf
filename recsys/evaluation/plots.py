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
