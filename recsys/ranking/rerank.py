"""Re-ranking kernels: diversity (MMR) and per-group caps over ranked candidate lists.

Both take what the ranking returns, item positions per query (``-1`` pads) with their scores,
and pick ``k`` of them greedily, one position per step for every query at once.
"""

from __future__ import annotations

import numpy as np

from recsys.ranking.topk import PAD


def mmr(
    positions: np.ndarray,
    scores: np.ndarray,
    k: int,
    lambda_: float,
    *,
    groups: np.ndarray | None = None,
    vectors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximal marginal relevance (Carbonell & Goldstein, 1998): ``k`` of each row's
    candidates, each step taking the candidate that maximises
    ``lambda_ * relevance - (1 - lambda_) * max similarity to those already taken``.

    Relevance is the candidate's score scaled to [0, 1] over the row's candidates, so that
    ``lambda_`` means the same for every family. Similarity is 1 between items of the same
    group (``groups``: a code per item, -1 for none, which is similar to nothing), or the
    cosine of their ``vectors``.

    Parameters
    ----------
    positions, scores : numpy.ndarray, shape (n_queries, n_candidates)
        Ranked candidates, ``-1`` / NaN padded.
    k : int
    lambda_ : float
        1 keeps the ranking as it is; 0 maximises diversity alone.
    groups : numpy.ndarray of int, shape (n_items,), optional
    vectors : numpy.ndarray, shape (n_items, d), optional

    Returns
    -------
    positions, scores : numpy.ndarray, shape (n_queries, k)
        The chosen items in the order chosen, with their original scores.

    Examples
    --------
    >>> positions = np.array([[0, 1, 2, 3]])
    >>> scores = np.array([[4.0, 3.9, 3.0, 1.0]])
    >>> groups = np.array([0, 0, 1, 1])  # items 0 and 1 alike, 2 and 3 alike
    >>> mmr(positions, scores, 2, 0.5, groups=groups)[0].tolist()
    [[0, 2]]
    """
    n_queries, width = positions.shape
    valid = positions != PAD
    relevance = _scaled(scores, valid)
    taken = np.zeros_like(valid)
    similarity = np.zeros((n_queries, width))
    rows = np.arange(n_queries)
    if vectors is not None:
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        candidates = unit[np.maximum(positions, 0)]  # (n_queries, width, d)
    out_positions = np.full((n_queries, k), PAD, np.int64)
    out_scores = np.full((n_queries, k), np.nan, np.float32)
    for step in range(min(k, width)):
        gain = lambda_ * relevance - (1.0 - lambda_) * similarity
        gain[~valid | taken] = -np.inf
        pick = np.argmax(gain, axis=1)  # ties: the better-ranked candidate
        ok = np.isfinite(gain[rows, pick])
        out_positions[ok, step] = positions[rows[ok], pick[ok]]
        out_scores[ok, step] = scores[rows[ok], pick[ok]]
        taken[rows[ok], pick[ok]] = True
        if groups is not None:
            chosen = groups[positions[rows, pick]]
            alike = (groups[np.maximum(positions, 0)] == chosen[:, None]) & (chosen[:, None] >= 0)
            similarity = np.maximum(similarity, alike & ok[:, None])
        elif vectors is not None:
            alike = np.einsum("qwd,qd->qw", candidates, candidates[rows, pick])
            similarity = np.maximum(similarity, np.where(ok[:, None], alike, 0.0))
    return _compact(out_positions, out_scores)


def cap_per_group(
    positions: np.ndarray,
    scores: np.ndarray,
    k: int,
    groups: np.ndarray,
    max_per: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` candidates of each row, in rank order, skipping those whose group
    already holds ``max_per`` (items of group -1 are never capped); rows run short when too
    few candidates remain.

    Examples
    --------
    >>> positions = np.array([[0, 1, 2, 3]])
    >>> cap_per_group(positions, np.ones((1, 4)), 3, np.array([5, 5, 5, 7]), 2)[0].tolist()
    [[0, 1, 3]]
    """
    n_queries, width = positions.shape
    valid = positions != PAD
    codes = np.where(valid, groups[np.maximum(positions, 0)], -1)
    # A candidate's rank within its group, among the row's candidates before it.
    order = np.argsort(codes, axis=1, kind="stable")
    sorted_codes = np.take_along_axis(codes, order, axis=1)
    starts = np.ones_like(sorted_codes, dtype=bool)
    starts[:, 1:] = sorted_codes[:, 1:] != sorted_codes[:, :-1]
    index = np.broadcast_to(np.arange(width), (n_queries, width))
    group_start = np.maximum.accumulate(np.where(starts, index, 0), axis=1)
    rank_in_group = np.empty_like(order)
    np.put_along_axis(rank_in_group, order, index - group_start, axis=1)
    keep = valid & ((codes < 0) | (rank_in_group < max_per))
    kept = np.where(keep, positions, PAD)
    return _compact(kept, np.where(keep, scores, np.nan), k)


def _scaled(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Scores scaled to [0, 1] over each row's valid candidates (all 1 when they tie)."""
    values = np.where(valid, scores, np.nan).astype(np.float64)
    low = np.nanmin(np.where(valid.any(axis=1, keepdims=True), values, 0.0), axis=1,
                    keepdims=True)
    high = np.nanmax(np.where(valid.any(axis=1, keepdims=True), values, 0.0), axis=1,
                     keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    return np.where(valid, np.where(high > low, (values - low) / span, 1.0), 0.0)


def _compact(positions: np.ndarray, scores: np.ndarray,
             k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Valid entries moved to the front of each row, in order; the first ``k`` columns."""
    order = np.argsort(positions == PAD, axis=1, kind="stable")
    positions = np.take_along_axis(positions, order, axis=1)[:, :k]
    scores = np.take_along_axis(scores, order, axis=1)[:, :k].astype(np.float32)
    if k is not None and positions.shape[1] < k:
        pad = k - positions.shape[1]
        positions = np.pad(positions, ((0, 0), (0, pad)), constant_values=PAD)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=np.nan)
    return positions, scores
