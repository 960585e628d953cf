"""The fusion arithmetic of :class:`~recsys.models.hybrid.Hybrid`: one member's scores
normalised per row, and the weighted sum of the members' normalised values.

Apart from the model so that the weight search (:mod:`recsys.models._weight_search`) and the
model share it without importing each other.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np

from recsys.ranking.topk import PAD, top_k


class Query(enum.Enum):
    """What a fused score block is for: users known at fit time, users given by a history,
    or items (similar items)."""

    KNOWN = "known"
    HISTORY = "history"
    ITEMS = "items"


def fusion_values(
    scores: np.ndarray,
    invalid: np.ndarray,
    method: str = "score",
    normalize: str = "minmax",
    candidates: int | None = None,
    rrf_k: float = 60.0,
) -> np.ndarray:
    """One member's contribution to a fused ranking: its scores normalised per row.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n_rows, n_cols)
        The member's scores.
    invalid : numpy.ndarray of bool, same shape
        Cells that are not candidates whatever their score (seen items, items the member
        cannot score). Non-finite scores are invalid too.
    method, normalize : str
        See :class:`Hybrid`.
    candidates : int, optional
        Only the best ``candidates`` valid cells of a row (ties by column) are candidates;
        all valid cells when None.
    rrf_k : float
        Rank offset of reciprocal rank fusion.

    Returns
    -------
    numpy.ndarray of float64, same shape
        Candidates get their normalised value; every other cell of the row gets the row's
        lowest candidate value (0 for "minmax", "rank" and "rrf"), so being left out of a
        member's list never beats being in it. Rows without candidates are all 0.

    Examples
    --------
    >>> fusion_values(np.array([[3.0, 1.0, 2.0]]), np.zeros((1, 3), bool)).tolist()
    [[1.0, 0.0, 0.5]]
    >>> fusion_values(np.array([[3.0, 1.0, 2.0]]), np.zeros((1, 3), bool), "rrf",
    ...               rrf_k=1).tolist()
    [[0.5, 0.25, 0.3333333333333333]]
    """
    values = np.array(scores, dtype=np.float64, copy=True)
    invalid = np.asarray(invalid, bool) | ~np.isfinite(values)
    values[invalid] = -np.inf
    n_rows, n_cols = values.shape
    width = n_cols if candidates is None else min(candidates, n_cols)
    out = np.zeros((n_rows, n_cols))
    if n_rows == 0 or n_cols == 0 or width == 0:
        return out
    top, _ = top_k(values.copy(), width)
    valid = top != PAD
    row_of = np.broadcast_to(np.arange(n_rows)[:, None], top.shape)[valid]
    rank = np.zeros((n_rows, n_cols))
    rank[row_of, top[valid]] = np.broadcast_to(np.arange(1, width + 1), top.shape)[valid]
    candidate = rank > 0
    count = candidate.sum(axis=1, keepdims=True)
    if method == "rrf":
        return np.where(candidate, 1.0 / (rrf_k + rank), 0.0)
    if method == "rank" or normalize == "rank":
        # Borda points scaled to [0, 1]: first = 1, last of the list = 0.
        return np.where(candidate, 1.0 - (rank - 1.0) / np.maximum(count - 1, 1), 0.0)
    masked = np.where(candidate, values, np.nan)
    has = count[:, 0] > 0
    if normalize == "minmax":
        low = np.zeros(n_rows)
        high = np.zeros(n_rows)
        low[has] = np.nanmin(masked[has], axis=1)
        high[has] = np.nanmax(masked[has], axis=1)
        span = (high - low)[:, None]
        # A member that scores every candidate alike says nothing about their order: 1 each.
        scaled = np.divide(masked - low[:, None], span, out=np.ones_like(masked),
                           where=span > 0)
        return np.where(candidate, scaled, 0.0)
    mean = np.zeros(n_rows)
    std = np.zeros(n_rows)
    mean[has] = np.nanmean(masked[has], axis=1)
    std[has] = np.nanstd(masked[has], axis=1)
    z = np.divide(masked - mean[:, None], std[:, None], out=np.zeros_like(masked),
                  where=std[:, None] > 0)
    z = np.where(candidate, z, np.inf)
    floor = np.where(has, z.min(axis=1), 0.0)
    return np.where(candidate, z, floor[:, None])


def weighted_sum(values: Sequence[np.ndarray | None], weights: Sequence[float] | np.ndarray,
                 shape: tuple[int, int]) -> np.ndarray:
    """The fused scores: the members' normalised values weighted, skipping members without
    values (None) or weight."""
    total = np.zeros(shape)
    for weight, value in zip(weights, values, strict=True):
        if value is not None and weight > 0:
            total += weight * value
    return total
