"""Filtering and ordering of an ANN index's answers, compiled with numba.

For one query the numpy version took a dozen small calls (masks, a key sort, a binary
search, a lexsort, gathers) that together cost as much as the graph walk itself.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def keep_best(
    found: np.ndarray,
    values: np.ndarray,
    rows: np.ndarray,
    exclude_indptr: np.ndarray,
    exclude_indices: np.ndarray,
    allowed: np.ndarray,
    n_allowed: int,
    positions: np.ndarray,
    scores: np.ndarray,
) -> np.ndarray:
    """Write the best valid answers of each query into its row of ``positions`` / ``scores``
    and tell which queries are left short.

    Row i of ``found`` / ``values`` answers the query in row ``rows[i]`` of the outputs. An
    answer is valid when it is not -1, is ``allowed`` (a boolean mask over the items; empty:
    all are) and is not among the query's excluded items (sorted, in CSR form over the query
    rows; an indptr of zeros excludes nothing). Valid answers are written sorted by score,
    ties by position; the rest of the row is left as it is (padding).

    Returns, per row of ``found``, whether fewer than ``min(k, valid items)`` were written:
    the ``n_allowed`` allowed items minus the query's excluded items among them.
    """
    k = positions.shape[1]
    short = np.zeros(found.shape[0], dtype=np.bool_)
    keep = np.empty(found.shape[1], dtype=np.int64)
    for i in range(found.shape[0]):
        row = rows[i]
        start, stop = exclude_indptr[row], exclude_indptr[row + 1]
        n = 0
        for j in range(found.shape[1]):
            item = found[i, j]
            if item < 0 or (allowed.size and not allowed[item]):
                continue
            if stop > start:
                at = start + np.searchsorted(exclude_indices[start:stop], item)
                if at < stop and exclude_indices[at] == item:
                    continue
            # insertion into keep[:n], ordered by (-value, item)
            value = values[i, j]
            place = n
            while place > 0:
                other = keep[place - 1]
                other_value = values[i, other]
                if other_value > value or (other_value == value and found[i, other] < item):
                    break
                keep[place] = other
                place -= 1
            keep[place] = j
            n += 1
        n = min(n, k)
        for r in range(n):
            positions[row, r] = found[i, keep[r]]
            scores[row, r] = values[i, keep[r]]
        excluded = stop - start
        if allowed.size:
            excluded = 0
            for at in range(start, stop):
                excluded += allowed[exclude_indices[at]]
        short[i] = n < min(k, n_allowed - excluded)
    return short
