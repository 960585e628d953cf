"""Ranking metrics as pure, vectorized kernels over all users at once.

Every accuracy kernel shares one signature, ``metric(recommended, relevant, k=10)``:

``recommended``
    Integer array ``(n_users, list_length)`` of item indices, best first. ``-1`` pads short
    lists; padding never counts as a hit. If ``k`` is larger than the list, the missing
    positions are treated as padding.
``relevant``
    scipy sparse matrix ``(n_users, n_items)`` (CSR preferred, any format accepted) whose stored
    values are gains. An item is relevant to a user when its stored value is ``> 0``; explicit
    zeros and negative values are not relevant. Duplicate stored entries are summed first
    (scipy's canonical form).
``k``
    A positive int, or a sequence of them: then the result is a dict ``{k: values}`` and the
    hits are looked up once, at the largest k. Only the first k columns are read (and
    validated).

Each returns a float64 array with one value per user (row), in the order of the rows. The
definitions, with ``hits@k`` the number of relevant items in the top k:

=============  ==============================================================================
precision@k    hits@k / k  (k, not the list length: a short list is not rewarded)
recall@k       hits@k / |relevant|
ndcg@k         DCG@k / ideal DCG@k, DCG = sum over hit ranks r of gain / log2(r + 1); the ideal
               DCG ranks the user's min(|relevant|, k) best gains first
map@k          sum over hit ranks r of precision@r, divided by min(|relevant|, k)
mrr@k          1 / rank of the first hit within the top k, else 0
hit_rate@k     1 if there is any hit in the top k, else 0
=============  ==============================================================================

Two rules keep the numbers honest on imperfect input:

- An item repeated within one list counts only at its first position; later copies are
  misses (they still take a slot, so precision@k does not reward them).
- A user with no relevant item gets NaN from ``recall``, ``ndcg`` and ``map`` (their
  normaliser is zero) and 0 from ``precision``, ``mrr`` and ``hit_rate``. Callers that
  average should drop such users first, as ``evaluate`` does.

:func:`hits` exposes the boolean hit matrix these kernels are built on, :func:`compute` runs
several metrics on one lookup, and :func:`coverage` measures the catalog share reached.

Beyond accuracy (appended at the end of the module): :func:`auc` over full rankings (see
:func:`full_ranking`), and measures of the lists themselves: :func:`novelty`,
:func:`average_recommended_popularity` and :func:`intra_list_diversity` per user,
:func:`catalog_coverage`, :func:`gini_index` of exposure and :func:`personalization` over
all users.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp

from recsys.errors import ConfigError, DataError

__all__ = [
    "BEYOND_METRICS",
    "CORE_METRICS",
    "GAINS",
    "auc",
    "average_precision",
    "average_recommended_popularity",
    "catalog_coverage",
    "compute",
    "coverage",
    "full_ranking",
    "gini_index",
    "hit_rate",
    "hits",
    "intra_list_diversity",
    "map",
    "mrr",
    "ndcg",
    "novelty",
    "personalization",
    "precision",
    "recall",
]

GAINS = ("binary", "linear", "exponential")
CORE_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate")

Ks: TypeAlias = "int | Sequence[int]"
Scores: TypeAlias = "np.ndarray | dict[int, np.ndarray]"

# --------------------------------------------------------------------------- validation


def _parse_k(k: Any) -> tuple[tuple[int, ...], bool]:
    """The k values asked for (unique, in the given order) and whether k was a single int."""
    if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
        values, scalar = [k], True
    elif isinstance(k, Iterable) and not isinstance(k, (str, bytes)):
        values, scalar = list(k), False
        if not values:
            raise ConfigError("k is an empty sequence; give at least one cutoff")
    else:
        raise ConfigError(f"k must be a positive int or a sequence of them; got {k!r}")
    for value in values:
        if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"k must be a positive int or a sequence of them; got {value!r}")
        if value < 1:
            raise ConfigError(f"k must be >= 1; got {value}")
    return tuple(dict.fromkeys(int(v) for v in values)), scalar


def _as_recommended(recommended: Any) -> np.ndarray:
    try:
        arr = np.asarray(recommended)
    except ValueError as exc:  # ragged nested lists
        raise DataError(
            f"recommended must be a rectangular 2-D array; pad short lists with -1 ({exc})"
        ) from None
    if arr.ndim != 2:
        raise DataError(
            "recommended must be a 2-D array (n_users, list length) of item indices; "
            f"got shape {arr.shape}"
        )
    if arr.dtype.kind not in "iu":
        if arr.size:
            raise DataError(f"recommended must hold integer item indices; got dtype {arr.dtype}")
        arr = arr.astype(np.int64)  # np.empty((0, k)) is float by default
    return arr


def _check_items(arr: np.ndarray, n_items: int, source: str = "n_items") -> np.ndarray:
    """Raise on indices outside [-1, n_items), naming the first bad cell; return arr."""
    if arr.size == 0:
        return arr
    if arr.min() < -1 or arr.max() >= n_items:
        row, col = np.argwhere((arr < -1) | (arr >= n_items))[0]
        _raise_bad_item(arr, row, col, n_items, source)
    return arr


def _raise_bad_item(arr: np.ndarray, row: int, col: int, n_items: int, source: str) -> None:
    if arr[row, col] < -1:
        raise DataError(
            f"recommended[{row}, {col}] = {arr[row, col]}: item indices must be >= 0, "
            "or -1 for padding"
        )
    raise DataError(
        f"recommended[{row}, {col}] = {arr[row, col]} is not an item index: "
        f"there are {n_items} items ({source})"
    )


def _as_relevant(relevant: Any, n_users: int) -> sp.csr_matrix:
    """Canonical CSR holding only the relevant (stored value > 0) entries."""
    if sp.issparse(relevant):
        rel = relevant.tocsr()
    elif isinstance(relevant, np.ndarray) and relevant.ndim == 2:
        rel = sp.csr_matrix(relevant)
    else:
        raise DataError(
            "relevant must be a scipy.sparse matrix (n_users, n_items) whose stored values are "
            f"gains; got {type(relevant).__name__}"
        )
    if rel.shape[0] != n_users:
        raise DataError(
            f"recommended has {n_users} rows (users) but relevant has {rel.shape[0]}; "
            "row i of both must be the same user"
        )
    if rel.data.dtype.kind not in "biuf":
        raise DataError(f"relevant must hold numeric gains; got dtype {rel.data.dtype}")
    if not rel.has_canonical_format:
        rel = rel.copy()
        rel.sum_duplicates()
    if rel.nnz == 0:
        return rel
    low, high = rel.data.min(), rel.data.max()  # NaN propagates into both
    if rel.data.dtype.kind == "f" and not (np.isfinite(low) and np.isfinite(high)):
        pos = int(np.flatnonzero(~np.isfinite(rel.data))[0])
        row = int(np.searchsorted(rel.indptr, pos, side="right") - 1)
        raise DataError(
            f"relevant[{row}, {rel.indices[pos]}] = {rel.data[pos]}: gains must be finite"
        )
    if low <= 0:
        rel = rel.copy()
        rel.data[rel.data <= 0] = 0
        rel.eliminate_zeros()
    return rel


def _gain_values(data: np.ndarray, gains: str) -> np.ndarray | None:
    """Gain of each stored relevant value; None means binary (every hit gains 1)."""
    if gains == "binary":
        return None
    if gains == "linear":
        return data.astype(np.float64)
    if gains == "exponential":
        return np.exp2(data.astype(np.float64)) - 1.0
    raise ConfigError(f"gains must be one of {GAINS}; got {gains!r}")


# --------------------------------------------------------------------------- hit lookup


def _top(arr: np.ndarray, k: int) -> np.ndarray:
    """The first k columns, padded on the right with -1 when the lists are shorter.

    Only these columns are read, so only they are validated later: items past k may be
    anything a caller keeps there.
    """
    # A contiguous copy: every later pass (validation, lookup, gathers) reads it sequentially.
    if arr.flags.c_contiguous and arr.shape[1] > k and arr.shape[0]:
        # Copy each row's first k items as one opaque record: a 1-D copy of n records is
        # much faster than numpy's 2-D strided copy with its short inner loop of k items.
        record = np.dtype((np.void, k * arr.itemsize))
        rows = np.ndarray((arr.shape[0],), dtype=record, buffer=arr, strides=(arr.strides[0],))
        top = rows.copy().view(arr.dtype).reshape(arr.shape[0], k)
    else:
        top = np.ascontiguousarray(arr[:, :k])
    if top.dtype.kind == "u":
        top = top.astype(np.int64)  # padding and cell arithmetic need a signed type
    if top.shape[1] == k:
        return top
    out = np.full((arr.shape[0], k), -1, dtype=top.dtype)
    out[:, : top.shape[1]] = top
    return out


def _row_of_entry(rel: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(rel.shape[0], dtype=np.int64), np.diff(rel.indptr))


def _hit_index(
    recommended: Any, relevant: Any, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix]:
    """Validated inputs -> user and 0-based position of every hit in the top k, in (user,
    rank) order, the recommended array and the relevant-only CSR.

    Only the first k columns are read (and validated)."""
    from recsys.evaluation._hitscan import scan_hits  # numba: imported on first use

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
    ideal_user: np.ndarray | None = None  # the users' gains sorted best first (graded only)
    ideal_rank: np.ndarray | None = None
    ideal_gain: np.ndarray | None = None

    def at(self, k: int) -> _Hits:
        """The hits within the top k (k <= self.k)."""
        if k >= self.k:
            return self
        keep = self.rank <= k
        ideal = {}
        if self.ideal_rank is not None:
            keep_ideal = self.ideal_rank <= k
            ideal = {
                "ideal_user": self.ideal_user[keep_ideal],
                "ideal_rank": self.ideal_rank[keep_ideal],
                "ideal_gain": self.ideal_gain[keep_ideal],
            }
        return _Hits(
            n_users=self.n_users,
            k=k,
            user=self.user[keep],
            rank=self.rank[keep],
            n_relevant=self.n_relevant,
            gain=None if self.gain is None else self.gain[keep],
            **ideal,
        )

    @cached_property
    def sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per user: hit count (float64), best rank (0: none), DCG, sum of precision@rank.

        One compiled pass over the hits, shared by every kernel of this cutoff.
        """
        from recsys.evaluation._hitscan import sum_hits

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
        ideal_user=rows[keep],
        ideal_rank=ideal_rank[keep],
        ideal_gain=values[order][keep],
    )


# --------------------------------------------------------------------------- kernels


def _discount(rank: np.ndarray) -> np.ndarray:
    return 1.0 / np.log2(rank + 1.0)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0 (a user with nothing relevant has no defined value)."""
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _precision(h: _Hits, k: int) -> np.ndarray:
    return h.sums[0] / k


def _recall(h: _Hits, k: int) -> np.ndarray:
    return _divide(h.sums[0], h.n_relevant)


def _ndcg(h: _Hits, k: int) -> np.ndarray:
    discount = _discount(np.arange(1, k + 1))
    if h.ideal_gain is None:
        # Binary gains: the ideal list is min(|relevant|, k) hits at ranks 1, 2, ...
        best = np.concatenate([[0.0], np.cumsum(discount)])
        ideal = best[np.minimum(h.n_relevant, k)]
    else:
        ideal = np.bincount(
            h.ideal_user, weights=h.ideal_gain * discount[h.ideal_rank - 1], minlength=h.n_users
        )
    return _divide(h.sums[2], ideal)


def _average_precision(h: _Hits, k: int) -> np.ndarray:
    # The n-th hit of a user at rank r contributes precision@r = n / r.
    return _divide(h.sums[3], np.minimum(h.n_relevant, k))


def _mrr(h: _Hits, k: int) -> np.ndarray:
    best_rank = h.sums[1]
    return np.divide(1.0, best_rank, out=np.zeros(h.n_users), where=best_rank > 0)


def _hit_rate(h: _Hits, k: int) -> np.ndarray:
    return (h.sums[0] > 0).astype(np.float64)


_KERNELS: dict[str, Callable[[_Hits, int], np.ndarray]] = {
    "precision": _precision,
    "recall": _recall,
    "ndcg": _ndcg,
    "map": _average_precision,
    "average_precision": _average_precision,
    "mrr": _mrr,
    "hit_rate": _hit_rate,
}


def _run(
    kernel: Callable[[_Hits, int], np.ndarray],
    recommended: Any,
    relevant: Any,
    k: Ks,
    gains: str = "binary",
) -> Scores:
    ks, scalar = _parse_k(k)
    collected = _collect(recommended, relevant, max(ks), gains)
    out = {kk: kernel(collected.at(kk), kk) for kk in ks}
    return out[ks[0]] if scalar else out


# --------------------------------------------------------------------------- public API


def hits(recommended: Any, relevant: Any, k: int = 10) -> np.ndarray:
    """Boolean hit matrix: is the item at each of the top-k positions relevant to its user?

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists.
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items.
    k : int, default 10
        Number of positions; positions past the end of the lists are padding.

    Returns
    -------
    numpy.ndarray of bool, shape (n_users, k)
        ``True`` where the item is relevant. Padding is never a hit, and an item repeated in a
        list is a hit only at its first position.

    Raises
    ------
    DataError
        Row counts differ, ``recommended`` is not a 2-D integer array, or holds an index
        outside ``[-1, n_items)``; ``relevant`` holds NaN/inf.
    ConfigError
        ``k`` is not a positive int.

    Notes
    -----
    One compiled pass over the users (numba) stamps each user's relevant items, or their
    list when it is the shorter, into a scratch array of ``n_items`` slots and probes it with
    the other: O(nnz + n_users * k) time and O(n_users * k + n_items) memory. Only the first
    k columns of ``recommended`` are read (and validated).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> recommended = np.array([[3, 1, 3], [0, -1, -1]])
    >>> relevant = sp.csr_matrix(np.array([[0, 1, 0, 1], [1, 0, 0, 0]]))
    >>> hits(recommended, relevant, k=4)
    array([[ True,  True, False, False],
           [ True, False, False, False]])
    """
    ks, scalar = _parse_k(k)
    if not scalar:
        raise ConfigError(f"hits takes a single k; got {k!r}")
    user, position, _, rel = _hit_index(recommended, relevant, ks[0])
    out = np.zeros((rel.shape[0], ks[0]), dtype=bool)
    out[user, position] = True
    return out


def precision(recommended: Any, relevant: Any, k: Ks = 10) -> Scores:
    """Precision@k per user: the number of relevant items in the top k, divided by k.

    The denominator is k even when a list is shorter (padding counts as a miss), so a model
    cannot score higher by returning fewer items. Users with no relevant item get 0.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists.
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> recommended = np.array([[3, 1, 2], [0, -1, -1]])
    >>> relevant = sp.csr_matrix(np.array([[0, 1, 0, 1], [1, 0, 1, 0]]))
    >>> precision(recommended, relevant, k=3)
    array([0.66666667, 0.33333333])
    """
    return _run(_precision, recommended, relevant, k)


def recall(recommended: Any, relevant: Any, k: Ks = 10) -> Scores:
    """Recall@k per user: relevant items in the top k, divided by the number of relevant items.

    Users with no relevant item get NaN (undefined); drop them before averaging. When a user
    has more than k relevant items the maximum is k / |relevant| < 1.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists.
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> recommended = np.array([[3, 1, 2], [0, -1, -1]])
    >>> relevant = sp.csr_matrix(np.array([[0, 1, 0, 1], [1, 0, 1, 0]]))
    >>> recall(recommended, relevant, k=[1, 3])
    {1: array([0.5, 0.5]), 3: array([1. , 0.5])}
    """
    return _run(_recall, recommended, relevant, k)


def ndcg(recommended: Any, relevant: Any, k: Ks = 10, gains: str = "binary") -> Scores:
    """Normalised discounted cumulative gain at k, per user.

    DCG@k = sum over hit ranks r <= k of gain(item) / log2(r + 1). The ideal DCG@k puts the
    user's min(|relevant|, k) largest gains at ranks 1, 2, ...; NDCG = DCG / ideal DCG, in
    [0, 1]. Users with no relevant item get NaN.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists.
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items and are their grades.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.
    gains : {"binary", "linear", "exponential"}, default "binary"
        Gain of a relevant item with stored value v: 1, v, or 2**v - 1.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> recommended = np.array([[3, 1, 2], [0, -1, -1]])
    >>> relevant = sp.csr_matrix(np.array([[0, 1, 0, 1], [0, 0, 1, 0]]))
    >>> ndcg(recommended, relevant, k=3)
    array([1., 0.])
    >>> graded = sp.csr_matrix(np.array([[0, 3, 0, 1], [0, 0, 1, 0]]))
    >>> ndcg(recommended, graded, k=3, gains="linear").round(4)  # (1 + 3/log2 3) / (3 + 1/log2 3)
    array([0.7967, 0.    ])
    """
    return _run(_ndcg, recommended, relevant, k, gains)


def average_precision(recommended: Any, relevant: Any, k: Ks = 10) -> Scores:
    """Average precision at k per user (its mean over users is MAP@k).

    AP@k = sum over hit ranks r <= k of precision@r, divided by min(|relevant|, k), so a
    perfect top k scores 1 even when the user has more than k relevant items. Users with no
    relevant item get NaN. Also exported as ``map``.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists.
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> recommended = np.array([[0, 3, 1]])
    >>> relevant = sp.csr_matrix(np.array([[0, 1, 0, 1]]))
    >>> average_precision(recommended, relevant, k=3)  # (1/2 + 2/3) / 2
    array([0.58333333])
    """
    return _run(_average_precision, recommended, relevant, k)


def mrr(recommended: Any, relevant: Any, k: Ks = 10) -> Scores:
    """Reciprocal rank at k per user (its mean over users is MRR@k).

    1 / rank of the first relevant item within the top k, 0 when there is none (also for
    users with no relevant item).

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists.
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> recommended = np.array([[0, 3, 1], [2, 0, 1]])
    >>> relevant = sp.csr_matrix(np.array([[0, 1, 0, 1], [0, 0, 0, 1]]))
    >>> mrr(recommended, relevant, k=3)
    array([0.5, 0. ])
    """
    return _run(_mrr, recommended, relevant, k)


def hit_rate(recommended: Any, relevant: Any, k: Ks = 10) -> Scores:
    """Hit rate at k per user: 1 if any relevant item is in the top k, else 0.

    Users with no relevant item get 0.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists.
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> recommended = np.array([[0, 3, 1], [2, 0, 1]])
    >>> relevant = sp.csr_matrix(np.array([[0, 1, 0, 1], [0, 0, 0, 1]]))
    >>> hit_rate(recommended, relevant, k=3)
    array([1., 0.])
    """
    return _run(_hit_rate, recommended, relevant, k)


# ``map`` is the name users look for; the module itself never calls the builtin.
map = average_precision  # noqa: A001


def compute(
    recommended: Any,
    relevant: Any,
    metrics: Sequence[str] = CORE_METRICS,
    k: Ks = 10,
    gains: str = "binary",
) -> dict[str, Scores]:
    """Several per-user metrics from one hit lookup (the inputs are validated once).

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists.
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items (and are the grades for ``ndcg``).
    metrics : sequence of str, default CORE_METRICS
        Names among "precision", "recall", "ndcg", "map" (or "average_precision"), "mrr",
        "hit_rate".
    k : int or sequence of int, default 10
        Cutoff; with a sequence every metric maps to ``{k: values}``.
    gains : {"binary", "linear", "exponential"}, default "binary"
        Gains for ``ndcg``; the other metrics are binary.

    Returns
    -------
    dict
        ``{name: values}`` in the order of ``metrics``; the values are as returned by the
        metric of that name.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> recommended = np.array([[0, 3, 1]])
    >>> relevant = sp.csr_matrix(np.array([[0, 1, 0, 1]]))
    >>> compute(recommended, relevant, ["precision", "mrr"], k=[1, 2])
    {'precision': {1: array([0.]), 2: array([0.5])}, 'mrr': {1: array([0.]), 2: array([0.5])}}
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    unknown = [name for name in metrics if name not in _KERNELS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {unknown}; available: {sorted(_KERNELS)}")
    ks, scalar = _parse_k(k)
    collected = _collect(recommended, relevant, max(ks), gains)
    # One summary per cutoff, shared by the metrics; only ndcg reads the graded gains.
    per_cutoff = {kk: collected.at(kk) for kk in ks}
    out: dict[str, Scores] = {}
    for name in metrics:
        per_k = {kk: _KERNELS[name](per_cutoff[kk], kk) for kk in ks}
        out[name] = per_k[ks[0]] if scalar else per_k
    return out


def coverage(recommended: Any, n_items: int, k: Ks = 10) -> float | dict[int, float]:
    """Catalog coverage at k: the share of the n_items items that appear in any top-k list.

    Padding (-1) is ignored; an item counts once however many lists hold it.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists.
    n_items : int
        Size of the catalog (the denominator).
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: share}``.

    Returns
    -------
    float in [0, 1], or dict of them keyed by k

    Examples
    --------
    >>> import numpy as np
    >>> coverage(np.array([[0, 1, 2], [1, 0, -1]]), n_items=10, k=2)
    0.2
    """
    if isinstance(n_items, (bool, np.bool_)) or not isinstance(n_items, (int, np.integer)):
        raise ConfigError(f"n_items must be a positive int; got {n_items!r}")
    if n_items < 1:
        raise ConfigError(f"n_items must be >= 1; got {n_items}")
    ks, scalar = _parse_k(k)
    arr = _check_items(_top(_as_recommended(recommended), max(ks)), int(n_items))
    out = {}
    for kk in ks:
        top = arr[:, :kk]
        seen = np.zeros(int(n_items), dtype=bool)
        seen[top[top >= 0]] = True
        out[kk] = float(np.count_nonzero(seen) / n_items)
    return out[ks[0]] if scalar else out


# --------------------------------------------------------------------------- beyond accuracy
#
# Kernels that judge the lists themselves rather than their hits: how popular, novel, varied
# and personal they are. They share the accuracy kernels' conventions (``recommended`` with -1
# padding, only the first k columns read, a sequence of k returns ``{k: values}``) and are
# appended here so that one module still holds every metric.

BEYOND_METRICS = ("novelty", "arp", "diversity")  # the per-user ones evaluate(beyond=True) adds


def _lists(recommended: Any, n_items: int, k: Ks) -> tuple[np.ndarray, tuple[int, ...], bool]:
    """Validated top-max(k) columns (padded with -1), the k values, and whether k was scalar."""
    ks, scalar = _parse_k(k)
    top = _check_items(_top(_as_recommended(recommended), max(ks)), n_items)
    return top, ks, scalar


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be a positive int; got {value!r}")
    if value < 1:
        raise ConfigError(f"{name} must be >= 1; got {value}")
    return int(value)


def _popularity_counts(popularity: Any, n_users: int | None) -> tuple[np.ndarray, int | None]:
    """Users per item and the number of users, from a train matrix or a 1-D count array."""
    if sp.issparse(popularity):
        train = popularity.tocsr()
        # A user "interacted" with an item when the stored value is positive (as for relevance).
        positive = train.data > 0
        counts = np.bincount(train.indices[positive], minlength=train.shape[1])
        return counts.astype(np.float64), train.shape[0] if n_users is None else n_users
    counts = np.asarray(popularity, dtype=np.float64)
    if counts.ndim != 1:
        raise DataError(
            "popularity must be the train matrix (users x items) or a 1-D array of users per "
            f"item; got shape {counts.shape}"
        )
    if counts.size and (not np.isfinite(counts).all() or counts.min() < 0):
        raise DataError("popularity counts must be finite and >= 0")
    return counts, n_users


def _mean_over_lists(top: np.ndarray, value: np.ndarray, ks: tuple[int, ...]) -> dict:
    """Per user, the mean of ``value[item]`` over the listed (non-padding) items of the top k;
    NaN for an empty list."""
    # value gets one extra slot that padding (-1) reads: it indexes the last element.
    table = np.append(value, 0.0)
    valid = np.cumsum(top >= 0, axis=1)
    total = np.cumsum(table[top], axis=1)
    return {kk: _divide(total[:, kk - 1], valid[:, kk - 1].astype(np.float64)) for kk in ks}


def novelty(
    recommended: Any, popularity: Any, k: Ks = 10, n_users: int | None = None
) -> Scores:
    """Novelty at k per user: mean self-information of the recommended items.

    The self-information of item i is ``-log2(p_i)`` with ``p_i`` the share of training users
    who interacted with it (Zhou et al., 2010): a list of blockbusters scores near 0, a list of
    niche items near ``log2(n_users)``. Items no training user interacted with count as seen
    once (``p_i = 1 / n_users``) so that the value stays finite.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists (padding is skipped).
    popularity : scipy.sparse matrix (train users x items), or 1-D array of users per item
        The training interactions (stored values > 0 count) or the counts themselves.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.
    n_users : int, optional
        Number of training users; required when ``popularity`` is a count array, taken from
        the matrix otherwise.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k
        NaN for a user whose top k holds no item. A repeated item counts every time it is
        listed (it is shown every time).

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([8, 2, 1, 0])  # users per item, out of 8 training users
    >>> novelty(np.array([[0, 1], [2, 3]]), counts, k=2, n_users=8)  # (0 + 2) / 2, (3 + 3) / 2
    array([1., 3.])
    """
    counts, total_users = _popularity_counts(popularity, n_users)
    if total_users is None:
        raise ConfigError("novelty needs n_users when popularity is an array of counts")
    total_users = _positive_int("n_users", total_users)
    top, ks, scalar = _lists(recommended, counts.size, k)
    information = np.log2(total_users) - np.log2(np.maximum(counts, 1.0))
    out = _mean_over_lists(top, information, ks)
    return out[ks[0]] if scalar else out


def average_recommended_popularity(recommended: Any, popularity: Any, k: Ks = 10) -> Scores:
    """Average recommended popularity (ARP) at k per user: the mean number of training users
    who interacted with each recommended item (Abdollahpouri et al., 2019).

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists (padding is skipped).
    popularity : scipy.sparse matrix (train users x items), or 1-D array of users per item
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k
        NaN for a user whose top k holds no item.

    Examples
    --------
    >>> import numpy as np
    >>> average_recommended_popularity(np.array([[0, 1], [2, -1]]), np.array([8, 2, 1]), k=2)
    array([5., 1.])
    """
    counts, _ = _popularity_counts(popularity, None)
    top, ks, scalar = _lists(recommended, counts.size, k)
    out = _mean_over_lists(top, counts, ks)
    return out[ks[0]] if scalar else out


def _unit_rows(vectors: Any) -> tuple[sp.csr_matrix | np.ndarray, np.ndarray]:
    """Rows scaled to unit L2 norm (zero rows stay zero), and which rows are non-zero."""
    matrix = getattr(vectors, "matrix", vectors)  # a recsys Features object
    if sp.issparse(matrix):
        matrix = sp.csr_matrix(matrix, dtype=np.float64)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    else:
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2:
            raise DataError(
                f"item_vectors must be a 2-D (n_items, n_features) matrix; got {matrix.shape}"
            )
        norms = np.linalg.norm(matrix, axis=1)
    if not np.isfinite(norms).all():
        row = int(np.flatnonzero(~np.isfinite(norms))[0])
        raise DataError(f"item_vectors row {row} holds NaN or inf")
    nonzero = norms > 0
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=nonzero)
    if sp.issparse(matrix):
        return sp.diags(scale) @ matrix, nonzero
    return matrix * scale[:, None], nonzero


def _indicator(top: np.ndarray, n_items: int) -> sp.csr_matrix:
    """(n_users, n_items) matrix counting how often each item is listed in each row."""
    valid = top >= 0
    rows = np.broadcast_to(np.arange(top.shape[0])[:, None], top.shape)[valid]
    out = sp.csr_matrix(
        (np.ones(rows.size), (rows, top[valid])), shape=(top.shape[0], n_items)
    )
    out.sum_duplicates()
    return out


def intra_list_diversity(recommended: Any, item_vectors: Any, k: Ks = 10) -> Scores:
    """Intra-list diversity at k per user: 1 - mean pairwise cosine similarity of the listed
    items (Ziegler et al., 2005), from item features or item embeddings.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists (padding is skipped).
    item_vectors : array or scipy.sparse matrix, shape (n_items, n_features), or Features
        One row per item: one-hot features, TF-IDF, learned factors, or the item columns of
        the training matrix. Rows are L2-normalised here.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: values}``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,), or dict of them keyed by k
        In [0, 1] for non-negative vectors (up to 2 for embeddings with negative cosines).
        NaN for a user with fewer than two listed items. An item whose vector is all zeros
        has similarity 0 to every item; a repeated item has similarity 1 to its copy.

    Notes
    -----
    No loop over pairs: with unit vectors v, the sum of the similarities of all ordered pairs
    of a list is ``||sum v||^2 - sum ||v||^2``, so one sparse product (lists x items) @
    (items x features) gives every user's value in O(n_users * k * n_features) time.

    Examples
    --------
    >>> import numpy as np
    >>> vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # items 0 and 1 alike
    >>> intra_list_diversity(np.array([[0, 1], [0, 2], [0, 1]]), vectors, k=[2])
    {2: array([0., 1., 0.])}
    >>> intra_list_diversity(np.array([[0, 1, 2]]), vectors, k=3)  # pairs 1, 0, 0 -> 1 - 1/3
    array([0.66666667])
    """
    unit, nonzero = _unit_rows(item_vectors)
    top, ks, scalar = _lists(recommended, unit.shape[0], k)
    out = {}
    for kk in ks:
        lists = _indicator(top[:, :kk], unit.shape[0])
        summed = lists @ unit
        if sp.issparse(summed):
            squared = np.asarray(summed.multiply(summed).sum(axis=1)).ravel()
        else:
            squared = np.einsum("ij,ij->i", summed, summed)
        self_similarity = lists @ nonzero.astype(np.float64)  # ||v||^2 is 1 or 0
        n_listed = np.count_nonzero(top[:, :kk] >= 0, axis=1).astype(np.float64)
        pairs = n_listed * (n_listed - 1.0)
        out[kk] = 1.0 - _divide(squared - self_similarity, pairs)
    return out[ks[0]] if scalar else out


# The share of the catalog that appears in any list: what the literature calls catalog coverage.
catalog_coverage = coverage


def _exposure(top: np.ndarray, n_items: int) -> np.ndarray:
    return np.bincount(top[top >= 0], minlength=n_items).astype(np.float64)


def gini_index(recommended: Any, n_items: int, k: Ks = 10) -> float | dict[int, float]:
    """Gini index of item exposure at k: how unequally the top-k slots are spread over the
    catalog (0: every item listed equally often; towards 1: a few items take every slot).

    With ``x_1 <= ... <= x_n`` the number of top-k lists holding each of the ``n_items``
    items (never-listed items count with 0), ``G = sum_i (2i - n - 1) x_i / (n sum_i x_i)``.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists (padding is skipped).
    n_items : int
        Size of the catalog.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: value}``.

    Returns
    -------
    float in [0, 1 - 1/n_items], or dict of them keyed by k
        NaN when no item is listed at all.

    Examples
    --------
    >>> import numpy as np
    >>> gini_index(np.array([[0, 1], [1, 0]]), n_items=2, k=2)  # equal exposure
    0.0
    >>> gini_index(np.array([[0], [0]]), n_items=4, k=1)  # one item takes every slot
    0.75
    """
    n_items = _positive_int("n_items", n_items)
    top, ks, scalar = _lists(recommended, n_items, k)
    weight = 2.0 * np.arange(1, n_items + 1) - n_items - 1.0
    out = {}
    for kk in ks:
        exposure = np.sort(_exposure(top[:, :kk], n_items))
        total = exposure.sum()
        out[kk] = float(weight @ exposure / (n_items * total)) if total > 0 else float("nan")
    return out[ks[0]] if scalar else out


def personalization(
    recommended: Any, k: Ks = 10, per_user: bool = False
) -> float | np.ndarray | dict:
    """Personalization at k: 1 - mean overlap between the top-k lists of two different users.

    The overlap of two lists is the cosine similarity of their item sets,
    ``|a & b| / sqrt(|a| |b|)`` (``|a & b| / k`` for full lists). 0 means every user gets the
    same list, 1 that no two users share an item.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Item indices, best first; -1 pads short lists. Users with an empty list are left out;
        an item repeated in a list counts once.
    k : int or sequence of int, default 10
        Cutoff; a sequence returns ``{k: value}``.
    per_user : bool, default False
        Return each user's 1 - mean overlap with every other user instead of the mean over
        users (the overall value is the mean of the per-user ones; NaN for empty lists).

    Returns
    -------
    float, or numpy.ndarray (per_user), or dict of them keyed by k
        NaN with fewer than two non-empty lists.

    Notes
    -----
    No user x user matrix is formed and no users are sampled: with each list a unit vector
    ``r_u`` over items, the sum of all pairwise overlaps is ``||sum_u r_u||^2 - n_users``, so
    the exact value costs O(n_users * k) time and O(n_items) extra memory.

    Examples
    --------
    >>> import numpy as np
    >>> personalization(np.array([[0, 1], [0, 1], [0, 1]]), k=2)  # identical lists
    0.0
    >>> personalization(np.array([[0, 1], [0, 2], [3, 4]]), k=2)  # overlaps 1/2, 0, 0
    0.8333333333333334
    """
    top, ks, scalar = _lists(recommended, np.iinfo(np.int64).max, k)
    n_items = int(top.max()) + 1 if top.size else 0
    out: dict = {}
    for kk in ks:
        # Order inside a list does not matter for overlap: sort to blank out repeated items.
        lists = np.sort(top[:, :kk], axis=1)
        if kk > 1:
            repeated = lists[:, 1:] == lists[:, :-1]
            lists[:, 1:][repeated] = -1
        size = np.count_nonzero(lists >= 0, axis=1)
        active = size > 0
        n_active = int(active.sum())
        if n_active < 2:
            out[kk] = np.full(top.shape[0], np.nan) if per_user else float("nan")
            continue
        # Group the users by list size s: within a group the overlaps are integer counts,
        # so identical lists give exactly 0 rather than a rounding residue of 1/sqrt(s).
        sizes, group = np.unique(size[active], return_inverse=True)
        valid = lists[active] >= 0
        rows = np.broadcast_to(group[:, None], valid.shape)[valid]
        counts = np.bincount(rows * n_items + lists[active][valid],
                             minlength=len(sizes) * n_items).reshape(len(sizes), n_items)
        counts = counts.astype(np.float64)
        norm = np.sqrt(np.outer(sizes, sizes).astype(np.float64))
        if per_user:
            # Overlap of user u with every user (itself included: 1), summed per size group.
            dot = np.zeros(top.shape[0])
            for g, s in enumerate(sizes):
                column = np.append(counts[g], 0.0)  # padding (-1) reads the last slot
                dot += column[lists].sum(axis=1) / np.sqrt(np.maximum(size, 1) * float(s))
            out[kk] = np.where(active, 1.0 - (dot - 1.0) / (n_active - 1), np.nan)
        else:
            total = float(((counts @ counts.T) / norm).sum())
            out[kk] = float(1.0 - (total - n_active) / (n_active * (n_active - 1.0)))
    return out[ks[0]] if scalar else out


def full_ranking(scores: Any, exclude: Any = None) -> np.ndarray:
    """Turn dense scores into full rankings for :func:`auc`: every item, best first.

    Parameters
    ----------
    scores : array of float, shape (n_users, n_items)
        Finite scores; higher is better. Ties are broken by item index (lower first), as
        ``Recommender.recommend`` does.
    exclude : scipy.sparse matrix, shape (n_users, n_items), optional
        Items that are not candidates for a user (usually the training items): every stored
        entry is moved out of the ranking and becomes -1 padding at the end of the row.

    Returns
    -------
    numpy.ndarray of int64, shape (n_users, n_items)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> full_ranking(np.array([[0.1, 0.9, 0.5]]), exclude=sp.csr_matrix([[0, 0, 1]]))
    array([[ 1,  0, -1]])
    """
    values = np.array(scores, dtype=np.float64)  # a copy: excluded cells are overwritten
    if values.ndim != 2:
        raise DataError(f"scores must be a 2-D (n_users, n_items) array; got {values.shape}")
    if not np.isfinite(values).all():
        row, col = np.argwhere(~np.isfinite(values))[0]
        raise DataError(f"scores[{row}, {col}] = {values[row, col]}: scores must be finite")
    n_excluded = np.zeros(values.shape[0], dtype=np.int64)
    if exclude is not None:
        mask = sp.csr_matrix(exclude)
        if mask.shape != values.shape:
            raise DataError(f"exclude has shape {mask.shape}, scores {values.shape}")
        mask.eliminate_zeros()
        mask.sum_duplicates()
        rows = np.repeat(np.arange(mask.shape[0]), np.diff(mask.indptr))
        values[rows, mask.indices] = -np.inf  # after negation: sorts last
        n_excluded = np.diff(mask.indptr).astype(np.int64)
    order = np.argsort(-values, axis=1, kind="stable")
    order[np.arange(values.shape[1])[None, :] >= values.shape[1] - n_excluded[:, None]] = -1
    return order


def auc(recommended: Any, relevant: Any, missing: str = "worst") -> np.ndarray:
    """Area under the ROC curve per user, from full rankings (no cutoff).

    The probability that a relevant item is ranked above a non-relevant one, over all pairs
    of one relevant and one non-relevant candidate. The candidates of a user are the items in
    their row of ``recommended``, which must rank the whole catalog minus what the user may
    not be recommended (their training items): see :func:`full_ranking`, or
    ``model.recommend(users, k=model.n_items)``. A top-k list is not enough: AUC over a
    truncated or sampled ranking is a different (and misleading) number.

    Parameters
    ----------
    recommended : array of int, shape (n_users, list_length)
        Full rankings, best first; -1 marks the items left out (anywhere in the row).
    relevant : scipy.sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items.
    missing : {"worst", "ignore"}, default "worst"
        Relevant items absent from a user's ranking (the model could not rank them): counted
        as ranked below every candidate, or left out of the computation.

    Returns
    -------
    numpy.ndarray of float64, shape (n_users,)
        NaN for a user without a relevant item or without a non-relevant candidate.

    Raises
    ------
    DataError
        An item is listed twice in one row (a ranking lists each candidate once), or the
        inputs are malformed as for the other kernels.

    Notes
    -----
    With ``q`` the position of a relevant item among the listed items and ``j`` the number
    of relevant items above it, ``q - j`` non-relevant items outrank it; the per-user sum is
    the Mann-Whitney U statistic. O(n_users * list_length) after the shared hit lookup.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> ranking = np.array([[2, 0, 3, 1], [0, 2, 1, -1]])
    >>> relevant = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 1, 1]]))
    >>> auc(ranking, relevant)  # user 1: item 2 beats 1 of 2 negatives, item 3 is missing
    array([1.  , 0.25])
    >>> auc(ranking, relevant, missing="ignore")
    array([1. , 0.5])
    """
    if missing not in ("worst", "ignore"):
        raise ConfigError(f"missing must be 'worst' or 'ignore'; got {missing!r}")
    arr = _as_recommended(recommended)
    width = arr.shape[1]
    rel = _as_relevant(relevant, arr.shape[0])
    n_users = rel.shape[0]
    if width == 0:
        return np.full(n_users, np.nan)
    top = _check_items(np.ascontiguousarray(arr), rel.shape[1], "the columns of relevant")
    ordered = np.sort(top, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if repeated.any():
        row, col = np.argwhere(repeated)[0]
        raise DataError(
            f"recommended row {row} lists item {ordered[row, col]} twice; auc needs a ranking "
            "of distinct candidates"
        )
    user, position, _, _ = _hit_index(top, rel, width)
    listed = top >= 0
    n_listed = np.count_nonzero(listed, axis=1).astype(np.float64)
    listed_above = np.cumsum(listed, axis=1) - 1  # 0-based place among the listed items
    found = np.bincount(user, minlength=n_users).astype(np.float64)
    nth = np.arange(user.size) - (np.cumsum(found) - found)[user].astype(np.int64)
    negatives = n_listed - found
    below = negatives[user] - (listed_above[user, position] - nth)
    won = np.bincount(user, weights=below, minlength=n_users)
    n_positive = np.diff(rel.indptr).astype(np.float64) if missing == "worst" else found
    return _divide(won, n_positive * negatives)
