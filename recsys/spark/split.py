"""Train/test splitters on Spark with the semantics of :mod:`recsys.split`.

Each takes a :class:`~recsys.spark.SparkInteractions` and returns ``(train, test)`` sharing
its id maps; every event lands in exactly one side. Per user, ``random`` and
``temporal(per_user=True)`` send ``round_half_up(test_size * n_u)`` events to test, capped at
``n_u - 1`` so every test user keeps train history; ``leave_last(n)`` holds out the ``n``
latest events of users with more than ``n``. Temporal orders break equal times by item index
(and, for the global cut, by user index first), as :mod:`recsys.split` does, so on the same
indices (``SparkInteractions.to_local()``) the temporal splits are identical to it.

``random`` orders each user's events by a 64-bit hash of (seed, user, item): the split is a
function of the data and the seed alone, the same however the data is partitioned, but it is
not the same draw as numpy's in :func:`recsys.split.random`.
"""

from __future__ import annotations

from typing import Any

from recsys._checks import check_int
from recsys.errors import DataError
from recsys.spark.interactions import ITEM, TIME, USER, SparkInteractions
from recsys.split import _HALF_TOLERANCE, _check_test_size

__all__ = ["leave_last", "random", "temporal"]


def _need_timestamps(inter: SparkInteractions, splitter: str) -> None:
    if not inter.has_timestamps:
        raise DataError(f"{splitter} needs timestamps, and these interactions have none; build "
                        "them with SparkInteractions.from_spark(..., timestamp=<column>)")


def _per_user_test_count(test_size: float) -> Any:
    from pyspark.sql import functions as F

    count = F.count(F.lit(1)).over(_by_user())
    wanted = F.floor(F.lit(test_size) * count + 0.5 + _HALF_TOLERANCE)
    return F.least(wanted, count - 1)


def _by_user(*order: Any) -> Any:
    from pyspark.sql import Window

    window = Window.partitionBy(USER)
    return window.orderBy(*order) if order else window


def _split(inter: SparkInteractions, marked: Any) -> tuple[SparkInteractions, SparkInteractions]:
    from pyspark.sql import functions as F

    columns = inter.events.columns
    marked = marked.cache()
    train = marked.filter(~F.col("_test")).select(*columns)
    test = marked.filter(F.col("_test")).select(*columns)
    return inter.with_events(train), inter.with_events(test)


def random(inter: SparkInteractions, test_size: float = 0.2, seed: int = 42,
           ) -> tuple[SparkInteractions, SparkInteractions]:
    """Per-user random split: ``round_half_up(test_size * n_u)`` events of each user to test.

    Parameters
    ----------
    inter : SparkInteractions
    test_size : float
        Share of each user's events sent to test, strictly between 0 and 1.
    seed : int
        The same seed gives the same split, on any partitioning.

    Returns
    -------
    train, test : SparkInteractions

    Examples
    --------
    >>> from recsys.spark import split                        # doctest: +SKIP
    >>> train, test = split.random(inter, test_size=0.2, seed=42)  # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    test_size = _check_test_size(test_size)
    seed = check_int("seed", seed, minimum=0)
    key = F.xxhash64(F.lit(seed), F.col(USER), F.col(ITEM))
    rank = F.row_number().over(_by_user(key, F.col(ITEM))) - 1
    marked = inter.events.withColumn("_test", rank < _per_user_test_count(test_size))
    return _split(inter, marked)


def temporal(inter: SparkInteractions, test_size: float = 0.1, per_user: bool = True,
             ) -> tuple[SparkInteractions, SparkInteractions]:
    """Temporal split: the latest events go to test (see :func:`recsys.split.temporal`).

    ``per_user=True``: each user's latest ``round_half_up(test_size * n_u)`` events (capped at
    ``n_u - 1``), ordered by (timestamp, item index). ``per_user=False``: one global cut, the
    ``round_half_up(test_size * nnz)`` latest events overall by (timestamp, user index, item
    index), numbered by a distributed sort.

    Examples
    --------
    >>> train, test = split.temporal(inter, test_size=0.1)   # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    test_size = _check_test_size(test_size)
    _need_timestamps(inter, "temporal split")
    events = inter.events
    if per_user:
        newest_first = F.row_number().over(_by_user(F.col(TIME).desc(), F.col(ITEM).desc()))
        marked = events.withColumn("_test", newest_first <= _per_user_test_count(test_size))
        return _split(inter, marked)
    total = events.count()
    n_test = int(test_size * total + 0.5 + _HALF_TOLERANCE)
    ordered = events.orderBy(TIME, USER, ITEM)
    numbered = ordered.rdd.zipWithIndex().map(
        lambda pair: (*pair[0], pair[1] >= total - n_test))
    marked = numbered.toDF(events.columns + ["_test"])
    return _split(inter, marked)


def leave_last(inter: SparkInteractions, n: int = 1,
               ) -> tuple[SparkInteractions, SparkInteractions]:
    """Leave-last-n: each user's ``n`` latest events (by timestamp, ties by item index) go to
    test; users with ``n`` or fewer events stay entirely in train.

    Examples
    --------
    >>> train, test = split.leave_last(inter, n=1)             # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    n = check_int("n", n, minimum=1)
    _need_timestamps(inter, "leave_last")
    newest_first = F.row_number().over(_by_user(F.col(TIME).desc(), F.col(ITEM).desc()))
    count = F.count(F.lit(1)).over(_by_user())
    marked = inter.events.withColumn("_test", (count > n) & (newest_first <= n))
    return _split(inter, marked)
