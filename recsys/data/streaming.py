"""Bounded-memory ingestion: a Parquet dataset streamed in record batches into Interactions."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from recsys._checks import check_int
from recsys.data.ids import IdIndex
from recsys.data.interactions import (
    DUPLICATE_POLICIES,
    Interactions,
    _check_weights,
    _factorize_ids,
    numeric_column,
)
from recsys.errors import ColumnError, DataError


class _GrowingIds:
    """External ids numbered in order of first appearance across batches."""

    def __init__(self) -> None:
        self.known: pd.Index | None = None

    def codes(self, batch_codes: np.ndarray, batch_ids: IdIndex) -> np.ndarray:
        """Global codes of a batch, from its own factorization (codes into its uniques)."""
        uniques = batch_ids._lookup
        if self.known is None:
            self.known = uniques
            return batch_codes
        where = self.known.get_indexer(uniques)
        new = where < 0
        where[new] = len(self.known) + np.arange(int(new.sum()))
        if new.any():
            self.known = self.known.append(uniques[new])
        return where[batch_codes]

    def index(self) -> IdIndex:
        return IdIndex._from_unique(self.known if self.known is not None else pd.Index([]))


def read_parquet_batches(
    path: str | PathLike,
    user: str = "user_id",
    item: str = "item_id",
    weight: str | None = None,
    timestamp: str | None = None,
    duplicates: str = "sum",
    allow_negative: bool = False,
    batch_size: int = 1 << 20,
) -> Interactions:
    """Interactions from a Parquet file or (hive-partitioned) directory, read in batches.

    The pyarrow dataset scanner yields record batches of at most ``batch_size`` rows; each
    is checked and its ids numbered (continuing the numbering of earlier batches) and its
    codes written into arrays sized once from the files' metadata. Peak memory is those
    arrays (4 + 4 bytes per row for the indices, 8 per weight and per timestamp), the
    output matrix built from them, and one batch; the table itself, with its ids as Python
    or Arrow strings, is never held whole. Ids are numbered in order of first appearance,
    as :meth:`Interactions.read_parquet` does, so both give the same object.

    Errors name the column, the file and the row within that file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for part in range(3):
    ...     pd.DataFrame({"user_id": [part, part + 1], "item_id": ["a", "b"]}).to_parquet(
    ...         root / f"part-{part}.parquet")
    >>> read_parquet_batches(root, batch_size=1).shape
    (4, 2)
    """
    import pyarrow.dataset as ds

    batch_size = check_int("batch_size", batch_size)
    if duplicates not in DUPLICATE_POLICIES:
        raise DataError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {duplicates!r}")
    dataset = ds.dataset(str(path), format="parquet", partitioning="hive")
    columns = list(dict.fromkeys(c for c in (user, item, weight, timestamp) if c is not None))
    absent = [c for c in columns if c not in dataset.schema.names]
    if absent:
        raise ColumnError(f"column(s) {absent} not in {path}; it has {dataset.schema.names[:20]}")
    scanner = dataset.scanner(columns=columns, batch_size=batch_size)
    total = scanner.count_rows()
    if total == 0:
        raise DataError(f"{path} holds no rows")
    index_type = np.int32 if total < np.iinfo(np.int32).max else np.int64
    rows = np.empty(total, index_type)
    cols = np.empty(total, index_type)
    weights = np.empty(total) if weight is not None else None
    times = None
    users, items = _GrowingIds(), _GrowingIds()
    file_rows: dict[str, int] = {}
    filled = 0
    for tagged in scanner.scan_batches():
        batch = tagged.record_batch
        if batch.num_rows == 0:
            continue
        source = tagged.fragment.path
        start = file_rows.get(source, 0)
        file_rows[source] = start + batch.num_rows
        frame = batch.to_pandas()
        frame.index = pd.RangeIndex(start, start + len(frame))
        try:
            stop = filled + len(frame)
            if weight is not None and weights is not None:
                values = numeric_column(frame, weight, "weight").astype(np.float64, copy=False)
                _check_weights(values, weight, frame.index, allow_negative)
                weights[filled:stop] = values
            if timestamp is not None:
                stamps = numeric_column(frame, timestamp, "timestamp")
                if stamps.dtype.kind == "f" and not np.isfinite(stamps).all():
                    row = frame.index[int(np.flatnonzero(~np.isfinite(stamps))[0])]
                    raise DataError(f"column {timestamp!r} has a missing or infinite timestamp "
                                    f"at row {row}")
                if times is None:
                    times = np.empty(total, stamps.dtype)
                times[filled:stop] = stamps
            rows[filled:stop] = users.codes(*_factorize_ids(frame[user], user, frame.index))
            cols[filled:stop] = items.codes(*_factorize_ids(frame[item], item, frame.index))
        except DataError as exc:
            raise DataError(f"{source}: {exc}") from None
        filled = stop
    if times is not None or duplicates != "sum":
        rows, cols = rows.astype(np.int64), cols.astype(np.int64)  # (row, col) keys need 64 bits
    return Interactions._build(rows, cols, users.index(), items.index(), weights, times,
                               duplicates, (user, item), pd.RangeIndex(total))
