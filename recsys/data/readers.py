"""Reading event files into frames: every failure becomes a recsys error naming the file.

pandas and pyarrow report damaged input with their own exceptions (``EOFError`` for a
truncated gzip, ``ArrowInvalid`` with a schema dump for Parquet, ``UnicodeDecodeError`` with
a byte offset); the functions here turn each into a :class:`recsys.errors.DataError` that
names the file, and the line where one is known.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from recsys.errors import ColumnError, DataError

# What pandas, the decompressors and pyarrow raise on damaged or unreadable input.
READ_ERRORS = (ValueError, OSError, EOFError, UnicodeDecodeError, TypeError, KeyError,
               OverflowError, pd.errors.ParserWarning)


def read_csv_frame(path: str | PathLike, columns: Sequence[str] | None, **read_kwargs: Any
                   ) -> pd.DataFrame:
    """The ``columns`` (None: all) of a CSV file, every line checked for its number of
    fields.

    All columns are parsed and then cut: pandas counts the fields of each line only without
    ``usecols`` (with it, ``Smith, J,i2`` would silently become user ``Smith``, item `` J``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    >>> _ = path.write_text("user_id,item_id\\nu1,i1\\nSmith, J,i2\\n")
    >>> read_csv_frame(path, ["user_id", "item_id"])
    Traceback (most recent call last):
    ...
    recsys.errors.DataError: ...events.csv, line 3: 3 fields where the header has 2
    """
    encoding = read_kwargs.get("encoding", "utf-8")
    options = {"index_col": False, **read_kwargs}
    try:
        with warnings.catch_warnings():
            # pandas only warns when a line has more fields than names, and drops them.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, **options)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: {_decode_problem(path, exc)}; pass encoding=... (for example "
                        "encoding='latin-1')") from None
    except READ_ERRORS as exc:
        raise DataError(f"{path}{_csv_problem(exc, encoding)}") from None
    if columns is None:
        return frame
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ColumnError(f"column(s) {absent} not in {path}; it has {list(frame.columns)[:20]}")
    return frame[list(dict.fromkeys(columns))]


def _decode_problem(path: str | PathLike, exc: UnicodeDecodeError) -> str:
    """Where the first undecodable byte is: pandas reports an offset within its chunk, so
    the file is decoded again here (only on this error path) to find its line."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        raw.decode(exc.encoding)
    except UnicodeDecodeError as found:
        line = raw.count(b"\n", 0, found.start) + 1
        return (f"line {line}: bytes {raw[found.start:found.end]!r} are not valid "
                f"{found.encoding}")
    except OSError:
        pass
    return f"bytes {exc.object[exc.start:exc.end]!r} are not valid {exc.encoding}"


def _csv_problem(exc: BaseException, encoding: str) -> str:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, seen = found.groups()
        return f", line {line}: {seen} fields where the header has {expected}"
    if isinstance(exc, pd.errors.ParserWarning):
        return ": some lines have more fields than the header"
    if isinstance(exc, pd.errors.EmptyDataError):
        return ": the file is empty"
    if isinstance(exc, EOFError):
        return f": the compressed file is truncated ({message})"
    return f" cannot be read as {encoding} CSV: {message}"


def read_parquet_frame(path: str | PathLike, columns: Sequence[str]) -> pd.DataFrame:
    """The ``columns`` of a Parquet file or directory (pyarrow).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.parquet"
    >>> path.write_bytes(b"not parquet")
    11
    >>> read_parquet_frame(path, ["user_id"])
    Traceback (most recent call last):
    ...
    recsys.errors.DataError: ...events.parquet is not a valid Parquet file: ...
    """
    import pyarrow.dataset as ds

    columns = list(dict.fromkeys(columns))
    try:
        source = ds.dataset(path, format="parquet")
        names = source.schema.names
    except FileNotFoundError:
        raise DataError(f"{path}: no such file or directory") from None
    except READ_ERRORS as exc:
        raise DataError(f"{path} is not a valid Parquet file: {_first_line(exc)}") from None
    absent = [c for c in columns if c not in names]
    if absent:
        raise ColumnError(f"column(s) {absent} not in {path}; it has {names[:20]}")
    try:
        # pandas' reader, for the column types it chooses (its string dtype).
        return pd.read_parquet(path, columns=columns, engine="pyarrow")
    except READ_ERRORS as exc:
        file = _named_file(exc, path)
        raise DataError(f"{file} is not a valid Parquet file: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _named_file(exc: BaseException, path: str | PathLike) -> str:
    """The file of a directory that pyarrow complained about, when its message names it."""
    found = re.search(r"'([^']+\.parquet)'|(/\S+\.parquet)", str(exc))
    if found and Path(path).is_dir():
        return found.group(1) or found.group(2)
    return str(path)
