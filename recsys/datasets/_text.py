"""Reading the delimited text files of public data sets with errors that name file and line."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from recsys.errors import ColumnError, DataError


def require_file(directory: Path, name: str, what: str) -> Path:
    """``directory / name``, or a DataError saying which file of which data set is missing."""
    path = directory / name
    if not path.is_file():
        raise DataError(f"{what}: {name} not found in {directory}")
    return path


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The whole file as text with every line ending (LF, CRLF, CR) turned into LF."""
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}, line {line}: bytes {raw[exc.start:exc.end]!r} are not valid "
                        f"{encoding}; pass the right encoding") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_table(
    source: Path | str,
    *,
    file: Path,
    sep: str,
    dtypes: Mapping[str, str],
    names: Sequence[str] | None = None,
    header: bool = False,
    quoting: int = csv.QUOTE_NONE,
    encoding: str = "utf-8",
    engine: str = "c",
) -> pd.DataFrame:
    """Read a delimited table fast; on bad input, find the first bad line and name it.

    Parameters
    ----------
    source : path or str
        A file, or its already decoded and normalised text.
    file : pathlib.Path
        The file named in error messages.
    sep : str
        One-character field separator.
    dtypes : dict column -> dtype
        Columns to keep (all of them must exist) and their types; ``"str"`` for text.
    names : list of str, optional
        All column names of a file without a header (``header=False``).
    header : bool
        The first line names the columns.
    quoting : int
        A ``csv`` quoting constant; most data-set files have bare quotes inside titles.
    encoding, engine : str
        Passed to :func:`pandas.read_csv` when ``source`` is a path.

    Raises
    ------
    recsys.errors.ColumnError
        A column of ``dtypes`` is absent from the header.
    recsys.errors.DataError
        A line with the wrong number of fields, a missing or non-numeric value: the message
        names the file and the line.
    """
    # All columns are read, then cut: pandas checks line lengths only without usecols.
    options = dict(sep=sep, header=0 if header else None, names=None if header else names,
                   quoting=quoting, index_col=False)
    if engine == "pyarrow":  # its reader has neither option and rejects long lines itself
        options.pop("quoting")
        options.pop("index_col")
    try:
        with warnings.catch_warnings():
            # pandas only warns when a line has more fields than names, and drops them.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(_reopen(source), dtype=dict(dtypes), engine=engine,
                                **options, **_encoding(source, encoding))
        wanted = list(dtypes)
        return frame if list(frame.columns) == wanted else frame[wanted]
    except (ValueError, TypeError, KeyError, OverflowError, pd.errors.ParserWarning) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        text = source if isinstance(source, str) else read_text(Path(source), encoding)
        _diagnose(text, file, sep, quoting, dtypes, names if not header else None)
        raise DataError(f"{file}: {message}") from None


def _reopen(source: Path | str):
    return io.StringIO(source) if isinstance(source, str) else source


def _encoding(source: Path | str, encoding: str) -> dict:
    return {} if isinstance(source, str) else {"encoding": encoding}


def _diagnose(text: str, file: Path, sep: str, quoting: int, dtypes: Mapping[str, str],
              names: Sequence[str] | None) -> None:
    """Walk the lines in plain Python to find the first bad one; raise a DataError naming it.

    Only runs after the fast reader failed, so its slowness does not matter.
    """
    lines = csv.reader(text.split("\n"), delimiter=sep, quoting=quoting)  # type: ignore[arg-type]
    line_no = 0
    if names is None:
        names = next(lines, [])
        line_no = 1
    positions = {}
    for column in dtypes:
        if column not in names:
            raise ColumnError(f"{file}: column {column!r} not found; it has {list(names)[:20]}")
        positions[column] = list(names).index(column)
    for fields in lines:
        line_no += 1
        if not fields:  # blank line: pandas skips it too
            continue
        if len(fields) != len(names):
            raise DataError(f"{file}, line {line_no}: {len(fields)} fields, expected "
                            f"{len(names)} ({sep!r}-separated)")
        for column, dtype in dtypes.items():
            if dtype != "str":
                _check_number(fields[positions[column]], dtype, file, line_no, column)


def _check_number(value: str, dtype: str, file: Path, line_no: int, column: str) -> None:
    parse = int if "int" in dtype.lower() else float
    if not value.strip():
        raise DataError(f"{file}, line {line_no}: column {column!r} is missing")
    try:
        parse(value)
    except ValueError:
        raise DataError(f"{file}, line {line_no}: column {column!r} is not a number: "
                        f"{value!r}") from None
