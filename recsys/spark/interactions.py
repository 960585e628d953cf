"""Interactions held in Spark: integer-indexed events plus the two id maps."""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_choice
from recsys.data.ids import IdIndex
from recsys.data.interactions import DUPLICATE_POLICIES, Interactions
from recsys.errors import ColumnError, DataError

# Column names of the indexed events and of the id maps.
USER, ITEM, WEIGHT, TIME = "user_idx", "item_idx", "weight", "timestamp"
ID, IDX = "id", "idx"
_ROW = "_row"  # input order, for the "first" / "last" duplicate policies


def _sample(frame: Any, condition: Any) -> dict:
    """The first input row matching ``condition``, as a dict for error messages."""
    rows = frame.filter(condition).limit(1).collect()
    return rows[0].asDict() if rows else {}


def index_ids(column: Any) -> Any:
    """DataFrame (id, idx) of the distinct values of a one-column DataFrame, numbered
    0..n-1 in sorted order, and materialized (so the numbering is computed once).

    The numbering is ``zipWithIndex`` done in the JVM: a range-partitioned sort, the row
    counts of the partitions (a few numbers to the driver), then each row's offset in its
    partition (the low 33 bits of ``monotonically_increasing_id``) plus its partition's
    start. No single partition ever holds every id, and no Python worker is involved.
    """
    from pyspark.sql import functions as F

    name = column.columns[0]
    ordered = (column.distinct().orderBy(name)
               .select(F.col(name).alias(ID), F.spark_partition_id().alias("_part"),
                       F.monotonically_increasing_id().alias("_mono"))
               .localCheckpoint())
    sizes = dict(ordered.groupBy("_part").count().collect())
    starts, total = {}, 0
    for part in sorted(sizes):
        starts[part], total = total, total + sizes[part]
    start = F.create_map(*[F.lit(v) for pair in starts.items() for v in pair]) if starts \
        else F.create_map()
    offset = F.col("_mono") - F.shiftleft(F.col("_part").cast("long"), 33)
    return ordered.select(ID, (F.element_at(start, F.col("_part")) + offset).alias(IDX))


class SparkInteractions:
    """Events as a Spark DataFrame of integer indices, with the id maps kept in Spark.

    Build it with :meth:`from_spark` or :meth:`read_parquet`. ``events`` has the columns
    ``user_idx``, ``item_idx`` (int), ``weight`` (double) and, when given, ``timestamp``
    (long), one row per distinct (user, item) pair; ``users`` and ``items`` map external
    ids to indices (columns ``id``, ``idx``), numbered in sorted id order.

    Parameters
    ----------
    events, users, items : pyspark.sql.DataFrame
    has_timestamps : bool

    Examples
    --------
    >>> import pandas as pd  # doctest: +SKIP
    >>> from recsys.spark import SparkInteractions, session  # doctest: +SKIP
    >>> spark = session("local[1]")  # doctest: +SKIP
    >>> frame = pd.DataFrame({"user_id": list("aab"), "item_id": list("xxy")})  # doctest: +SKIP
    >>> df = spark.createDataFrame(frame)  # doctest: +SKIP
    >>> inter = SparkInteractions.from_spark(df, "user_id", "item_id")  # doctest: +SKIP
    >>> inter.nnz, inter.to_local().matrix.toarray().tolist()  # doctest: +SKIP
    (2, [[2.0, 0.0], [0.0, 1.0]])
    """

    def __init__(self, events: Any, users: Any, items: Any, has_timestamps: bool = False,
                 ) -> None:
        self.events = events
        self.users = users
        self.items = items
        self.has_timestamps = has_timestamps
        # The id maps collected once, shared by every part of a split (same maps).
        self._collected: dict[str, IdIndex] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spark(
        cls,
        df: Any,
        user: str = "user_id",
        item: str = "item_id",
        weight: str | None = None,
        timestamp: str | None = None,
        duplicates: str = "sum",
        allow_negative: bool = False,
    ) -> SparkInteractions:
        """Index a Spark DataFrame of events, with the rules of
        :meth:`recsys.Interactions.from_pandas`.

        Parameters
        ----------
        df : pyspark.sql.DataFrame
        user, item : str
            Id columns (any orderable Spark type: string, integer, ...).
        weight : str, optional
            Numeric column of weights; each row counts 1 when omitted.
        timestamp : str, optional
            Event times: numbers, or Spark timestamps (stored as epoch seconds).
        duplicates : {"sum", "max", "first", "last"}
            How repeated (user, item) pairs merge, as in ``Interactions.from_pandas``:
            "first"/"last" by timestamp when there is one (ties by input order), else by input
            order; the merged timestamp is that event's for "first"/"last", the latest for
            "sum"/"max".
        allow_negative : bool
            Accept negative weights.

        Returns
        -------
        SparkInteractions

        Raises
        ------
        recsys.errors.ColumnError
            A named column is missing.
        recsys.errors.DataError
            No rows; a null or empty id; a null, NaN or infinite weight; a negative weight
            (unless allowed); a null timestamp. The message names the column, how many rows
            are bad and shows one of them. No row is dropped silently.
        """
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        check_choice("duplicates", duplicates, DUPLICATE_POLICIES)
        wanted = [c for c in (user, item, weight, timestamp) if c is not None]
        missing = [c for c in wanted if c not in df.columns]
        if missing:
            raise ColumnError(f"column(s) {missing} not in the DataFrame; it has "
                              f"{df.columns[:20]}")
        checks = cls._checks(df, user, item, weight, timestamp, allow_negative)
        counts = df.agg(F.count(F.lit(1)).alias("rows"),
                        *[F.count_if(cond).alias(str(k)) for k, (cond, _) in
                          enumerate(checks)]).first()
        if counts["rows"] == 0:
            raise DataError("the interactions DataFrame is empty (0 rows)")
        for k, (cond, what) in enumerate(checks):
            if counts[str(k)]:
                raise DataError(f"{what}: {counts[str(k)]} row(s); for example "
                                f"{_sample(df, cond)}")
        events = df.select(
            F.col(user).alias("_user"), F.col(item).alias("_item"),
            (F.col(weight).cast("double") if weight else F.lit(1.0)).alias(WEIGHT),
            *([cls._epoch(df, timestamp).alias(TIME)] if timestamp else []),
            F.monotonically_increasing_id().alias(_ROW),
        )
        users = index_ids(events.select("_user"))
        items = index_ids(events.select("_item"))
        indexed = (events
                   .join(users, events["_user"] == users[ID])
                   .withColumn(USER, users[IDX].cast("int")).drop(ID, IDX)
                   .join(items, F.col("_item") == items[ID])
                   .withColumn(ITEM, items[IDX].cast("int")).drop(ID, IDX, "_user", "_item"))
        merged = _merge(indexed, duplicates, timestamp is not None)
        # Kept: every later step (splits, fitting, metrics) starts from these events.
        merged = merged.persist(StorageLevel.MEMORY_AND_DISK)
        return cls(merged, users, items, has_timestamps=timestamp is not None)

    @staticmethod
    def _checks(df: Any, user: str, item: str, weight: str | None, timestamp: str | None,
                allow_negative: bool) -> list[tuple[Any, str]]:
        """(condition of a bad row, what is wrong) for every rule a row must meet."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType

        checks = []
        for name in (user, item):
            checks.append((F.col(name).isNull(), f"column {name!r} has missing (null) ids"))
            if isinstance(df.schema[name].dataType, StringType):
                checks.append((F.trim(F.col(name)) == "", f"column {name!r} has empty ids"))
        if weight is not None:
            value = F.col(weight).cast("double")
            bad = (F.col(weight).isNull() | value.isNull() | F.isnan(value)
                   | (F.abs(value) == float("inf")))
            checks.append((bad, f"column {weight!r} has null, non-numeric, NaN or infinite "
                                "weights"))
            if not allow_negative:
                checks.append((value < 0, f"column {weight!r} has negative weights (pass "
                                          "allow_negative=True to keep negative feedback)"))
        if timestamp is not None:
            checks.append((F.col(timestamp).isNull(),
                           f"column {timestamp!r} has missing timestamps"))
        return checks

    @staticmethod
    def _epoch(df: Any, column: str) -> Any:
        from pyspark.sql import functions as F
        from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

        kind = df.schema[column].dataType
        if isinstance(kind, (TimestampType, TimestampNTZType, DateType)):
            return F.unix_timestamp(F.col(column).cast("timestamp")).cast("long")
        return F.col(column).cast("long")

    @classmethod
    def read_parquet(cls, path: str | PathLike, spark: Any = None, **kwargs: Any,
                     ) -> SparkInteractions:
        """Read a Parquet file or directory with Spark and index it (:meth:`from_spark`'s
        keyword arguments). ``spark`` defaults to :func:`recsys.spark.session`."""
        from recsys.spark._session import session

        spark = spark if spark is not None else session()
        return cls.from_spark(spark.read.parquet(str(path)), **kwargs)

    # ------------------------------------------------------------------ views
    @property
    def n_users(self) -> int:
        return len(self.user_index())

    @property
    def n_items(self) -> int:
        return len(self.item_index())

    @property
    def nnz(self) -> int:
        return int(self.events.count())

    def with_events(self, events: Any) -> SparkInteractions:
        """The same id maps with other events (a split's part, a filtered subset)."""
        part = SparkInteractions(events, self.users, self.items, self.has_timestamps)
        part._collected = self._collected
        return part

    def user_index(self) -> IdIndex:
        """The user id map collected to the driver, position i holding the id of index i."""
        if "users" not in self._collected:
            self._collected["users"] = _collect_index(self.users)
        return self._collected["users"]

    def item_index(self) -> IdIndex:
        """The item id map collected to the driver."""
        if "items" not in self._collected:
            self._collected["items"] = _collect_index(self.items)
        return self._collected["items"]

    def to_local(self) -> Interactions:
        """Collect to a single-machine :class:`recsys.Interactions` with the same indices."""
        users, items = self.user_index(), self.item_index()
        columns = [USER, ITEM, WEIGHT] + ([TIME] if self.has_timestamps else [])
        table = self.events.select(*columns).toArrow()
        rows = table.column(USER).to_numpy().astype(np.int64)
        cols = table.column(ITEM).to_numpy().astype(np.int64)
        data = table.column(WEIGHT).to_numpy()
        order = np.lexsort((cols, rows))
        matrix = sp.csr_matrix((data[order], (rows[order], cols[order])),
                               shape=(len(users), len(items)))
        times = table.column(TIME).to_numpy()[order] if self.has_timestamps else None
        return Interactions(matrix, users, items, times)

    def with_ids(self, frame: Any, user: str = USER, item: str | None = ITEM) -> Any:
        """``frame`` with its index columns replaced by external ids ("user", "item")."""
        from pyspark.sql import functions as F

        out = frame.join(self.users.select(F.col(ID).alias("user"), F.col(IDX).alias(user)),
                         on=user).drop(user)
        if item is not None:
            out = out.join(self.items.select(F.col(ID).alias("item"),
                                             F.col(IDX).alias(item)), on=item).drop(item)
        return out

    def __repr__(self) -> str:
        ts = ", timestamps" if self.has_timestamps else ""
        return f"SparkInteractions(columns={self.events.columns}{ts})"


def _collect_index(ids: Any) -> IdIndex:
    table = ids.orderBy(IDX).select(ID).toArrow()
    return IdIndex(table.column(ID).to_numpy(zero_copy_only=False))


def _merge(indexed: Any, duplicates: str, timed: bool) -> Any:
    """One row per (user, item), merged by the ``duplicates`` policy."""
    from pyspark.sql import functions as F

    keys = [USER, ITEM]
    if duplicates in ("sum", "max"):
        agg = F.sum(WEIGHT) if duplicates == "sum" else F.max(WEIGHT)
        extra = [F.max(TIME).alias(TIME)] if timed else []
        return indexed.groupBy(*keys).agg(agg.alias(WEIGHT), *extra)
    # Earliest / latest event: by time when there is one, ties (and no time) by input order.
    order = F.struct(*([F.col(TIME)] if timed else []), F.col(_ROW))
    pick = F.min_by if duplicates == "first" else F.max_by
    merged = indexed.groupBy(*keys).agg(pick(F.struct(WEIGHT, *([TIME] if timed else [])),
                                             order).alias("_pick"))
    return merged.select(*keys, F.col("_pick." + WEIGHT).alias(WEIGHT),
                         *([F.col("_pick." + TIME).alias(TIME)] if timed else []))
