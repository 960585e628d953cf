"""The users x items interaction matrix with its id maps."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.data.ids import IdIndex
from recsys.errors import ColumnError, DataError

DUPLICATE_POLICIES = ("sum", "max", "first", "last")


def _factorize_ids(values: Any, column: str, labels: pd.Index) -> tuple[np.ndarray, IdIndex]:
    """Codes and IdIndex for one id column; raises on missing or empty ids, naming the row."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    missing = codes < 0
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"column {column!r} has {int(missing.sum())} missing id(s) (NaN/None); "
            f"first at row {labels[row]!r}"
        )
    uniques = np.asarray(uniques)  # pandas string arrays become object arrays
    if uniques.dtype == object:
        empty = np.flatnonzero(
            np.fromiter((isinstance(u, str) and not u.strip() for u in uniques), bool, len(uniques))
        )
        if len(empty):
            row = int(np.flatnonzero(codes == empty[0])[0])
            raise DataError(f"column {column!r} has an empty id at row {labels[row]!r}")
    return codes.astype(np.int64, copy=False), IdIndex(uniques)


def _check_weights(weights: np.ndarray, column: str, labels: pd.Index, allow_negative: bool) -> None:
    bad = ~np.isfinite(weights)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {column!r} has {int(bad.sum())} NaN/inf weight(s); first at row "
            f"{labels[row]!r} (value {weights[row]!r})"
        )
    if not allow_negative and (weights < 0).any():
        row = int(np.flatnonzero(weights < 0)[0])
        raise DataError(
            f"column {column!r} has negative weight {weights[row]!r} at row {labels[row]!r}; "
            "pass allow_negative=True to keep negative feedback"
        )


def _numeric_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64 (int64 kept for integer columns, datetimes as epoch s)."""
    series = frame[column]
    if pd.api.types.is_datetime64_any_dtype(series):
        if series.isna().any():
            row = int(np.flatnonzero(series.isna().to_numpy())[0])
            raise DataError(f"column {column!r} has a missing time at row {frame.index[row]!r}")
        return series.to_numpy().astype("datetime64[s]").astype(np.int64)
    try:
        values = pd.to_numeric(series, errors="raise")
    except (TypeError, ValueError) as exc:
        raise DataError(f"column {column!r} must be numeric: {exc}") from None
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_unsigned_integer_dtype(values):
        return np.asarray(values, dtype=np.int64)
    return np.asarray(values, dtype=np.float64)


class Interactions:
    """Implicit or explicit feedback as a users x items CSR matrix plus two id maps.

    Build it with :meth:`from_pandas`, :meth:`from_arrays`, :meth:`read_csv` or
    :meth:`read_parquet`; the constructor takes already-aligned parts.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        users x items; stored as CSR float32 with sorted indices.
    users, items : IdIndex
        External ids of the rows and columns.
    timestamps : numpy.ndarray, optional
        One timestamp per stored entry, aligned with ``matrix.data`` (CSR order).
    report : sequence of dict, optional
        What happened to the rows on the way in (merged duplicates, filters).

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
    users, items : IdIndex
    timestamps : numpy.ndarray or None

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"]})
    >>> inter = Interactions.from_pandas(df, user="user_id", item="item_id")
    >>> inter.shape, inter.nnz
    ((2, 2), 3)
    >>> inter.to_pandas()["item"].tolist()
    ['x', 'y', 'x']
    """

    def __init__(
        self,
        matrix: sp.spmatrix,
        users: IdIndex,
        items: IdIndex,
        timestamps: np.ndarray | None = None,
        report: Sequence[dict] = (),
    ) -> None:
        matrix = sp.csr_matrix(matrix, dtype=np.float32)
        if not matrix.has_sorted_indices:
            if timestamps is not None:
                raise DataError("timestamps need a CSR matrix with sorted indices")
            matrix.sort_indices()
        if matrix.shape != (len(users), len(items)):
            raise DataError(
                f"matrix shape {matrix.shape} does not match {len(users)} users x {len(items)} items"
            )
        if timestamps is not None and len(timestamps) != matrix.nnz:
            raise DataError(f"{len(timestamps)} timestamps for {matrix.nnz} stored entries")
        self.matrix = matrix
        self.users = users
        self.items = items
        self.timestamps = timestamps
        self._report = tuple(report)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        user: str = "user_id",
        item: str = "item_id",
        weight: str | None = None,
        timestamp: str | None = None,
        duplicates: str = "sum",
        allow_negative: bool = False,
    ) -> Interactions:
        """Build from a frame of events, one row per (user, item[, weight, timestamp]).

        Parameters
        ----------
        df : pandas.DataFrame
        user, item : str
            Id columns; ids may be of any hashable type (int, str, mixed).
        weight : str, optional
            Column of weights (ratings, play counts); every row counts 1 when omitted.
        timestamp : str, optional
            Column of event times (numbers or datetimes), kept for temporal splits.
        duplicates : {"sum", "max", "first", "last"}
            How repeated (user, item) pairs merge. "first"/"last" follow row order; with a
            timestamp column, "sum" and "max" keep the latest timestamp of the pair.
        allow_negative : bool
            Accept negative weights (explicit negative feedback).

        Returns
        -------
        Interactions

        Raises
        ------
        recsys.errors.ColumnError
            A named column is missing.
        recsys.errors.DataError
            Empty frame, missing or empty ids, NaN/inf or negative weights; the message names
            the column and the first offending row label.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
        wanted = [c for c in (user, item, weight, timestamp) if c is not None]
        missing = [c for c in wanted if c not in df.columns]
        if missing:
            raise ColumnError(
                f"column(s) {missing} not in the frame; it has {list(df.columns)[:20]}"
            )
        if len(df) == 0:
            raise DataError("the interactions frame is empty")
        weights = _numeric_column(df, weight).astype(np.float64) if weight is not None else None
        times = _numeric_column(df, timestamp) if timestamp is not None else None
        if times is not None and not np.isfinite(times).all():
            row = int(np.flatnonzero(~np.isfinite(times))[0])
            raise DataError(f"column {timestamp!r} has a missing timestamp at row {df.index[row]!r}")
        return cls._build(
            df[user], df[item], weights, times, duplicates, allow_negative,
            names=(user, item, weight or "weight"), labels=df.index,
        )

    @classmethod
    def from_arrays(
        cls,
        users: Any,
        items: Any,
        weights: Any = None,
        timestamps: Any = None,
        duplicates: str = "sum",
        allow_negative: bool = False,
    ) -> Interactions:
        """Build from parallel arrays of user ids, item ids and optional weights/timestamps.

        Examples
        --------
        >>> inter = Interactions.from_arrays([1, 1, 2], [10, 20, 10], weights=[5.0, 3.0, 4.0])
        >>> inter.matrix.toarray().tolist()
        [[5.0, 3.0], [4.0, 0.0]]
        """
        frame = pd.DataFrame({"user": np.asarray(users), "item": np.asarray(items)})
        if weights is not None:
            frame["weight"] = np.asarray(weights)
        if timestamps is not None:
            frame["timestamp"] = np.asarray(timestamps)
        return cls.from_pandas(
            frame, "user", "item",
            weight="weight" if weights is not None else None,
            timestamp="timestamp" if timestamps is not None else None,
            duplicates=duplicates, allow_negative=allow_negative,
        )

    @classmethod
    def read_csv(
        cls,
        path: str | PathLike,
        user: str = "user_id",
        item: str = "item_id",
        weight: str | None = None,
        timestamp: str | None = None,
        duplicates: str = "sum",
        allow_negative: bool = False,
        **read_kwargs: Any,
    ) -> Interactions:
        """Read events from a CSV file (``read_kwargs`` go to :func:`pandas.read_csv`)."""
        columns = [c for c in (user, item, weight, timestamp) if c is not None]
        frame = pd.read_csv(path, **{"usecols": lambda c: c in columns, **read_kwargs})
        return cls.from_pandas(frame, user, item, weight, timestamp, duplicates, allow_negative)

    @classmethod
    def read_parquet(
        cls,
        path: str | PathLike,
        user: str = "user_id",
        item: str = "item_id",
        weight: str | None = None,
        timestamp: str | None = None,
        duplicates: str = "sum",
        allow_negative: bool = False,
    ) -> Interactions:
        """Read events from a Parquet file or directory (pyarrow), loading only needed columns."""
        import pyarrow.parquet as pq

        columns = [c for c in (user, item, weight, timestamp) if c is not None]
        schema_names = pq.read_schema(path).names if not _is_dir(path) else None
        if schema_names is not None:
            absent = [c for c in columns if c not in schema_names]
            if absent:
                raise ColumnError(f"column(s) {absent} not in {path}; it has {schema_names[:20]}")
        frame = pd.read_parquet(path, columns=columns, engine="pyarrow")
        return cls.from_pandas(frame, user, item, weight, timestamp, duplicates, allow_negative)

    @classmethod
    def _build(
        cls,
        user_values: Any,
        item_values: Any,
        weights: np.ndarray | None,
        times: np.ndarray | None,
        duplicates: str,
        allow_negative: bool,
        names: tuple[str, str, str],
        labels: pd.Index,
    ) -> Interactions:
        if duplicates not in DUPLICATE_POLICIES:
            raise DataError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {duplicates!r}")
        rows, users = _factorize_ids(user_values, names[0], labels)
        cols, items = _factorize_ids(item_values, names[1], labels)
        if weights is not None:
            _check_weights(weights, names[2], labels, allow_negative)
        n_rows = len(rows)
        shape = (len(users), len(items))
        if times is None and duplicates == "sum":
            data = np.ones(n_rows, np.float32) if weights is None else weights.astype(np.float32)
            matrix = sp.coo_matrix((data, (rows, cols)), shape=shape).tocsr()
            timestamps = None
        else:
            matrix, timestamps = _merge_sorted(rows, cols, weights, times, duplicates, shape)
        report = [{"step": "ingest", "rows_in": n_rows, "rows_out": matrix.nnz,
                   "reason": f"{n_rows - matrix.nnz} duplicate (user, item) rows merged "
                             f"by {duplicates!r}"}]
        return cls(matrix, users, items, timestamps, report)

    # ------------------------------------------------------------------ views
    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def density(self) -> float:
        return self.nnz / max(1, self.n_users * self.n_items)

    @property
    def report(self) -> pd.DataFrame:
        """What happened to the input rows: one line per step with rows in, rows out, why."""
        frame = pd.DataFrame(list(self._report), columns=["step", "rows_in", "rows_out", "reason"])
        frame.insert(3, "dropped", frame["rows_in"] - frame["rows_out"])
        return frame

    def __len__(self) -> int:
        return self.nnz

    def __repr__(self) -> str:
        ts = ", timestamps" if self.timestamps is not None else ""
        return (f"Interactions(n_users={self.n_users}, n_items={self.n_items}, nnz={self.nnz}, "
                f"density={self.density:.4%}{ts})")

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row indices, column indices and values of the stored entries, in CSR order."""
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), np.diff(self.matrix.indptr))
        return rows, self.matrix.indices.astype(np.int64), self.matrix.data

    def to_pandas(self) -> pd.DataFrame:
        """One row per stored entry with external ids: user, item, weight[, timestamp]."""
        rows, cols, data = self.entries()
        frame = pd.DataFrame({
            "user": self.users.to_ids(rows),
            "item": self.items.to_ids(cols),
            "weight": data,
        })
        if self.timestamps is not None:
            frame["timestamp"] = self.timestamps
        return frame

    def select(self, mask: np.ndarray, step: str = "select", reason: str = "") -> Interactions:
        """Keep the stored entries where ``mask`` (in CSR order) is true; ids keep their index.

        Train and test sets made this way share the same ``users`` and ``items`` maps, so
        their matrices align.
        """
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.nnz,):
            raise DataError(f"mask must have one value per stored entry ({self.nnz})")
        rows, cols, data = self.entries()
        matrix = sp.csr_matrix((data[mask], (rows[mask], cols[mask])), shape=self.shape)
        matrix.sort_indices()
        timestamps = self.timestamps[mask] if self.timestamps is not None else None
        entry = {"step": step, "rows_in": self.nnz, "rows_out": int(mask.sum()), "reason": reason}
        return Interactions(matrix, self.users, self.items, timestamps, self._report + (entry,))

    def with_matrix(self, matrix: sp.spmatrix) -> Interactions:
        """The same ids with another matrix of identical sparsity (e.g. re-weighted)."""
        matrix = sp.csr_matrix(matrix)
        if matrix.shape != self.shape or matrix.nnz != self.nnz:
            raise DataError("with_matrix needs a matrix with the same shape and stored entries")
        return Interactions(matrix, self.users, self.items, self.timestamps, self._report)

    def filter(self, min_user: int = 1, min_item: int = 1) -> Interactions:
        """Iterated k-core: drop users with fewer than ``min_user`` and items with fewer than
        ``min_item`` interactions until both hold. Dropped users/items leave the id maps.

        The report records how many entries, users and items each pass removed.

        Examples
        --------
        >>> inter = Interactions.from_arrays([1, 1, 2, 3], ["a", "b", "a", "a"])
        >>> inter.filter(min_item=2).items.ids.tolist()
        ['a']
        """
        matrix = self.matrix
        keep_users = np.ones(self.n_users, bool)
        keep_items = np.ones(self.n_items, bool)
        binary = matrix.copy()
        binary.data = np.ones_like(binary.data)
        while True:
            sub = binary[keep_users][:, keep_items]
            user_counts = np.asarray(sub.sum(axis=1)).ravel()
            item_counts = np.asarray(sub.sum(axis=0)).ravel()
            bad_users = user_counts < min_user
            bad_items = item_counts < min_item
            if not bad_users.any() and not bad_items.any():
                break
            keep_users[np.flatnonzero(keep_users)[bad_users]] = False
            keep_items[np.flatnonzero(keep_items)[bad_items]] = False
        rows, cols, data = self.entries()
        mask = keep_users[rows] & keep_items[cols]
        user_map = np.cumsum(keep_users) - 1
        item_map = np.cumsum(keep_items) - 1
        new = sp.csr_matrix(
            (data[mask], (user_map[rows[mask]], item_map[cols[mask]])),
            shape=(int(keep_users.sum()), int(keep_items.sum())),
        )
        new.sort_indices()
        timestamps = self.timestamps[mask] if self.timestamps is not None else None
        reason = (f"k-core min_user={min_user}, min_item={min_item}: removed "
                  f"{int((~keep_users).sum())} users, {int((~keep_items).sum())} items")
        entry = {"step": "filter", "rows_in": self.nnz, "rows_out": int(mask.sum()),
                 "reason": reason}
        return Interactions(
            new,
            IdIndex(self.users.ids[keep_users]),
            IdIndex(self.items.ids[keep_items]),
            timestamps,
            self._report + (entry,),
        )


def _is_dir(path: Any) -> bool:
    from pathlib import Path

    return Path(path).is_dir()


def _merge_sorted(
    rows: np.ndarray,
    cols: np.ndarray,
    weights: np.ndarray | None,
    times: np.ndarray | None,
    duplicates: str,
    shape: tuple[int, int],
) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """Canonical CSR (and aligned timestamps) from events, merging repeats by ``duplicates``."""
    key = rows * shape[1] + cols
    order = np.argsort(key, kind="stable")  # stable keeps row order inside a pair
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)] - 1
    values = np.ones(len(key)) if weights is None else weights[order]
    if duplicates == "sum":
        data = np.add.reduceat(values, starts)
    elif duplicates == "max":
        data = np.maximum.reduceat(values, starts)
    elif duplicates == "first":
        data = values[starts]
    else:
        data = values[ends]
    timestamps = None
    if times is not None:
        sorted_times = times[order]
        if duplicates == "first":
            timestamps = sorted_times[starts]
        elif duplicates == "last":
            timestamps = sorted_times[ends]
        else:
            timestamps = np.maximum.reduceat(sorted_times, starts)
    unique_keys = key[starts]
    out_rows = unique_keys // shape[1]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(out_rows, minlength=shape[0]), out=indptr[1:])
    indices = (unique_keys % shape[1]).astype(np.int32)
    matrix = sp.csr_matrix((data.astype(np.float32), indices, indptr), shape=shape)
    matrix.has_sorted_indices = True
    return matrix, timestamps
