"""Top-k selection with filtering: the one ranking kernel every family and index shares.

Models hand this layer dense scores (:func:`top_k`) or query vectors (an
:class:`~recsys.ranking.index.Index`); both end in the compiled selection of
:mod:`recsys.ranking._kernels`. Results are sorted by score, ties broken by item position;
``-1`` (:data:`PAD`) and NaN pad rows with fewer than ``k`` valid items.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.ranking._scipy_compat import csr_view

PAD = -1
NO_EXCLUSIONS = np.zeros(0, np.int64)
ALL_ALLOWED = np.zeros(0, bool)
# An allow-list holding more than this share of the items is applied as a mask over scores of
# every item; a smaller one is gathered (only its columns scored).
GATHER_SHARE = 1 / 8


@dataclass(frozen=True)
class Allowed:
    """An allow-list over the items, as the ranking applies it: a short one as the columns to
    score (only those are computed), a long one as a mask over scores of every item (applied
    in the selection, where gathering would copy most of the catalog per request).

    Examples
    --------
    >>> mask = np.array([True, False, True, True])
    >>> Allowed.of(mask).top_k(np.array([[0.1, 0.9, 0.5, 0.2]]), k=2)[0].tolist()
    [[2, 3]]
    """

    columns: np.ndarray | None = None  # sorted item positions to score; None: every item
    mask: np.ndarray | None = None  # boolean over the items, with ``columns`` None

    @classmethod
    def of(cls, mask: np.ndarray) -> Allowed:
        if np.count_nonzero(mask) <= GATHER_SHARE * len(mask):
            return cls(columns=np.flatnonzero(mask))
        return cls(mask=mask)

    def positions(self) -> np.ndarray | None:
        """The allowed item positions, sorted (None: every item), for an index search."""
        return np.flatnonzero(self.mask) if self.mask is not None else self.columns

    def top_k(self, scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None,
              overwrite: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """:func:`top_k` of scores computed over :attr:`columns` (every item if None)."""
        return top_k(scores, k, exclude, columns=self.columns, allowed=self.mask,
                     overwrite=overwrite)


def block_size(n_cols: int, k: int) -> int:
    """Columns per block of the selection: about sqrt(n_cols / k), which balances the scan
    of the block maxima (n_cols / size of them) against the gathered candidates (k * size)."""
    # Python scalars: this runs once per query batch, where numpy's scalar overhead shows.
    exponent = round(math.log2(math.sqrt(max(n_cols, 1) / max(k, 1))))
    return 2 ** min(max(exponent, 4), 12)


def exclusion_arrays(exclude: sp.csr_matrix | None,
                     n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``indptr`` / ``indices`` of per-row excluded items; an indptr of zeros when none."""
    if exclude is None or exclude.nnz == 0:
        return np.zeros(n_rows + 1, np.int64), NO_EXCLUSIONS
    return exclude.indptr, exclude.indices


def column_map(columns: np.ndarray | None, n_items: int) -> np.ndarray:
    """Item position -> column of a score block over ``columns`` (-1: not a column); empty
    when the columns are all the items."""
    if columns is None:
        return NO_EXCLUSIONS
    out = np.full(n_items, -1, np.int64)
    out[columns] = np.arange(len(columns))
    return out


def top_k(
    scores: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
    *,
    columns: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    overwrite: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` columns of each row of ``scores``, sorted by score, ties by column.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n_rows, n_cols)
        Compared in float64 when given as float64, else in float32. NaN and -inf count as
        unscorable (never returned).
    k : int
        Number of items to keep per row, at least 1.
    exclude : scipy.sparse.csr_matrix, shape (n_rows, n_items), optional
        Items never to return (stored entries): seen items, the query item itself.
    columns : numpy.ndarray of int, optional
        Sorted item positions the columns of ``scores`` stand for (an allow-list); results
        are then item positions. None: column j is item j.
    allowed : numpy.ndarray of bool, shape (n_cols,), optional
        The columns that may be returned (an allow-list over a full score block).
    overwrite : bool
        Allow ``scores`` to be modified (excluded entries set to -inf), saving a copy.

    Returns
    -------
    indices : numpy.ndarray of int64, shape (n_rows, k)
        Item positions; ``-1`` pads rows with fewer than ``k`` valid items.
    values : numpy.ndarray of float32, shape (n_rows, k)
        Their scores; NaN where padded.

    Notes
    -----
    One pass per row for block maxima, then only the few blocks that can hold the top k
    are read again: a row costs about one read at memory speed. The result is exactly what
    a stable sort by (-score, column) would give.

    Examples
    --------
    >>> idx, val = top_k(np.array([[0.1, 0.75, 0.5, 0.75]]), k=3)
    >>> idx.tolist(), val.tolist()
    ([[1, 3, 2]], [[0.75, 0.75, 0.5]])
    >>> top_k(np.array([[0.1, 0.9]]), k=2, columns=np.array([4, 7]))[0].tolist()
    [[7, 4]]
    """
    from recsys.ranking._kernels import select_rows  # numba: compiled on first use

    n_rows, n_cols = scores.shape
    # The kernel writes -inf into the rows of excluded and disallowed entries.
    masked = (exclude is not None and exclude.nnz > 0) or allowed is not None
    dtype = np.float64 if scores.dtype == np.float64 else np.float32
    block = np.array(scores, dtype=dtype, order="C", copy=True if masked and not overwrite
                     else None)
    if not block.flags.writeable:  # a broadcast view: numba compiles only writeable rows
        block = block.copy()
    indices = np.full((n_rows, k), PAD, np.int64)
    values = np.full((n_rows, k), np.nan, np.float32)
    if n_rows == 0 or n_cols == 0:
        return indices, values
    indptr, excluded = exclusion_arrays(exclude, n_rows)
    remap = column_map(columns, exclude.shape[1]) if exclude is not None and masked else \
        NO_EXCLUSIONS
    no_rescoring = np.zeros((0, 1), np.float32)
    select_rows(block, k, indptr, excluded, remap, ALL_ALLOWED if allowed is None else allowed,
                np.zeros(n_rows), block_size(n_cols, k), no_rescoring, no_rescoring,
                indices, values)
    if columns is not None:
        indices = np.where(indices == PAD, PAD, columns[np.maximum(indices, 0)])
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
    if len(rows) == 1:  # one user per request: slices are views, no gathers
        start, stop = matrix.indptr[rows[0]], matrix.indptr[rows[0] + 1]
        out = csr_view(matrix.data[start:stop], matrix.indices[start:stop],
                       np.array([0, stop - start], dtype=matrix.indptr.dtype),
                       (1, matrix.shape[1]))
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


def empty_rows(n_rows: int, n_cols: int) -> sp.csr_matrix:
    """An all-zero float32 CSR matrix of shape (n_rows, n_cols), built without scipy's
    constructor checks.

    Examples
    --------
    >>> empty_rows(2, 3).shape, empty_rows(2, 3).nnz
    ((2, 3), 0)
    """
    return csr_view(np.zeros(0, np.float32), np.zeros(0, np.int32),
                    np.zeros(n_rows + 1, np.int32), (n_rows, n_cols))


def excluded_mask(exclude: sp.csr_matrix, columns: np.ndarray | None) -> np.ndarray:
    """Dense boolean (n_rows, n_columns): True where ``exclude`` stores an entry, over
    ``columns`` (all items if None)."""
    n_cols = exclude.shape[1] if columns is None else len(columns)
    out = np.zeros((exclude.shape[0], n_cols), bool)
    rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
    cols = exclude.indices if columns is None else column_map(columns, exclude.shape[1])[
        exclude.indices]
    keep = cols >= 0
    out[rows[keep], cols[keep]] = True
    return out


def top_k_entries(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The k largest stored entries of each row of a sparse matrix (ties: lower column
    first), the rest dropped: neighbour lists of item-item models. Sparse throughout.

    Examples
    --------
    >>> m = sp.csr_matrix(np.array([[0.0, 3.0, 1.0, 3.0], [2.0, 0.0, 0.0, 0.0]]))
    >>> top_k_entries(m, 2).toarray().tolist()
    [[0.0, 3.0, 0.0, 3.0], [2.0, 0.0, 0.0, 0.0]]
    """
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    lengths = np.diff(matrix.indptr)
    if lengths.max(initial=0) <= k:
        return matrix
    from recsys.ranking._kernels import top_entries_mask  # numba: compiled on first use

    keep = np.flatnonzero(top_entries_mask(matrix.indptr, matrix.data, k))
    kept_rows = np.repeat(np.arange(matrix.shape[0]), lengths)[keep]
    indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(kept_rows, minlength=matrix.shape[0]), out=indptr[1:])
    return sp.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)
