"""Descriptive statistics of an interaction matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.data.interactions import Interactions

QUANTILES = (0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)


def item_counts(interactions: Interactions) -> np.ndarray:
    """Number of users that interacted with each item."""
    return np.bincount(interactions.matrix.indices, minlength=interactions.n_items)


def long_tail_share(interactions: Interactions, head: float = 0.2) -> float:
    """Share of interactions that fall on the most popular ``head`` fraction of items."""
    counts = np.sort(item_counts(interactions))[::-1]
    n_head = max(1, int(round(head * len(counts))))
    return float(counts[:n_head].sum() / max(1, counts.sum()))


def describe(interactions: Interactions) -> pd.Series:
    """Size, density, per-user and per-item activity quantiles, and head share.

    Examples
    --------
    >>> inter = Interactions.from_arrays([1, 1, 2], ["a", "b", "a"])
    >>> describe(inter)["interactions"]
    3
    """
    per_user = np.diff(interactions.matrix.indptr)
    per_item = item_counts(interactions)
    stats: dict[str, float | int] = {
        "users": interactions.n_users,
        "items": interactions.n_items,
        "interactions": interactions.nnz,
        "density": interactions.density,
    }
    for name, values in (("per_user", per_user), ("per_item", per_item)):
        for q, value in zip(QUANTILES, np.quantile(values, QUANTILES), strict=True):
            stats[f"{name}_q{int(q * 100):02d}"] = float(value)
    stats["head20_share"] = long_tail_share(interactions, 0.2)
    stats["items_without_interactions"] = int((per_item == 0).sum())
    return pd.Series(stats, name="value", dtype=object)
