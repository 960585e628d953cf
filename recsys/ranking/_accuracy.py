"""Accuracy kernels: precision, recall, ndcg, map, mrr, hit rate and catalog coverage.

The definitions are in :mod:`recsys.evaluation.metrics`; every kernel returns one value per
user from the hit list of :mod:`recsys.ranking._hits`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np

from recsys.errors import ConfigError
from recsys.ranking._hits import _collect, _discount, _hit_index, _Hits
from recsys.ranking._metric_input import (
    Ks,
    Scores,
    _as_recommended,
    _check_items,
    _divide,
    _parse_k,
    _top,
)

CORE_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate")


def _precision(h: _Hits, k: int) -> np.ndarray:
    return h.sums[0] / k


def _recall(h: _Hits, k: int) -> np.ndarray:
    return _divide(h.sums[0], h.n_relevant)


def _ndcg(h: _Hits, k: int) -> np.ndarray:
    discount = _discount(np.arange(1, k + 1))
    if h.ideal is None:
        # Binary gains: the ideal list is min(|relevant|, k) hits at ranks 1, 2, ...
        best = np.concatenate([[0.0], np.cumsum(discount)])
        ideal = best[np.minimum(h.n_relevant, k)]
    else:
        ideal = np.bincount(
            h.ideal.user, weights=h.ideal.gain * discount[h.ideal.rank - 1], minlength=h.n_users
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


@overload
def compute(
    recommended: Any,
    relevant: Any,
    metrics: Sequence[str] = ...,
    k: int = ...,
    gains: str = ...,
) -> dict[str, np.ndarray]: ...


@overload
def compute(
    recommended: Any,
    relevant: Any,
    metrics: Sequence[str],
    k: Sequence[int],
    gains: str = ...,
) -> dict[str, dict[int, np.ndarray]]: ...


@overload  # a sequence k by keyword, metrics left out
def compute(
    recommended: Any,
    relevant: Any,
    metrics: Sequence[str] = ...,
    *,
    k: Sequence[int],
    gains: str = ...,
) -> dict[str, dict[int, np.ndarray]]: ...


def compute(
    recommended: Any,
    relevant: Any,
    metrics: Sequence[str] = CORE_METRICS,
    k: Ks = 10,
    gains: str = "binary",
) -> dict[str, Any]:  # the overloads above give the value types
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

