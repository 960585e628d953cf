"""Exact top-k over float32 score blocks with float64 rescoring, compiled with numba.

The factor models score a block of users with one float32 matrix product (BLAS speed) and
then need, per row: drop the excluded items, find the k best, and make the result exact in
float64 so that it does not depend on the batch the user was scored in. In numpy that took a
dozen passes (masking, block maxima, partitions, gathers, a lexsort) and most of a single
user's latency; compiled, each row is one heap pass, one candidate pass and a few float64
dot products.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _sift_down(heap: np.ndarray, size: int) -> None:
    """Restore the min-heap property of ``heap[:size]`` after its root was replaced."""
    parent = 0
    value = heap[0]
    while True:
        child = 2 * parent + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= value:
            break
        heap[parent] = heap[child]
        parent = child
    heap[parent] = value


@numba.njit(cache=True, nogil=True)
def _kth_best(row: np.ndarray, k: int, heap: np.ndarray) -> float:
    """The k-th largest finite value of ``row``; -inf when fewer than k are finite."""
    size = 0
    for value in row:
        if not value > -np.inf:  # -inf (excluded) and NaN never count
            continue
        if size < k:
            # sift up
            child = size
            size += 1
            while child > 0:
                parent = (child - 1) // 2
                if heap[parent] <= value:
                    break
                heap[child] = heap[parent]
                child = parent
            heap[child] = value
        elif value > heap[0]:
            heap[0] = value
            _sift_down(heap, size)
    return heap[0] if size == k else -np.inf


@numba.njit(cache=True, nogil=True)
def _block_maxima(row: np.ndarray, size: int, maxima: np.ndarray) -> None:
    """``maxima[b]`` = the largest finite value of ``row[b * size:(b + 1) * size]``."""
    n_cols = row.shape[0]
    for b in range(maxima.shape[0]):
        best = -np.inf
        for j in range(b * size, min(n_cols, (b + 1) * size)):
            if row[j] > best:  # NaN compares false: never a maximum
                best = row[j]
        maxima[b] = best


@numba.njit(cache=True, nogil=True)
def _candidates(row: np.ndarray, size: int, maxima: np.ndarray, low: float) -> np.ndarray:
    """Columns whose value is at least ``low`` (and finite), in column order, read only from
    the blocks whose maximum reaches ``low``."""
    n_cols = row.shape[0]
    count = 0
    for b in range(maxima.shape[0]):
        if maxima[b] >= low:
            for j in range(b * size, min(n_cols, (b + 1) * size)):
                if row[j] >= low and row[j] > -np.inf:
                    count += 1
    out = np.empty(count, dtype=np.int64)
    n = 0
    for b in range(maxima.shape[0]):
        if maxima[b] >= low:
            for j in range(b * size, min(n_cols, (b + 1) * size)):
                if row[j] >= low and row[j] > -np.inf:
                    out[n] = j
                    n += 1
    return out


@numba.njit(cache=True, nogil=True)
def rescored_top_k(
    block: np.ndarray,
    queries: np.ndarray,
    items: np.ndarray,
    exclude_indptr: np.ndarray,
    exclude_indices: np.ndarray,
    margin: np.ndarray,
    k: int,
    size: int,
    positions: np.ndarray,
    scores: np.ndarray,
) -> None:
    """Fill ``positions`` / ``scores`` (n_rows x k, pre-filled with -1 / NaN) with each row's
    best k columns by the float64 score ``queries[i] . items[j]``, ties by column index.

    ``block`` holds the float32 scores of the same products (overwritten: excluded columns
    become -inf). Row i's excluded columns are ``exclude_indices[exclude_indptr[i]:
    exclude_indptr[i + 1]]`` (an indptr of zeros excludes nothing). ``margin[i]`` bounds twice
    the float32 rounding error of row i: every column within it of the k-th best float32
    score is rescored, which provably includes the float64 top k and its ties. The float64
    sums run over the factors in order, so a row's result is the same in every batch.

    A row is read once, for the maxima of its blocks of ``size`` columns: the k-th largest
    block maximum is a lower bound of the k-th best score (k distinct blocks reach it), so
    only blocks reaching it minus the margin can hold candidates.
    """
    n_rows, n_cols = block.shape
    n_blocks = (n_cols + size - 1) // size
    maxima = np.empty(n_blocks, dtype=block.dtype)
    heap = np.empty(max(k, 1), dtype=block.dtype)
    for i in range(n_rows):
        row = block[i]
        for p in range(exclude_indptr[i], exclude_indptr[i + 1]):
            row[exclude_indices[p]] = -np.inf
        _block_maxima(row, size, maxima)
        # First cut from the block maxima, second (exact in float32) from the candidates.
        found = _candidates(row, size, maxima, _kth_best(maxima, k, heap) - margin[i])
        low = _kth_best(row[found], k, heap) - margin[i]
        total = np.empty(found.shape[0], dtype=np.float64)
        n = 0
        for j in found:
            if row[j] >= low:
                dot = 0.0
                for f in range(items.shape[1]):
                    dot += np.float64(queries[i, f]) * np.float64(items[j, f])
                found[n] = j
                total[n] = -dot  # ascending sort of -score: best first
                n += 1
        # Candidates are in column order and mergesort is stable: ties go to the lower index.
        order = np.argsort(total[:n], kind="mergesort")
        for r in range(min(k, n)):
            positions[i, r] = found[order[r]]
            scores[i, r] = -total[order[r]]
