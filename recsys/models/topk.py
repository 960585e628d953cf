"""Top-k selection with filtering: the one ranking kernel every model family shares."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

PAD = -1


def mask_entries(scores: np.ndarray, exclude: sp.csr_matrix) -> None:
    """Set ``scores[i, j] = -inf`` in place wherever ``exclude`` stores an entry."""
    rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
    scores[rows, exclude.indices] = -np.inf


def top_k(
    scores: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` columns of each row of ``scores``, sorted by score, ties by column index.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n_rows, n_cols)
        Modified in place when ``exclude`` is given (excluded entries become ``-inf``).
        NaN counts as ``-inf``.
    k : int
        Number of columns to keep per row.
    exclude : scipy.sparse.csr_matrix, optional
        Entries never to return (seen items, the query item itself).

    Returns
    -------
    indices : numpy.ndarray of int64, shape (n_rows, k)
        Column indices; ``-1`` pads rows with fewer than ``k`` finite scores.
    values : numpy.ndarray of float32, shape (n_rows, k)
        Their scores; NaN where padded.

    Notes
    -----
    ``argpartition`` finds the k-th best score per row in O(n_cols); only rows where ties
    straddle that boundary pay for a stable full sort, so the result is exactly what a stable
    sort by (-score, index) would give, at partition cost.

    Examples
    --------
    >>> idx, val = top_k(np.array([[0.1, 0.9, 0.5, 0.9]]), k=3)
    >>> idx.tolist(), val.tolist()
    ([[1, 3, 2]], [[0.8999999761581543, 0.8999999761581543, 0.5]])
    """
    n_rows, n_cols = scores.shape
    if exclude is not None:
        mask_entries(scores, exclude)
    np.putmask(scores, np.isnan(scores), -np.inf)
    width = min(k, n_cols)
    if n_rows == 0 or width == 0:
        return np.full((n_rows, k), PAD, np.int64), np.full((n_rows, k), np.nan, np.float32)
    negated = -scores
    if width < n_cols:
        candidates = np.argpartition(negated, width - 1, axis=1)[:, :width]
        kth = np.take_along_axis(negated, candidates, axis=1).max(axis=1)
        # Rows where more columns tie at the boundary than fit: resolve by index, stably.
        # A boundary at -inf needs no fix: those columns are padding either way.
        crowded = np.isfinite(kth) & ((negated <= kth[:, None]).sum(axis=1) > width)
        if crowded.any():
            candidates[crowded] = np.argsort(negated[crowded], axis=1, kind="stable")[:, :width]
    else:
        candidates = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols)).copy()
    chosen = np.take_along_axis(negated, candidates, axis=1)
    order = np.lexsort((candidates, chosen), axis=-1)
    indices = np.take_along_axis(candidates, order, axis=1).astype(np.int64)
    values = -np.take_along_axis(chosen, order, axis=1)
    invalid = ~np.isfinite(values)
    indices[invalid] = PAD
    values = values.astype(np.float32)
    values[invalid] = np.nan
    if width < k:
        indices = np.pad(indices, ((0, 0), (0, k - width)), constant_values=PAD)
        values = np.pad(values, ((0, 0), (0, k - width)), constant_values=np.nan)
    return indices, values


def take_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """``matrix[rows]`` for a CSR matrix, without scipy's fancy-indexing overhead (which
    dominates when one user is ranked per request).

    Examples
    --------
    >>> m = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]]))
    >>> take_rows(m, np.array([2, 0])).toarray().tolist()
    [[3.0, 4.0], [1.0, 0.0]]
    """
    rows = np.asarray(rows, dtype=np.int64)
    starts = matrix.indptr[rows].astype(np.int64)
    lengths = matrix.indptr[rows + 1] - starts
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    positions = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
    out = sp.csr_matrix((matrix.data[positions], matrix.indices[positions], indptr),
                        shape=(len(rows), matrix.shape[1]), copy=False)
    out.has_sorted_indices = matrix.has_sorted_indices
    return out
