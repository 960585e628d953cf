"""The hit lookup under the accuracy kernels: every hit of every user, found in one pass."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.errors import ConfigError
from recsys.ranking._metric_input import (
    GAINS,
    _as_recommended,
    _as_relevant,
    _gain_values,
    _raise_bad_item,
    _top,
)


def _row_of_entry(rel: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(rel.shape[0], dtype=np.int64), np.diff(rel.indptr))


def _hit_index(
    recommended: Any, relevant: Any, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix]:
    """Validated inputs -> user and 0-based position of every hit in the top k, in (user,
    rank) order, the recommended array and the relevant-only CSR.

    Only the first k columns are read (and validated)."""
    from recsys.ranking._hitscan import scan_hits  # numba: imported on first use

    arr = _as_recommended(recommended)
    rel = _as_relevant(relevant, arr.shape[0])
    if arr.shape[1] > k:
        arr = _top(arr, k)  # the scan reads contiguous rows twice as fast as strided ones
    if arr.dtype not in (np.int32, np.int64):
        arr = arr.astype(np.int64)  # unsigned or narrow ints: no extra compiled signature
    slot_type = np.uint8 if k < 255 else np.uint16 if k < 65535 else np.int64
    user, position, bad_row, bad_col = scan_hits(
        arr, k, rel.indptr, rel.indices, np.zeros(rel.shape[1] + 1, slot_type)
    )
    if bad_row >= 0:
        _raise_bad_item(arr, bad_row, bad_col, rel.shape[1], "the columns of relevant")
    return user, position, arr, rel


@dataclass(frozen=True)
class _Ideal:
    """Graded gains only: every user's relevant gains sorted best first, as a flat list."""

    user: np.ndarray  # int64, non-decreasing
    rank: np.ndarray  # int64, 1-based
    gain: np.ndarray  # float64

    def at(self, k: int) -> _Ideal:
        """The entries within the top k."""
        keep = self.rank <= k
        return _Ideal(self.user[keep], self.rank[keep], self.gain[keep])


@dataclass(frozen=True)
class _Hits:
    """The hits of all users as a flat list in (user, rank) order, plus what normalises them.

    Kernels work on this list instead of the dense (n_users, k) matrix: hits are a small
    fraction of the cells, and a smaller k is a mask on ``rank``, not a new lookup.
    """

    n_users: int
    k: int  # the cutoff the hits were collected at
    user: np.ndarray  # int64, non-decreasing
    rank: np.ndarray  # int64, 1-based, increasing within a user
    n_relevant: np.ndarray  # int64 per user
    gain: np.ndarray | None = None  # float64 per hit; None: binary gains
    ideal: _Ideal | None = None  # None: binary gains

    def at(self, k: int) -> _Hits:
        """The hits within the top k (k <= self.k)."""
        if k >= self.k:
            return self
        keep = self.rank <= k
        return _Hits(
            n_users=self.n_users,
            k=k,
            user=self.user[keep],
            rank=self.rank[keep],
            n_relevant=self.n_relevant,
            gain=None if self.gain is None else self.gain[keep],
            ideal=None if self.ideal is None else self.ideal.at(k),
        )

    @cached_property
    def sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per user: hit count (float64), best rank (0: none), DCG, sum of precision@rank.

        One compiled pass over the hits, shared by every kernel of this cutoff.
        """
        from recsys.ranking._hitscan import sum_hits

        gain = np.empty(0) if self.gain is None else self.gain
        discount = _discount(np.arange(1, self.k + 1))
        return sum_hits(self.user, self.rank, gain, discount, self.n_users)


def _collect(recommended: Any, relevant: Any, k: int, gains: str = "binary") -> _Hits:
    if gains not in GAINS:
        raise ConfigError(f"gains must be one of {GAINS}; got {gains!r}")
    user, rank, arr, rel = _hit_index(recommended, relevant, k)
    n_users = rel.shape[0]
    rank += 1
    n_relevant = np.diff(rel.indptr).astype(np.int64)
    values = _gain_values(rel.data, gains)
    if values is None:
        return _Hits(n_users, k, user, rank, n_relevant)
    # Graded gains: find each hit's stored value (hits are few, a binary search is cheap).
    rows = _row_of_entry(rel)
    keys = rows * rel.shape[1] + rel.indices
    gain = values[np.searchsorted(keys, user * rel.shape[1] + arr[user, rank - 1])]
    order = np.lexsort((-values, rows))  # each user's gains, best first
    ideal_rank = np.arange(rows.size, dtype=np.int64) - rel.indptr[rows] + 1
    keep = ideal_rank <= k
    return _Hits(
        n_users,
        k,
        user,
        rank,
        n_relevant,
        gain=gain,
        ideal=_Ideal(rows[keep], ideal_rank[keep], values[order][keep]),
    )



def _discount(rank: np.ndarray) -> np.ndarray:
    return 1.0 / np.log2(rank + 1.0)

