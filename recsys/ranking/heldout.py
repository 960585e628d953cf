"""Mean accuracy of candidate scorers on held-out entries: what a family's "auto" parameter
(RP3beta's ``beta``, LightFM's ``epochs``) ranks its candidates by."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from recsys.ranking import _accuracy as kernels
from recsys.ranking.topk import take_rows, top_k

# Dense scores per block of rows (a candidate's block is rows x items floats).
BLOCK_CELLS = 1 << 24
# Rows an "auto" search scores at most: over 10,000 users the standard error of a mean
# NDCG@10 is about 0.003 (a paired difference's far less), and scoring every user of a large
# catalog per candidate would cost more than the fit.
SEARCH_ROWS = 10_000


def held_rows(relevant: sp.csr_matrix, limit: int = SEARCH_ROWS, seed: int = 0) -> np.ndarray:
    """The rows of ``relevant`` that hold an entry, sorted; a random ``limit`` of them when
    there are more.

    Examples
    --------
    >>> held_rows(sp.csr_matrix([[0, 1], [0, 0], [1, 1]])).tolist()
    [0, 2]
    >>> len(held_rows(sp.csr_matrix(np.ones((50, 2))), limit=10))
    10
    """
    rows = np.flatnonzero(np.diff(relevant.indptr))
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def mean_accuracy(
    scores_of: Callable[[np.ndarray], Sequence[np.ndarray]],
    seen: sp.csr_matrix,
    relevant: sp.csr_matrix,
    *,
    metric: str = "ndcg",
    k: int = 10,
    per_row: bool = False,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Mean ``metric@k`` of each candidate over the rows of ``relevant`` that hold an entry
    (or, with ``per_row``, each of those rows' value, for :func:`within_noise`).

    Parameters
    ----------
    scores_of : callable
        ``scores_of(rows)``: one dense score array of shape ``(len(rows), n_items)`` per
        candidate, for those rows (it may be overwritten).
    seen : scipy.sparse.csr_matrix, shape (n_rows, n_items)
        Items never ranked for a row (its training entries).
    relevant : scipy.sparse.csr_matrix, shape (n_rows, n_items)
        The held-out entries a row's top k is scored against.
    metric : {"precision", "recall", "ndcg", "map", "mrr", "hit_rate"}
    k : int

    per_row : bool
        Return every row's value instead of the means.
    rows : numpy.ndarray of int, optional
        The rows to score, sorted, each with a held-out entry (:func:`held_rows`); default
        every row that holds one.

    Returns
    -------
    numpy.ndarray of float, shape (n_candidates,), or (n_candidates, n_rows held) with
    ``per_row``

    Examples
    --------
    >>> seen = sp.csr_matrix([[1, 0, 0], [1, 0, 0]])
    >>> relevant = sp.csr_matrix([[0, 1, 0], [0, 1, 0]])
    >>> two = lambda rows: [np.tile([3.0, 2.0, 1.0], (len(rows), 1)),  # item 1 first
    ...                     np.tile([1.0, 2.0, 3.0], (len(rows), 1))]  # item 2 first
    >>> mean_accuracy(two, seen, relevant, metric="hit_rate", k=1).tolist()
    [1.0, 0.0]
    """
    rows_held = np.flatnonzero(np.diff(relevant.indptr)) if rows is None else rows
    blocks: list[np.ndarray] = []
    batch = max(1, BLOCK_CELLS // max(1, relevant.shape[1]))
    for start in range(0, len(rows_held), batch):
        block = rows_held[start:start + batch]
        exclude, truth = take_rows(seen, block), take_rows(relevant, block)
        values = [kernels.compute(top_k(scores, k, exclude, overwrite=True)[0], truth,
                                  [metric], k=k)[metric] for scores in scores_of(block)]
        blocks.append(np.stack(values) if per_row else np.sum(values, axis=1))
    if not blocks:
        return np.zeros((0, 0) if per_row else 0)
    if per_row:
        return np.concatenate(blocks, axis=1)
    return np.sum(blocks, axis=0) / len(rows_held)


def within_noise(per_row: np.ndarray, best: int, *, tolerance: float = 1.0,
                 means: np.ndarray | None = None, n_rows: int | None = None) -> np.ndarray:
    """Which candidates' mean is within ``tolerance`` paired standard errors of candidate
    ``best``'s. The standard error of a candidate's difference to ``best`` is the standard
    deviation of their row-by-row differences over sqrt(``n_rows``).

    Parameters
    ----------
    per_row : numpy.ndarray of float, shape (n_candidates, n_rows given)
        Each candidate's value on each row (all the rows, or a sample of them).
    best : int
    tolerance : float
    means : numpy.ndarray of float, shape (n_candidates,), optional
        The candidates' means over all the rows, when ``per_row`` is a sample; default its
        row means.
    n_rows : int, optional
        Rows behind ``means``; default ``per_row``'s.

    Examples
    --------
    >>> per_row = np.array([[0.5, 0.1, 0.5, 0.1], [0.3, 0.3, 0.3, 0.3], [0.2, 0.2, 0.2, 0.2]])
    >>> within_noise(per_row, best=1).tolist()  # 0 differs by +-0.2, 2 by -0.1 every row
    [True, True, False]
    """
    per_row = np.asarray(per_row, np.float64)
    means = per_row.mean(axis=1) if means is None else np.asarray(means, np.float64)
    if per_row.shape[1] < 2:
        return means >= means[best]
    n_rows = per_row.shape[1] if n_rows is None else n_rows
    noise = np.std(per_row - per_row[best], axis=1, ddof=1) / np.sqrt(n_rows)
    return means >= means[best] - tolerance * noise
