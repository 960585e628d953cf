"""Market baskets (orders, carts, sessions) as a baskets x items :class:`~recsys.data.Dataset`."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd

from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.datasets._text import read_text
from recsys.errors import ColumnError, DataError

BASKET = "basket_id"
ITEM = "item"
FORMATS = ("auto", "lines", "table")


def baskets(
    path_or_frame: str | os.PathLike | pd.DataFrame,
    basket: str | None = None,
    item: str | None = None,
    *,
    format: str = "auto",
    sep: str = ",",
    encoding: str = "utf-8",
) -> Dataset:
    """Load baskets as a binary baskets x items data set (the input of association rules).

    Two layouts are understood:

    - **lines** (the classic "Groceries" format): one basket per line, items separated by
      ``sep``, no header. Basket ids are the 1-based line numbers; blank lines and empty
      fields (trailing commas) are skipped; fields may be quoted.
    - **table**: a DataFrame or a CSV file with a header and one row per (basket, item),
      in columns ``basket`` (default ``"basket_id"``) and ``item`` (default ``"item"``).

    Parameters
    ----------
    path_or_frame : path or pandas.DataFrame
    basket, item : str, optional
        Column names of the table layout. Giving either selects the table layout for a file.
    format : {"auto", "lines", "table"}
        Layout of a file. ``"auto"`` reads a table when the first line holds both column
        names, and lines otherwise.
    sep : str
        Field separator of the file.
    encoding : str
        Text encoding of the file.

    Returns
    -------
    Dataset
        ``interactions``: rows are baskets, columns items, every stored value 1 (an item
        repeated in a basket counts once, duplicates merged by ``"max"``); ``events``: the
        (basket_id, item) rows as read; ``items``: indexed by item, with the number of
        baskets holding it in ``baskets``.

    Raises
    ------
    recsys.errors.ColumnError
        A table lacks the basket or item column.
    recsys.errors.DataError
        Empty input, missing ids (the message names the column and row), unknown format.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"basket_id": [1, 1, 2], "item": ["milk", "bread", "milk"]})
    >>> ds = baskets(table)
    >>> ds.interactions.shape
    (2, 2)
    >>> ds.items["baskets"].to_dict()
    {'milk': 2, 'bread': 1}
    """
    if format not in FORMATS:
        raise DataError(f"format must be one of {FORMATS}, got {format!r}")
    basket_col = basket or BASKET
    item_col = item or ITEM
    if isinstance(path_or_frame, pd.DataFrame):
        return _from_table(path_or_frame, basket_col, item_col, source="the baskets frame")
    path = Path(path_or_frame)
    if not path.is_file():
        raise DataError(f"baskets: {path} is not a file")
    text = read_text(path, encoding)
    if format == "auto":
        format = "table" if (basket or item or _has_header(text, sep, basket_col, item_col)) \
            else "lines"
    if format == "table":
        return _read_table_file(path, text, sep, basket_col, item_col)
    return _from_table(_parse_lines(text, sep), BASKET, ITEM, source=str(path))


def _has_header(text: str, sep: str, basket: str, item: str) -> bool:
    first = next(csv.reader(text.split("\n", 1)[:1], delimiter=sep), [])
    fields = {f.strip() for f in first}
    return basket in fields and item in fields


def _parse_lines(text: str, sep: str) -> pd.DataFrame:
    """(basket_id, item) rows of a one-basket-per-line text; ids are line numbers."""
    basket_ids: list[int] = []
    items: list[str] = []
    for line_no, fields in enumerate(csv.reader(text.split("\n"), delimiter=sep), start=1):
        for field in fields:
            name = field.strip()
            if name:
                basket_ids.append(line_no)
                items.append(name)
    return pd.DataFrame({BASKET: basket_ids, ITEM: items})


def _read_table_file(path: Path, text: str, sep: str, basket: str, item: str) -> Dataset:
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: {str(exc).splitlines()[0]}") from None
    return _from_table(frame, basket, item, source=str(path))


def _from_table(frame: pd.DataFrame, basket: str, item: str, source: str) -> Dataset:
    missing = [c for c in (basket, item) if c not in frame.columns]
    if missing:
        raise ColumnError(f"{source}: column(s) {missing} not found; it has "
                          f"{list(frame.columns)[:20]} (pass basket= and item=)")
    if len(frame) == 0:
        raise DataError(f"{source} holds no baskets")
    inter = Interactions.from_pandas(frame, user=basket, item=item, duplicates="max")
    events = pd.DataFrame({BASKET: frame[basket].to_numpy(), ITEM: frame[item].to_numpy()})
    counts = inter.matrix.getnnz(axis=0)
    items = pd.DataFrame({"baskets": counts},
                         index=pd.Index(inter.items.ids, name=ITEM))
    return Dataset(inter, items=items, events=events)
