"""The users x items interaction matrix with its id maps."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.data.ids import IdIndex, as_id_array
from recsys.data.readers import read_csv_frame, read_parquet_frame
from recsys.errors import ColumnError, ConfigError, DataError

DUPLICATE_POLICIES = ("sum", "max", "first", "last")


def _first_unhashable(values: pd.Series) -> int:
    for position, value in enumerate(values):
        try:
            hash(value)
        except TypeError:
            return position
    return 0


def _as_plain_index(uniques: pd.Index) -> pd.Index:
    """factorize uniques as an Index with a numpy dtype or pandas' string dtype (no categorical,
    nullable or tz-aware Index, whose lookups and conversions behave differently)."""
    dtype = uniques.dtype
    if isinstance(dtype, np.dtype) and not isinstance(uniques, pd.CategoricalIndex):
        return uniques if type(uniques) is pd.Index else pd.Index(uniques, dtype=dtype)
    if isinstance(dtype, pd.StringDtype):
        return uniques
    values = uniques.to_numpy()
    return pd.Index(values, dtype=values.dtype)


def _blank_ids(uniques: pd.Index) -> np.ndarray:
    """Positions in ``uniques`` of empty or whitespace-only string (or bytes) ids."""
    dtype = uniques.dtype
    if isinstance(dtype, pd.StringDtype) and len(uniques) > 1000:
        if dtype.storage == "pyarrow":  # Arrow kernels on the Arrow buffer: no copy, bit masks
            import pyarrow as pa
            import pyarrow.compute as pc

            text = pa.array(uniques.array)
            blank = pc.or_(pc.equal(pc.binary_length(text), 0), pc.utf8_is_space(text))
            return np.flatnonzero(blank.to_numpy(zero_copy_only=False))
        text = uniques.str
        return np.flatnonzero(np.asarray((text.len() == 0) | text.isspace(), dtype=bool))
    if not isinstance(dtype, pd.StringDtype) and dtype.kind != "O":
        return np.empty(0, dtype=np.int64)
    return np.fromiter(
        (k for k, u in enumerate(uniques.tolist())
         if isinstance(u, (str, bytes)) and not u.strip()),
        dtype=np.int64,
    )


def _factorize_ids(values: pd.Series, column: str, labels: pd.Index) -> tuple[np.ndarray, IdIndex]:
    """Codes and IdIndex for one id column; raises on missing, empty or unhashable ids, naming
    the row."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        row = _first_unhashable(values)
        raise DataError(
            f"column {column!r} has an unhashable id {_scalar(values.iloc[row])!r} at row "
            f"{_row(labels, row)}; "
            "ids must be hashable (int, str, tuple, ...)"
        ) from None
    if len(codes) and codes.min() < 0:  # no n-sized temporary unless something is missing
        missing = codes < 0
        row = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"column {column!r} has {int(missing.sum())} missing id(s) (NaN/None); "
            f"first at row {_row(labels, row)}"
        )
    uniques = _as_plain_index(uniques)
    blank = _blank_ids(uniques)
    if len(blank):
        rows = np.flatnonzero(np.isin(codes, blank))
        raise DataError(
            f"column {column!r} has {len(rows)} empty id(s) ({uniques[blank[0]]!r}); first at "
            f"row {_row(labels, rows[0])}"
        )
    return codes.astype(np.int64, copy=False), IdIndex._from_unique(uniques)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_weights(
    weights: np.ndarray, column: str, labels: pd.Index, allow_negative: bool
) -> None:
    bad = ~np.isfinite(weights)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {column!r} has {int(bad.sum())} NaN/inf weight(s); first at row "
            f"{_row(labels, row)} (value {float(weights[row])!r})"
        )
    if not allow_negative:
        negative = weights < 0
        if negative.any():
            row = int(np.flatnonzero(negative)[0])
            raise DataError(
                f"column {column!r} has {int(negative.sum())} negative weight(s); first at row "
                f"{_row(labels, row)} (value {float(weights[row])!r}); pass allow_negative=True to "
                "keep negative feedback"
            )
    huge = np.abs(weights) > _FLOAT32_MAX
    if huge.any():
        row = int(np.flatnonzero(huge)[0])
        raise DataError(
            f"column {column!r} has weight {float(weights[row])!r} at row {_row(labels, row)}, "
            "beyond the float32 range of the matrix"
        )


def numeric_column(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """A weight or timestamp column as numbers: float64, or int64 for integer columns without
    missing values; datetimes (naive, tz-aware, or ISO 8601 strings for timestamps) become
    epoch seconds (int64). Missing values come back as NaN and are reported by the caller.

    Parameters
    ----------
    frame : pandas.DataFrame
    column : str
    what : {"weight", "timestamp"}
        What the column holds: only timestamps parse ISO 8601 strings; errors name it.

    Examples
    --------
    >>> numeric_column(pd.DataFrame({"t": ["1970-01-01T00:01:00Z"]}), "t", "timestamp").tolist()
    [60]
    """
    series = frame[column]
    if isinstance(series, pd.DataFrame):
        raise ColumnError(f"column {column!r} appears more than once in the frame")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return _epoch_seconds(series, column, frame.index)
    kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else None
    if kind == "i":  # plain numpy numbers: no parsing needed
        return series.to_numpy(dtype=np.int64)
    if kind in ("u", "f", "b"):
        return series.to_numpy(dtype=np.float64)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(series.cat.categories.dtype)
    try:
        values = pd.to_numeric(series, errors="raise")
    except (TypeError, ValueError) as exc:
        if what == "timestamp":
            try:
                parsed = pd.to_datetime(series, utc=True, format="ISO8601")
            except (TypeError, ValueError, OverflowError):
                pass
            else:
                return _epoch_seconds(parsed, column, frame.index)
        raise _unparsable(series, column, what, frame.index, exc) from None
    dtype = values.dtype
    if pd.api.types.is_complex_dtype(dtype):
        raise DataError(f"column {column!r} ({what}) must hold real numbers, got {dtype}")
    if (pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_unsigned_integer_dtype(dtype)
            and not values.hasnans):
        return values.to_numpy(dtype=np.int64)
    try:
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(f"column {column!r} ({what}) must be numeric: {exc}") from None
    if what == "timestamp":  # seconds are int64: 2**70 would silently become a rounded float
        beyond = np.abs(numbers) >= 2.0**63
        if beyond.any():
            row = int(np.flatnonzero(beyond)[0])
            raise DataError(f"column {column!r} (timestamp) at row {_row(frame.index, row)}: "
                            f"{_scalar(series.iloc[row])!r} is beyond the int64 range of "
                            "epoch seconds")
    return numbers


def _unparsable(series: pd.Series, column: str, what: str, labels: pd.Index,
                exc: Exception) -> DataError:
    """The error for a column that does not parse, naming the first bad row and value."""
    bad = pd.to_numeric(series, errors="coerce").isna().to_numpy() & series.notna().to_numpy()
    if what == "timestamp":
        bad &= pd.to_datetime(series.astype(str), utc=True, format="ISO8601", errors="coerce") \
            .isna().to_numpy()
    if not bad.any():
        return DataError(f"column {column!r} ({what}) must be numeric: {exc}")
    row = int(np.flatnonzero(bad)[0])
    kind = "a number or an ISO 8601 time" if what == "timestamp" else "a number"
    return DataError(f"column {column!r} ({what}) at row {_row(labels, row)}: "
                     f"{_scalar(series.iloc[row])!r} is not {kind} ({int(bad.sum())} such "
                     "row(s))")


def _epoch_seconds(series: pd.Series, column: str, labels: pd.Index) -> np.ndarray:
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(f"column {column!r} has a missing time at row {_row(labels, row)}")
    if getattr(series.dtype, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.to_numpy().astype("datetime64[s]").astype(np.int64)


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
        if not matrix.has_canonical_format:  # unsorted indices or repeated (row, column)
            if timestamps is not None:
                raise DataError("timestamps need a CSR matrix with sorted, unique indices")
            matrix.sum_duplicates()
        if matrix.shape != (len(users), len(items)):
            raise DataError(
                f"matrix shape {matrix.shape} does not match {len(users)} users x "
                f"{len(items)} items"
            )
        if timestamps is not None:
            timestamps = np.asarray(timestamps)
            if timestamps.shape != (matrix.nnz,):
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
            Id columns. Ids may be of any hashable type (int, str, mixed, huge integers,
            categorical); ids equal in Python (``1``, ``1.0``, ``True``) are one id.
        weight : str, optional
            Column of weights (ratings, play counts); every row counts 1 when omitted.
        timestamp : str, optional
            Column of event times: numbers (kept as given), datetimes (naive or tz-aware,
            stored as epoch seconds) or ISO 8601 strings (parsed as datetimes).
        duplicates : {"sum", "max", "first", "last"}
            How repeated (user, item) pairs merge into one entry. "first"/"last" keep the
            weight of the earliest/latest event: by timestamp when there is a timestamp
            column (equal times fall back to row order), else by row order. The merged entry's
            timestamp is that event's time for "first"/"last" and the pair's latest time for
            "sum"/"max". Sums are computed in float64, then stored as float32.
        allow_negative : bool
            Accept negative weights (explicit negative feedback).

        Returns
        -------
        Interactions
            Its ``report`` has one "ingest" line: rows in, entries out, how many repeated
            pairs were merged. No row is ever dropped silently: a row is either merged into
            its pair's entry or the whole call raises.

        Raises
        ------
        recsys.errors.ColumnError
            A named column is missing (or appears twice).
        recsys.errors.DataError
            Empty frame; missing (NaN/None), empty or unhashable ids; NaN/inf weights,
            negative weights, weights beyond float32; missing or non-numeric timestamps; an
            unknown ``duplicates`` policy. The message names the column and the first
            offending row label.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"u": [1, 1, 2], "i": ["x", "x", "y"], "r": [4.0, 5.0, 3.0],
        ...                    "t": [10, 20, 30]})
        >>> inter = Interactions.from_pandas(df, "u", "i", weight="r", timestamp="t",
        ...                                  duplicates="last")
        >>> inter.to_pandas().values.tolist()
        [[1, 'x', 5.0, 20], [2, 'y', 3.0, 30]]
        >>> try:
        ...     Interactions.from_pandas(df.assign(r=[4.0, -1.0, 3.0]), "u", "i", weight="r")
        ... except DataError as exc:
        ...     print(exc)  # doctest: +ELLIPSIS
        column 'r' has 1 negative weight(s); first at row 1 (value -1.0); pass allow_negative...
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
        if duplicates not in DUPLICATE_POLICIES:
            raise DataError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {duplicates!r}")
        wanted = [c for c in (user, item, weight, timestamp) if c is not None]
        missing = [c for c in wanted if c not in df.columns]
        if missing:
            raise ColumnError(
                f"column(s) {missing} not in the frame; it has {list(df.columns)[:20]}"
            )
        if not df.columns.is_unique:
            repeated = [c for c in dict.fromkeys(wanted) if np.sum(df.columns == c) > 1]
            if repeated:
                raise ColumnError(f"column(s) {repeated} appear more than once in the frame")
        if len(df) == 0:
            raise DataError("the interactions frame is empty (0 rows)")
        labels = df.index
        weights = None
        if weight is not None:
            weights = numeric_column(df, weight, "weight").astype(np.float64, copy=False)
            _check_weights(weights, weight, labels, allow_negative)
        times = numeric_column(df, timestamp, "timestamp") if timestamp is not None else None
        if times is not None and times.dtype.kind == "f" and not np.isfinite(times).all():
            row = int(np.flatnonzero(~np.isfinite(times))[0])
            raise DataError(
                f"column {timestamp!r} has a missing or infinite timestamp at row "
                f"{_row(labels, row)}"
            )
        rows, users = _factorize_ids(df[user], user, labels)
        cols, items = _factorize_ids(df[item], item, labels)
        return cls._build(rows, cols, users, items, weights, times, duplicates,
                          (user, item), labels)

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

        Same rules as :meth:`from_pandas`; error messages name the columns "user", "item",
        "weight", "timestamp" and the position in the arrays.

        Examples
        --------
        >>> inter = Interactions.from_arrays([1, 1, 2], [10, 20, 10], weights=[5.0, 3.0, 4.0])
        >>> inter.matrix.toarray().tolist()
        [[5.0, 3.0], [4.0, 0.0]]
        >>> Interactions.from_arrays([1, "a"], ["x", "y"]).users.ids.tolist()
        [1, 'a']
        """
        columns = {"user": users, "item": items}
        if weights is not None:
            columns["weight"] = weights
        if timestamps is not None:
            columns["timestamp"] = timestamps
        frame = {}
        for name, values in columns.items():
            if isinstance(values, (pd.Series, pd.Index)):
                frame[name] = pd.Series(values.array, copy=False)
            elif isinstance(values, np.ndarray) and values.ndim == 1:
                frame[name] = values
            else:
                frame[name] = as_id_array(values) if name in ("user", "item") else np.asarray(
                    values)
            if np.ndim(frame[name]) != 1:
                raise DataError(f"{name}s must be one-dimensional, got shape {np.shape(values)}")
        lengths = {name: len(values) for name, values in frame.items()}
        if len(set(lengths.values())) > 1:
            raise DataError(f"arrays of different lengths: {lengths}")
        return cls.from_pandas(
            pd.DataFrame(frame), "user", "item",
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
        """Read events from a CSV file, loading only the needed columns.

        ``read_kwargs`` go to :func:`pandas.read_csv` (``sep``, ``names``, ``dtype``, ...).
        Ids are parsed as pandas infers them: pass ``dtype={"user_id": str}`` to keep ids
        such as ``"007"`` verbatim.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
        >>> _ = path.write_text("user_id,item_id,rating\\nu1,i1,5\\nu2,i1,3\\n")
        >>> Interactions.read_csv(path, weight="rating").matrix.toarray().ravel().tolist()
        [5.0, 3.0]
        """
        columns = [c for c in (user, item, weight, timestamp) if c is not None]
        frame = read_csv_frame(path, columns, **read_kwargs)
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
        batch_size: int | None = None,
    ) -> Interactions:
        """Read events from a Parquet file or directory (pyarrow), loading only needed columns.

        With ``batch_size`` the file or (partitioned) directory is streamed in record batches
        of that many rows (:func:`recsys.data.streaming.read_parquet_batches`): memory stays
        near the size of the output instead of the whole table as pandas; the result is the
        same.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.parquet"
        >>> pd.DataFrame({"user_id": [1, 2], "item_id": ["a", "a"]}).to_parquet(path)
        >>> Interactions.read_parquet(path).shape
        (2, 1)
        """
        if batch_size is not None:
            from recsys.data.streaming import read_parquet_batches

            return read_parquet_batches(path, user, item, weight, timestamp, duplicates,
                                        allow_negative, batch_size)
        columns = [c for c in (user, item, weight, timestamp) if c is not None]
        frame = read_parquet_frame(path, columns)
        return cls.from_pandas(frame, user, item, weight, timestamp, duplicates, allow_negative)

    @classmethod
    def _build(
        cls,
        rows: np.ndarray,
        cols: np.ndarray,
        users: IdIndex,
        items: IdIndex,
        weights: np.ndarray | None,
        times: np.ndarray | None,
        duplicates: str,
        names: tuple[str, str],
        labels: pd.Index,
    ) -> Interactions:
        n_rows = len(rows)
        shape = (len(users), len(items))
        if times is None and duplicates == "sum":
            # scipy sums repeated (row, column) pairs while converting; sum weights in float64
            data = np.ones(n_rows, np.float32) if weights is None else weights
            matrix = sp.coo_matrix((data, (rows, cols)), shape=shape).tocsr()
            timestamps = None
        else:
            matrix, timestamps = _merge_sorted(rows, cols, weights, times, duplicates, shape)
        if matrix.dtype != np.float32:
            with np.errstate(over="ignore"):
                matrix.data = matrix.data.astype(np.float32)
            overflow = ~np.isfinite(matrix.data)
            if overflow.any():
                entry = int(np.flatnonzero(overflow)[0])
                user_row = int(np.searchsorted(matrix.indptr, entry, side="right") - 1)
                raise DataError(
                    f"the summed weight of user {_scalar(users.ids[user_row])!r} and item "
                    f"{_scalar(items.ids[matrix.indices[entry]])!r} overflows float32 "
                    f"(columns {names[0]!r}, {names[1]!r})"
                )
        merged = n_rows - matrix.nnz
        report = [{"step": "ingest", "rows_in": n_rows, "rows_out": matrix.nnz,
                   "reason": f"{merged} repeated (user, item) row(s) merged by {duplicates!r}"}]
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
        """What happened to the input rows: one line per step with rows in, rows out, dropped
        (rows in - rows out) and why.

        Examples
        --------
        >>> inter = Interactions.from_arrays(["a", "a", "b"], ["x", "x", "y"])
        >>> inter.report[["step", "rows_in", "rows_out", "dropped"]].values.tolist()
        [['ingest', 3, 2, 1]]
        """
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
        """One row per stored entry with external ids: user, item, weight[, timestamp].

        Rows come in CSR order (by user index, then item index).
        """
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
        their matrices align. The report gains one line (``step``, ``reason``).

        Examples
        --------
        >>> inter = Interactions.from_arrays(["a", "a", "b"], ["x", "y", "y"])
        >>> part = inter.select([True, False, True], step="demo")
        >>> part.nnz, part.shape, part.users is inter.users
        (2, (2, 2), True)
        """
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (self.nnz,):
            raise DataError(
                f"mask must be a boolean array with one value per stored entry ({self.nnz}), "
                f"got {mask.dtype} of shape {mask.shape}"
            )
        source = self.matrix
        rows = np.repeat(np.arange(self.n_users), np.diff(source.indptr))
        indptr = np.zeros(self.n_users + 1, dtype=source.indptr.dtype)
        np.cumsum(np.bincount(rows[mask], minlength=self.n_users), out=indptr[1:])
        matrix = sp.csr_matrix((source.data[mask], source.indices[mask], indptr), shape=self.shape)
        matrix.has_sorted_indices = True
        matrix.has_canonical_format = True
        timestamps = self.timestamps[mask] if self.timestamps is not None else None
        entry = {"step": step, "rows_in": self.nnz, "rows_out": int(matrix.nnz), "reason": reason}
        return Interactions(matrix, self.users, self.items, timestamps, self._report + (entry,))

    def with_matrix(self, matrix: sp.spmatrix) -> Interactions:
        """The same ids with another matrix of identical sparsity (e.g. re-weighted)."""
        matrix = sp.csr_matrix(matrix)
        if matrix.shape != self.shape or matrix.nnz != self.nnz:
            raise DataError("with_matrix needs a matrix with the same shape and stored entries")
        return Interactions(matrix, self.users, self.items, self.timestamps, self._report)

    def filter(self, min_user: int = 1, min_item: int = 1) -> Interactions:
        """Iterated k-core: drop users with fewer than ``min_user`` and items with fewer than
        ``min_item`` stored entries, again and again until both hold for everyone left.
        Dropped users/items leave the id maps (indices are renumbered in the original order).

        The report records how many entries, users and items were removed.

        Examples
        --------
        >>> inter = Interactions.from_arrays([1, 1, 2, 3], ["a", "b", "a", "a"])
        >>> inter.filter(min_item=2).items.ids.tolist()
        ['a']
        >>> inter.filter(min_user=2, min_item=2).nnz   # user 1 loses "b", then has one entry
        0
        """
        for name, value in (("min_user", min_user), ("min_item", min_item)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        rows, cols, data = self.entries()
        alive = np.ones(self.nnz, dtype=bool)
        keep_users = np.ones(self.n_users, bool)
        keep_items = np.ones(self.n_items, bool)
        while True:
            user_counts = np.bincount(rows[alive], minlength=self.n_users)
            item_counts = np.bincount(cols[alive], minlength=self.n_items)
            bad_users = keep_users & (user_counts < min_user)
            bad_items = keep_items & (item_counts < min_item)
            if not bad_users.any() and not bad_items.any():
                break
            keep_users &= ~bad_users
            keep_items &= ~bad_items
            alive &= keep_users[rows] & keep_items[cols]
        user_map = np.cumsum(keep_users) - 1
        item_map = np.cumsum(keep_items) - 1
        new_rows = user_map[rows[alive]]
        indptr = np.zeros(int(keep_users.sum()) + 1, dtype=np.int64)
        np.cumsum(np.bincount(new_rows, minlength=len(indptr) - 1), out=indptr[1:])
        new = sp.csr_matrix(
            (data[alive], item_map[cols[alive]].astype(self.matrix.indices.dtype), indptr),
            shape=(len(indptr) - 1, int(keep_items.sum())),
        )
        new.has_sorted_indices = True  # column renumbering keeps the order inside a row
        new.has_canonical_format = True
        timestamps = self.timestamps[alive] if self.timestamps is not None else None
        reason = (f"k-core min_user={min_user}, min_item={min_item}: removed "
                  f"{int((~keep_users).sum())} users, {int((~keep_items).sum())} items")
        entry = {"step": "filter", "rows_in": self.nnz, "rows_out": int(alive.sum()),
                 "reason": reason}
        return Interactions(
            new,
            IdIndex._from_unique(self.users._lookup[keep_users]),
            IdIndex._from_unique(self.items._lookup[keep_items]),
            timestamps,
            self._report + (entry,),
        )


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python value (for readable error messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _row(labels: pd.Index, position: Any) -> str:
    """The row label at ``position``, as shown in error messages."""
    return repr(_scalar(labels[int(position)]))


def _merge_sorted(
    rows: np.ndarray,
    cols: np.ndarray,
    weights: np.ndarray | None,
    times: np.ndarray | None,
    duplicates: str,
    shape: tuple[int, int],
) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """Canonical CSR (and aligned timestamps) from events, merging repeats by ``duplicates``.

    Events are ordered by (row, column), then by time when given, then by input position
    (all sorts are stable), so "first"/"last" pick the earliest/latest event of a pair.
    """
    key = rows * shape[1] + cols
    order = np.lexsort((times, key)) if times is not None else np.argsort(key, kind="stable")
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
        timestamps = sorted_times[starts] if duplicates == "first" else sorted_times[ends]
    unique_keys = key[starts]
    out_rows = unique_keys // shape[1]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(out_rows, minlength=shape[0]), out=indptr[1:])
    indices = (unique_keys % shape[1]).astype(np.int32)
    matrix = sp.csr_matrix((data, indices, indptr), shape=shape)
    matrix.has_sorted_indices = True
    matrix.has_canonical_format = True
    return matrix, timestamps
