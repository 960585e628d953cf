"""Top-k selection with filtering: the one ranking kernel every model family shares."""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.sparse as sp

PAD = -1
# Rows narrower than this are ranked by one partition of the whole row: block maxima only pay
# off when they let most of a row be skipped.
BLOCK_MIN_COLS = 4096
# A row whose candidate set exceeds this many blocks (or this many columns after the second
# cut) per wanted item is full of ties or padding: it takes the whole-row path instead.
CROWD_FACTOR = 8


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
    Wide rows (at least 4,096 columns) go through :func:`block_candidates`: maxima over
    column blocks first, then only the few blocks that can hold the top k are partitioned,
    so a row costs one pass at memory speed instead of a full ``argpartition``. Other rows,
    and wide rows full of ties or padding, take one ``argpartition`` per row; only rows
    where ties straddle the boundary pay for a stable full sort. Either way the result is
    exactly what a stable sort by (-score, index) would give.

    Examples
    --------
    >>> idx, val = top_k(np.array([[0.1, 0.9, 0.5, 0.9]]), k=3)
    >>> idx.tolist(), val.astype(float).round(4).tolist()
    ([[1, 3, 2]], [[0.9, 0.9, 0.5]])
    """
    n_rows, n_cols = scores.shape
    if exclude is not None:
        mask_entries(scores, exclude)
    width = min(k, n_cols)
    if n_rows == 0 or width == 0:
        return np.full((n_rows, k), PAD, np.int64), np.full((n_rows, k), np.nan, np.float32)
    if width < n_cols and n_cols >= BLOCK_MIN_COLS:
        cols, values, ok = block_candidates(scores, width, np.zeros(n_rows, np.float32))
        indices = np.full((n_rows, k), PAD, np.int64)
        out = np.full((n_rows, k), np.nan, np.float32)
        if ok.any():
            indices[ok], out[ok] = sort_candidates(cols[ok], values[ok], k)
        rest = np.flatnonzero(~ok)
        if len(rest):
            indices[rest], out[rest] = _top_k_rows(scores[rest], k)
        return indices, out
    return _top_k_rows(scores, k)


def _top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` by one partition of each whole row (exclusions already applied)."""
    n_rows, n_cols = scores.shape
    width = min(k, n_cols)
    np.putmask(scores, np.isnan(scores), -np.inf)
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


def block_size(n_cols: int, k: int) -> int:
    """Columns per block: about sqrt(n_cols / k), which balances the partition of the block
    maxima (n_cols / size of them) against the gathered candidates (about k * size)."""
    # Python scalars: this runs once per query batch, where numpy's scalar overhead shows.
    exponent = round(math.log2(math.sqrt(max(n_cols, 1) / max(k, 1))))
    return 2 ** min(max(exponent, 4), 12)


def block_candidates(
    scores: np.ndarray,
    k: int,
    margin: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, every column whose score is at least (k-th best score - ``margin``), and a few
    more, found without partitioning whole rows.

    The row is cut into blocks and each block's maximum taken (one pass at memory speed).
    The k-th largest block maximum ``T`` is a lower bound of the row's k-th best score, since
    k distinct blocks reach it; every wanted column therefore lies in a block whose maximum is
    at least ``T - margin``, and only those blocks (typically about k of them) are gathered
    and partitioned.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n_rows, n_cols)
        Excluded entries as -inf; rows holding NaN come back with ``ok`` False.
    k : int
        1 <= k < n_cols.
    margin : numpy.ndarray, shape (n_rows,)
        Non-negative slack per row.

    Returns
    -------
    cols, values : numpy.ndarray, shape (n_rows, width)
        Candidate columns (distinct) and their scores, -inf in filler slots. Only rows where
        ``ok`` holds are meaningful.
    ok : numpy.ndarray of bool, shape (n_rows,)
        False for rows whose candidate set would be too large (ties, padding, a row with
        fewer than k finite scores): rank those rows some other way.
    """
    n_rows, n_cols = scores.shape
    size = block_size(n_cols, k)
    n_full = n_cols // size
    # A view, not a copy: splitting the column axis keeps the row stride.
    maxima = scores[:, :n_full * size].reshape(n_rows, n_full, size).max(axis=2)
    if n_full * size < n_cols:
        tail = scores[:, n_full * size:].max(axis=1, keepdims=True)
        maxima = np.concatenate([maxima, tail], axis=1)
    n_blocks = maxima.shape[1]
    low = np.partition(maxima, n_blocks - k, axis=1)[:, n_blocks - k] - margin
    # A -inf bound means fewer than k finite scores: no cut is possible. NaN propagates
    # through max, so the maxima also tell which rows need NaN cleaning on the slow path.
    ok = np.isfinite(low) & ~np.isnan(maxima).any(axis=1)
    n_wanted = (maxima >= low[:, None]).sum(axis=1)
    ok &= n_wanted <= CROWD_FACTOR * k
    n_take = int(n_wanted[ok].max()) if ok.any() else k
    blocks = np.argpartition(-maxima, n_take - 1, axis=1)[:, :n_take]
    cols = (blocks[:, :, None] * size + np.arange(size)).reshape(n_rows, n_take * size)
    inside = cols < n_cols
    values = np.take_along_axis(scores, np.minimum(cols, n_cols - 1), axis=1)
    values[~inside] = -np.inf
    # Second cut, exact now: the gathered set holds every column at or above the k-th best.
    kth = np.partition(values, values.shape[1] - k, axis=1)[:, values.shape[1] - k]
    n_wanted = (values >= (kth - margin)[:, None]).sum(axis=1)
    ok &= np.isfinite(kth) & (n_wanted <= CROWD_FACTOR * k)
    width = int(n_wanted[ok].max()) if ok.any() else k
    if width < values.shape[1]:
        pick = np.argpartition(-values, width - 1, axis=1)[:, :width]
        cols = np.take_along_axis(cols, pick, axis=1)
        values = np.take_along_axis(values, pick, axis=1)
    return cols.astype(np.int64), values, ok


def sort_candidates(cols: np.ndarray, values: np.ndarray,
                    k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` of per-row candidates by (-value, column), padded like :func:`top_k`."""
    order = np.lexsort((cols, -values), axis=-1)[:, :k]
    indices = np.take_along_axis(cols, order, axis=1)
    out = np.take_along_axis(values, order, axis=1).astype(np.float32)
    invalid = ~np.isfinite(out)
    indices[invalid] = PAD
    out[invalid] = np.nan
    if out.shape[1] < k:
        pad = k - out.shape[1]
        indices = np.pad(indices, ((0, 0), (0, pad)), constant_values=PAD)
        out = np.pad(out, ((0, 0), (0, pad)), constant_values=np.nan)
    return indices, out


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
    if len(rows) == 1:  # one user per request: slices are views, no gathers
        start, stop = matrix.indptr[rows[0]], matrix.indptr[rows[0] + 1]
        parts = (matrix.data[start:stop], matrix.indices[start:stop],
                 np.array([0, stop - start], dtype=matrix.indptr.dtype))
        out = (_csr_unchecked(*parts, (1, matrix.shape[1])) if _unchecked_matches_scipy()
               else sp.csr_matrix(parts, shape=(1, matrix.shape[1]), copy=False))
        out.has_sorted_indices = matrix.has_sorted_indices
        return out
    starts = matrix.indptr[rows].astype(np.int64)
    lengths = matrix.indptr[rows + 1] - starts
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    positions = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
    out = sp.csr_matrix((matrix.data[positions], matrix.indices[positions], indptr),
                        shape=(len(rows), matrix.shape[1]), copy=False)
    out.has_sorted_indices = matrix.has_sorted_indices
    return out


def _csr_unchecked(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                   shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix around valid arrays, skipping the constructor's validation.

    The constructor checks and converts its arrays in about 20 microseconds of Python, and
    up to five times that when a graph walk has just evicted the caches: a sixth of the time
    of ranking one user on a million items with HNSW (0.1 of 0.6 ms), spent on arrays cut from
    a matrix that is valid already.
    This sets what ``scipy.sparse``'s own constructors set; :func:`_unchecked_matches_scipy`
    checks, once, that the result matches the checked constructor's.
    """
    out = sp.csr_matrix.__new__(sp.csr_matrix)
    out._shape, out.maxprint = shape, _default_maxprint()
    out.data, out.indices, out.indptr = data, indices, indptr
    return out


@functools.cache
def _default_maxprint() -> int:
    return sp.csr_matrix((1, 1)).maxprint


@functools.cache
def _unchecked_matches_scipy() -> bool:
    """Whether :func:`_csr_unchecked` builds what scipy's constructor builds, used as scipy
    uses matrices (checked on a small example, on first use rather than at import)."""
    checked = sp.csr_matrix(np.array([[0.0, 2.0, 0.0, 1.0]], dtype=np.float32))
    try:
        fast = _csr_unchecked(checked.data, checked.indices, checked.indptr, checked.shape)
        return (fast.shape == checked.shape and fast.nnz == checked.nnz
                and fast.dtype == checked.dtype and fast.format == "csr"
                and fast.has_sorted_indices and fast.has_canonical_format
                and (fast != checked).nnz == 0
                and np.array_equal((fast @ sp.identity(4, format="csr")).toarray(),
                                   checked.toarray())
                and np.array_equal(fast.multiply(checked).tocsr()[:, [1, 3]].toarray(),
                                   [[4.0, 1.0]]))
    except Exception:  # any failure means: use the checked constructor
        return False


def top_k_columns(
    block: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None,
    item_cols: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top k of a score block over ``item_cols`` (all items if None), as item positions."""
    block = np.array(block, dtype=np.float32, copy=True)
    if exclude is not None and item_cols is not None:
        exclude = sp.csr_matrix(exclude[:, item_cols])
    top, values = top_k(block, k, exclude if exclude is not None and exclude.nnz else None)
    if item_cols is not None and len(item_cols):
        top = np.where(top == PAD, PAD, item_cols[np.maximum(top, 0)])
    return top, values
