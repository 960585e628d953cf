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
def rescored_top_k(
    block: np.ndarray,
    queries: np.ndarray,
    items: np.ndarray,
    exclude_indptr: np.ndarray,
    exclude_indices: np.ndarray,
    margin: np.ndarray,
    k: int,
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
    """
    n_rows, n_cols = block.shape
    heap = np.empty(max(k, 1), dtype=block.dtype)
    for i in range(n_rows):
        row = block[i]
        for p in range(exclude_indptr[i], exclude_indptr[i + 1]):
            row[exclude_indices[p]] = -np.inf
        low = _kth_best(row, k, heap) - margin[i]
        n_candidates = 0
        for j in range(n_cols):
            if row[j] > -np.inf and row[j] >= low:
                n_candidates += 1
        candidates = np.empty(n_candidates, dtype=np.int64)
        exact = np.empty(n_candidates, dtype=np.float64)
        n = 0
        for j in range(n_cols):
            if row[j] > -np.inf and row[j] >= low:
                total = 0.0
                for f in range(items.shape[1]):
                    total += np.float64(queries[i, f]) * np.float64(items[j, f])
                candidates[n] = j
                exact[n] = -total  # ascending sort of -score: best first
                n += 1
        # Candidates are in column order and mergesort is stable: ties go to the lower index.
        order = np.argsort(exact, kind="mergesort")
        for r in range(min(k, n_candidates)):
            positions[i, r] = candidates[order[r]]
            scores[i, r] = -exact[order[r]]
