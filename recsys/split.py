"""Train/test splitters: random per user, temporal (per user or a global cut), leave-last-n, k-fold.

Every splitter takes an :class:`~recsys.data.interactions.Interactions` and returns
``(train, test)`` as two ``Interactions`` built with :meth:`Interactions.select`, so:

* both share the input's ``users`` and ``items`` :class:`~recsys.data.ids.IdIndex` (same
  object), hence their matrices have the input's shape and align row for row, column for
  column;
* every stored entry of the input lands in exactly one of them: ``train`` and ``test`` never
  share a (user, item) entry, and their union is the input (weights and timestamps included);
* each side's ``report`` ends with a line saying which split made it and with what arguments.

Policies
--------
Sizes per user
    ``random`` and ``temporal(per_user=True)`` send ``round_half_up(test_size * n_u)`` of the
    ``n_u`` entries of user ``u`` to test, where ``round_half_up(x) = floor(x + 0.5)`` (so 2.5
    rounds to 3, unlike numpy's round-half-to-even); a tiny tolerance (``1e-9``) absorbs
    floating-point error at exact halves, so ``0.15 * 10`` gives 2 whatever its binary value.
Users without train history
    The per-user splitters (``random``, ``temporal(per_user=True)``, ``leave_last``, ``kfold``)
    never take a user's last remaining entry: the test count of a user is capped at
    ``n_u - 1``. Users with a single interaction therefore stay entirely in train, and every
    user present in test has at least one train entry. A global time cut
    (``temporal(per_user=False)``) cannot promise this: users whose events all come after the
    cut appear only in test (cold-start users); :func:`drop_cold` removes them if wanted.
Items unseen in train
    They stay in the shared item index (the matrices keep their columns, which are simply
    empty in train): a model fitted on train has never seen them and can only score them
    through side features. Callers who want a warm-item evaluation restrict test with
    :func:`drop_cold` (``items=True``).
Ties
    Temporal orderings sort by timestamp, then by item index (the column of the shared item
    index), and for the global cut also by user index, so equal timestamps are broken the same
    way on every run. "Latest" means last in that order.
Randomness
    ``random`` and ``kfold`` draw from ``numpy.random.default_rng(seed)``; the same input and
    seed give the same split on any machine.

Examples
--------
>>> import recsys as rs
>>> inter = rs.Interactions.from_arrays(
...     ["a"] * 5 + ["b"] * 2 + ["c"], list("vwxyz") + list("vw") + ["v"],
...     timestamps=[1, 2, 3, 4, 5, 1, 2, 9])
>>> train, test = rs.split.random(inter, test_size=0.2, seed=0)
>>> train.nnz, test.nnz          # a: 1 of 5, b: round(0.4) = 0, c: single interaction
(7, 1)
>>> train, test = rs.split.leave_last(inter, n=1)
>>> sorted(zip(test.to_pandas()["user"], test.to_pandas()["item"]))
[('a', 'z'), ('b', 'w')]
"""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Real
from typing import Any

import numpy as np

from recsys._checks import check_int
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError, DataError

__all__ = ["drop_cold", "kfold", "leave_last", "random", "temporal"]

_HALF_TOLERANCE = 1e-9


def _check_test_size(test_size: Any) -> float:
    ok = isinstance(test_size, Real) and not isinstance(test_size, bool)
    if not ok or not 0.0 < float(test_size) < 1.0:
        raise ConfigError(f"test_size must be a number strictly between 0 and 1, got {test_size!r}")
    return float(test_size)


def _check_inter(inter: Any) -> Interactions:
    if not isinstance(inter, Interactions):
        raise ConfigError(f"expected an Interactions object, got {type(inter).__name__}")
    return inter


def _need_timestamps(inter: Interactions, splitter: str) -> np.ndarray:
    if inter.timestamps is None:
        raise DataError(
            f"{splitter} needs timestamps, and these interactions have none; build them with "
            "Interactions.from_pandas(..., timestamp=<column>)"
        )
    return inter.timestamps


def _round_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5 + _HALF_TOLERANCE).astype(np.int64)


def _user_counts(inter: Interactions) -> np.ndarray:
    return np.diff(inter.matrix.indptr).astype(np.int64)


def _per_user_test_counts(counts: np.ndarray, test_size: float) -> np.ndarray:
    """round_half_up(test_size * n_u), capped at n_u - 1 (users keep one train entry)."""
    return np.minimum(_round_half_up(test_size * counts), np.maximum(counts - 1, 0))


def _rank_within_user(inter: Interactions, order: np.ndarray) -> np.ndarray:
    """Given ``order`` (a permutation of the entries grouping each user's entries together
    in user order, as CSR does), the rank of every entry inside its user, in entry order."""
    indptr = inter.matrix.indptr
    rows = np.repeat(np.arange(inter.n_users, dtype=np.int64), np.diff(indptr))
    ranks = np.empty(inter.nnz, dtype=np.int64)
    ranks[order] = np.arange(inter.nnz, dtype=np.int64) - indptr[rows]
    return ranks


def _temporal_ranks(inter: Interactions, times: np.ndarray) -> np.ndarray:
    """Rank of each entry inside its user by (timestamp, item index), oldest first."""
    rows, cols, _ = inter.entries()
    order = np.lexsort((cols, times, rows))
    return _rank_within_user(inter, order)


def _split(
    inter: Interactions, test_mask: np.ndarray, how: str
) -> tuple[Interactions, Interactions]:
    train = inter.select(~test_mask, step="split:train", reason=how)
    test = inter.select(test_mask, step="split:test", reason=how)
    return train, test


def random(
    inter: Interactions, test_size: float = 0.2, seed: int | None = 42
) -> tuple[Interactions, Interactions]:
    """Per-user random split: each user gives ``round_half_up(test_size * n_u)`` entries to test.

    The count is capped at ``n_u - 1``, so users with a single interaction stay entirely in
    train and every test user has train history (see the module docstring for the policies).
    Vectorized: one random key per entry, one ``lexsort`` by (user, key), no loop over users.

    Parameters
    ----------
    inter : Interactions
    test_size : float
        Share of each user's entries sent to test, strictly between 0 and 1.
    seed : int or None
        Seed of ``numpy.random.default_rng``; the same seed gives the same split.

    Returns
    -------
    train, test : Interactions
        Disjoint, union equal to ``inter``, sharing its id indices.

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.Interactions.from_arrays(["u"] * 10 + ["v"] * 3, list(range(10)) + [0, 1, 2])
    >>> train, test = rs.split.random(inter, test_size=0.25, seed=1)
    >>> test.matrix.getnnz(axis=1).tolist()   # u: round(2.5) = 3, v: round(0.75) = 1
    [3, 1]
    >>> train.matrix.shape == test.matrix.shape == inter.matrix.shape
    True
    """
    inter = _check_inter(inter)
    test_size = _check_test_size(test_size)
    counts = _user_counts(inter)
    n_test = _per_user_test_counts(counts, test_size)
    rng = np.random.default_rng(seed)
    keys = rng.random(inter.nnz)
    rows = np.repeat(np.arange(inter.n_users, dtype=np.int64), counts)
    ranks = _rank_within_user(inter, np.lexsort((keys, rows)))
    test_mask = ranks < n_test[rows]
    return _split(inter, test_mask, f"random per user, test_size={test_size}, seed={seed}")


def temporal(
    inter: Interactions, test_size: float = 0.1, per_user: bool = True
) -> tuple[Interactions, Interactions]:
    """Temporal split: the latest events go to test.

    Parameters
    ----------
    inter : Interactions
        Must carry timestamps (``Interactions.from_pandas(..., timestamp=...)``).
    test_size : float
        Share sent to test, strictly between 0 and 1.
    per_user : bool
        ``True``: each user's latest ``round_half_up(test_size * n_u)`` entries (capped at
        ``n_u - 1``) go to test, so within a user every test entry is at least as recent as
        every train entry. ``False``: one global cut at the ``1 - test_size`` quantile of time:
        the ``round_half_up(test_size * nnz)`` latest entries overall go to test, ordered by
        (timestamp, user index, item index); every test entry is then at least as recent as
        every train entry, and users or items first seen after the cut are only in test.

    Returns
    -------
    train, test : Interactions

    Raises
    ------
    recsys.errors.DataError
        The interactions carry no timestamps.

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.Interactions.from_arrays(
    ...     ["a", "a", "a", "b", "b"], ["x", "y", "z", "x", "y"], timestamps=[3, 1, 2, 5, 4])
    >>> train, test = rs.split.temporal(inter, test_size=0.4)
    >>> test.to_pandas()[["user", "item"]].values.tolist()    # a: round(1.2) = 1, b: 1
    [['a', 'x'], ['b', 'x']]
    >>> train, test = rs.split.temporal(inter, test_size=0.4, per_user=False)
    >>> test.to_pandas()["timestamp"].tolist()                # the 2 latest events overall
    [5, 4]
    """
    inter = _check_inter(inter)
    test_size = _check_test_size(test_size)
    times = _need_timestamps(inter, "temporal split")
    if per_user:
        counts = _user_counts(inter)
        n_test = _per_user_test_counts(counts, test_size)
        rows = np.repeat(np.arange(inter.n_users, dtype=np.int64), counts)
        ranks = _temporal_ranks(inter, times)
        test_mask = ranks >= (counts - n_test)[rows]
        how = f"temporal per user, test_size={test_size}"
    else:
        rows, cols, _ = inter.entries()
        n_total = int(_round_half_up(np.array(test_size * inter.nnz)))
        order = np.lexsort((cols, rows, times))
        test_mask = np.zeros(inter.nnz, dtype=bool)
        test_mask[order[inter.nnz - n_total:]] = True
        cut = times[order[inter.nnz - n_total]] if n_total else None
        how = f"temporal global cut, test_size={test_size}, cut at timestamp {cut}"
    return _split(inter, test_mask, how)


def leave_last(inter: Interactions, n: int = 1) -> tuple[Interactions, Interactions]:
    """Leave-last-n: each user's ``n`` latest entries (by timestamp, ties by item index) go to
    test; users with ``n`` or fewer interactions stay entirely in train.

    Parameters
    ----------
    inter : Interactions
        Must carry timestamps.
    n : int
        Entries per user held out, at least 1.

    Returns
    -------
    train, test : Interactions

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.Interactions.from_arrays(
    ...     ["a", "a", "a", "b"], ["x", "y", "z", "x"], timestamps=[3, 1, 2, 7])
    >>> train, test = rs.split.leave_last(inter, n=2)
    >>> sorted(test.to_pandas()["item"]), train.to_pandas()["item"].tolist()
    (['x', 'z'], ['y', 'x'])
    """
    inter = _check_inter(inter)
    n = check_int("n", n, minimum=1)
    times = _need_timestamps(inter, "leave_last")
    counts = _user_counts(inter)
    n_test = np.where(counts > n, n, 0)
    rows = np.repeat(np.arange(inter.n_users, dtype=np.int64), counts)
    ranks = _temporal_ranks(inter, times)
    test_mask = ranks >= (counts - n_test)[rows]
    return _split(inter, test_mask, f"leave last {n} per user")


def kfold(
    inter: Interactions, n_folds: int = 5, seed: int | None = 42
) -> Iterator[tuple[Interactions, Interactions]]:
    """Per-user k-fold cross-validation: yields ``n_folds`` ``(train, test)`` pairs.

    Each user's entries are shuffled and dealt to the folds in turn, starting at a random fold
    per user, so every user's entries spread evenly (fold sizes of a user differ by at most
    one) and fold sizes overall balance. Every entry of a user with at least 2 interactions is
    in exactly one test fold; users with a single interaction stay in train in every fold, so
    every test user has train history. Each pair is disjoint and its union is ``inter``.

    Parameters
    ----------
    inter : Interactions
    n_folds : int
        Number of folds, at least 2.
    seed : int or None
        Seed of ``numpy.random.default_rng``.

    Yields
    ------
    train, test : Interactions

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.Interactions.from_arrays(["u"] * 6 + ["v"], list(range(6)) + [0])
    >>> [test.nnz for _, test in rs.split.kfold(inter, n_folds=3, seed=0)]
    [2, 2, 2]
    """
    inter = _check_inter(inter)
    n_folds = check_int("n_folds", n_folds, minimum=2)
    counts = _user_counts(inter)
    rng = np.random.default_rng(seed)
    keys = rng.random(inter.nnz)
    offsets = rng.integers(0, n_folds, size=inter.n_users)
    rows = np.repeat(np.arange(inter.n_users, dtype=np.int64), counts)
    ranks = _rank_within_user(inter, np.lexsort((keys, rows)))
    folds = (ranks + offsets[rows]) % n_folds
    folds[counts[rows] < 2] = -1
    for fold in range(n_folds):
        yield _split(inter, folds == fold,
                     f"kfold per user, fold {fold + 1} of {n_folds}, seed={seed}")


def drop_cold(
    test: Interactions, train: Interactions, users: bool = True, items: bool = True
) -> Interactions:
    """Restrict ``test`` to entries whose user (and/or item) has at least one entry in ``train``.

    Parameters
    ----------
    test, train : Interactions
        A pair made by a splitter of this module (they share their id indices).
    users, items : bool
        Drop test entries of users / items without train history.

    Returns
    -------
    Interactions
        ``test`` with the cold entries removed; the report says how many.

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.Interactions.from_arrays(["a", "a", "b"], ["x", "y", "y"], timestamps=[1, 2, 3])
    >>> train, test = rs.split.temporal(inter, test_size=0.34, per_user=False)
    >>> test.nnz, drop_cold(test, train).nnz     # b's only event is after the cut
    (1, 0)
    """
    if not (test.users is train.users or test.users == train.users) or not (
        test.items is train.items or test.items == train.items
    ):
        raise DataError("drop_cold needs a train/test pair sharing their id indices")
    rows, cols, _ = test.entries()
    keep = np.ones(test.nnz, dtype=bool)
    if users:
        keep &= (np.diff(train.matrix.indptr) > 0)[rows]
    if items:
        keep &= (np.bincount(train.matrix.indices, minlength=train.n_items) > 0)[cols]
    what = " and ".join(w for w, on in (("users", users), ("items", items)) if on) or "nothing"
    return test.select(keep, step="drop_cold",
                       reason=f"test entries of {what} without train history removed")
