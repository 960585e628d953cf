"""The hit scan every accuracy metric is built on, compiled with numba.

Finding which recommended items are relevant is a membership test of ``n_users * k`` (user,
item) pairs against the relevant pairs. In numpy it takes several passes over the whole
``(n_users, k)`` block (offset arithmetic, a gather from a scattered table, a sort for
repeated items) and was the bulk of every metric's time. Compiled, one pass per user does it,
with a scratch array of ``n_items`` slots that is clean again after each user: O(nnz +
n_users * k) time, no temporary of the block's size.

Imported lazily by :mod:`recsys.ranking._hits`, so ``import recsys`` does not pay for
numba's import; the compiled code is cached on disk after the first call.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def scan_hits(
    top: np.ndarray, k: int, indptr: np.ndarray, indices: np.ndarray, slot: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """User and 0-based position of every hit within the first k columns of ``top``.

    Hits come in (user, position) order. ``top`` holds item indices with -1 as padding;
    columns past its width count as padding. An item repeated within a list is a hit only at
    its first position. The scan stops at the first cell outside ``[-1, n_items)`` of a user
    and returns its row and column as the last two values (else -1, -1), so the caller can
    name it. ``slot`` is scratch of ``n_items + 1`` zeros, of an integer type that holds
    ``k + 1`` (the smallest such type keeps it in the fastest cache); it is zeros again
    after a complete scan.
    """
    n_items = slot.shape[0] - 1
    n_users = top.shape[0]
    width = min(k, top.shape[1])
    bound = min(n_users * width, indices.size)
    user = np.empty(bound, dtype=np.int64)
    position = np.empty(bound, dtype=np.int64)
    # slot[i] is 0 except while the user holding item i is scanned; slot[n_items] absorbs
    # the padding index -1 (negative indices wrap around).
    found = np.zeros(width, dtype=np.bool_)
    n_hits = 0
    for u in range(n_users):
        start, stop = indptr[u], indptr[u + 1]
        if stop - start > width:
            # More relevant items than list positions: stamp the list with its positions
            # (first occurrence wins), probe it with the relevant items, then sweep the
            # positions found in rank order.
            any_found = False
            for r in range(width):
                value = top[u, r]
                if value < -1 or value >= n_items:
                    return user[:n_hits], position[:n_hits], u, r
                if value >= 0 and slot[value] == 0:
                    slot[value] = r + 1
            for j in range(start, stop):
                place = slot[indices[j]]
                if place > 0:
                    found[place - 1] = True
                    any_found = True
            for r in range(width):
                slot[top[u, r]] = 0
            if any_found:
                for r in range(width):
                    if found[r]:
                        user[n_hits] = u
                        position[n_hits] = r
                        n_hits += 1
                        found[r] = False
        else:
            # Stamp the relevant items and probe them with the list; a found item is stamped
            # again so that a later copy of it misses.
            for j in range(start, stop):
                slot[indices[j]] = 1
            for r in range(width):
                value = top[u, r]
                if value < -1 or value >= n_items:
                    return user[:n_hits], position[:n_hits], u, r
                if slot[value] == 1:
                    user[n_hits] = u
                    position[n_hits] = r
                    n_hits += 1
                    slot[value] = 2
            for j in range(start, stop):
                slot[indices[j]] = 0
    return user[:n_hits], position[:n_hits], -1, -1


@numba.njit(cache=True, nogil=True)
def sum_hits(
    user: np.ndarray, rank: np.ndarray, gain: np.ndarray, discount: np.ndarray, n_users: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-user hit count, best (1-based) rank, DCG and sum of precision@rank over the hits.

    The hits come in (user, rank) order. ``gain`` holds one gain per hit, or is empty for
    binary gains (each hit gains 1); ``discount[r - 1]`` is the DCG discount of rank r. A
    user without hits has count 0, rank 0 and sums 0.
    """
    count = np.zeros(n_users, dtype=np.float64)
    best_rank = np.zeros(n_users, dtype=np.int64)
    dcg = np.zeros(n_users, dtype=np.float64)
    precision_sum = np.zeros(n_users, dtype=np.float64)
    graded = gain.size > 0
    for h in range(user.size):
        u, r = user[h], rank[h]
        if count[u] == 0:
            best_rank[u] = r
        count[u] += 1.0
        weight = gain[h] if graded else 1.0
        dcg[u] += weight * discount[r - 1]
        precision_sum[u] += count[u] / r
    return count, best_rank, dcg, precision_sum
