"""Item attributes and the filter language over them: business rules as boolean item masks.

A filter is a JSON-like mapping compiled once per request, by vectorized column operations,
into a boolean mask over the items; the ranking layer applies it like any allow-list.

Grammar (keys of one mapping are combined with *and*):

- ``{"column": value}``: equality (a string, number or boolean);
- ``{"column": {"op": value, ...}}`` with ``op`` one of ``eq``, ``ne``, ``lt``, ``le``,
  ``gt``, ``ge`` (numbers, or timestamps given as strings for datetime columns), ``in`` and
  ``not_in`` (a list);
- ``{"and": [filter, ...]}``, ``{"or": [filter, ...]}``, ``{"not": filter}``;
- ``{"set": "name"}`` (or a list of names): items of a named item set.

A missing value (NaN, None) satisfies no comparison, and ``not`` of a comparison on it is
True, as in pandas. ``and``, ``or``, ``not`` and ``set`` are reserved words, never columns.

Examples
--------
>>> frame = pd.DataFrame({"category": ["phones", "covers", "tv"], "price": [300, 20, 900],
...                       "in_stock": [True, True, False]}, index=["a", "b", "c"])
>>> compile_filter({"in_stock": True, "price": {"lt": 500}}, frame).tolist()
[True, True, False]
>>> compile_filter({"or": [{"category": "tv"}, {"price": {"ge": 250}}]}, frame).tolist()
[True, False, True]
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recsys.errors import ColumnError, ConfigError, FilterError

LOGICAL = ("and", "or", "not")
SET = "set"
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
MEMBERSHIP = ("in", "not_in")
# Bounds on a filter's size: a request cannot make the server walk an unbounded tree.
MAX_DEPTH = 16
MAX_NODES = 1000
MAX_LIST = 100_000
# The largest integer operand compared on a column's int64 values (a larger Python int goes
# through pandas, which compares it exactly).
INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class FastColumn:
    """One attribute column in the form a filter reads fastest: numbers and booleans as a
    numpy array, text as integer codes (-1: missing) with the code of each value."""

    values: np.ndarray
    present: np.ndarray  # False where the value is missing
    codes: dict | None = None  # text columns: value -> code


@dataclass
class AttributeTable:
    """Item attributes with each column's :class:`FastColumn`, built on first use.

    A filter on a text column of 100k items compared Python strings per request (7 ms for
    ``{"in": [...]}``, five times the ranking itself); against codes computed once it is an
    array lookup (benchmarks/filters.py). Build one per attribute table and keep it while the
    table is unchanged.
    """

    frame: pd.DataFrame
    _columns: dict[Any, FastColumn | None] = field(default_factory=dict)

    def column(self, name: Any) -> FastColumn | None:
        """``name``'s fast form; None for columns compared through pandas (datetimes)."""
        if name not in self._columns:
            self._columns[name] = _fast_column(self.frame[name])
        return self._columns[name]


def _fast_column(series: pd.Series) -> FastColumn | None:
    kind = series.dtype.kind
    present = series.notna().to_numpy(dtype=bool)
    if kind == "b":
        return FastColumn(series.to_numpy(dtype=bool, na_value=False), present)
    if kind in "iu":
        return FastColumn(series.to_numpy(dtype=np.int64 if kind == "i" else np.uint64,
                                          na_value=0), present)
    if kind == "f":
        return FastColumn(series.to_numpy(dtype=np.float64, na_value=np.nan), present)
    if kind == "O" and series[present].map(type).eq(str).all():
        codes, uniques = pd.factorize(series)
        return FastColumn(codes, present, {value: code for code, value in enumerate(uniques)})
    return None


def compile_filter(where: Mapping, frame: pd.DataFrame | AttributeTable,
                   sets: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """A boolean mask over the rows of ``frame`` (the items, in model order).

    Parameters
    ----------
    where : mapping
        The filter (see the module docstring).
    frame : pandas.DataFrame or AttributeTable
        Item attributes, one row per item (an :class:`AttributeTable` keeps the columns'
        fast forms across calls).
    sets : mapping of name -> boolean mask, optional
        Named item sets usable as ``{"set": name}``.

    Raises
    ------
    FilterError
        An unknown attribute or set, an unknown operator, a value of the wrong type for its
        column, or a filter beyond the size limits; the message names the path in the filter.
    """
    table = frame if isinstance(frame, AttributeTable) else AttributeTable(frame)
    return _compile(where, table, sets or {}, "where", 0, [0])


def _compile(node: Any, table: AttributeTable, sets: Mapping[str, np.ndarray], path: str,
             depth: int, counter: list[int]) -> np.ndarray:
    counter[0] += 1
    if depth > MAX_DEPTH or counter[0] > MAX_NODES:
        raise FilterError(f"{path}: the filter is too large (at most {MAX_DEPTH} levels and "
                          f"{MAX_NODES} conditions)")
    if not isinstance(node, Mapping) or not node:
        raise FilterError(f"{path}: a filter is a non-empty mapping, got {_short(node)}")
    mask = np.ones(len(table.frame), bool)
    for key, value in node.items():
        where = f"{path}.{_name(key)}"
        if key == "and" or key == "or":
            if not isinstance(value, list) or not value:
                raise FilterError(f"{where}: expects a non-empty list of filters")
            parts = [_compile(v, table, sets, f"{where}[{i}]", depth + 1, counter)
                     for i, v in enumerate(value)]
            mask &= np.logical_and.reduce(parts) if key == "and" else np.logical_or.reduce(parts)
        elif key == "not":
            mask &= ~_compile(value, table, sets, where, depth + 1, counter)
        elif key == SET:
            mask &= _in_sets(value, sets, where)
        else:
            mask &= _column_condition(table, key, value, where)
    return mask


def _in_sets(value: Any, sets: Mapping[str, np.ndarray], where: str) -> np.ndarray:
    names = value if isinstance(value, list) else [value]
    unknown = [n for n in names if not isinstance(n, str) or n not in sets]
    if unknown or not names:
        raise FilterError(f"{where}: unknown item set {_short(unknown[0] if unknown else [])}; "
                          f"known: {sorted(sets)[:20]}")
    return np.logical_or.reduce([sets[n] for n in names])


def _column_condition(table: AttributeTable, column: Any, value: Any,
                      where: str) -> np.ndarray:
    frame = table.frame
    if column not in frame.columns:
        raise FilterError(f"{where}: unknown item attribute {_short(column)}; attributes: "
                          f"{[str(c) for c in frame.columns[:20]]}")
    series, fast = frame[column], table.column(column)
    if not isinstance(value, Mapping):
        return _compare(series, fast, "eq", value, where)
    if not value:
        raise FilterError(f"{where}: an empty condition")
    mask = np.ones(len(frame), bool)
    for op, operand in value.items():
        if op in COMPARISONS:
            mask &= _compare(series, fast, op, operand, f"{where}.{_name(op)}")
        elif op in MEMBERSHIP:
            inside = _membership(series, fast, operand, f"{where}.{_name(op)}")
            mask &= inside if op == "in" else ~inside
        else:
            raise FilterError(f"{where}: unknown operator {_short(op)}; use one of "
                              f"{list(COMPARISONS + MEMBERSHIP)}")
    return mask


def _operand(series: pd.Series, value: Any, where: str) -> Any:
    """``value`` checked against the column's kind (and parsed, for datetimes)."""
    kind = series.dtype.kind
    if isinstance(value, (list, dict)) or value is None:
        raise FilterError(f"{where}: expects a single value, got {_short(value)}")
    if kind == "b":
        if not isinstance(value, (bool, np.bool_)):
            raise FilterError(f"{where}: {series.name!r} is boolean; got {_short(value)}")
    elif kind in "iuf":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise FilterError(f"{where}: {series.name!r} is numeric; got {_short(value)}")
    elif kind == "M":
        try:
            return pd.Timestamp(value)
        except (TypeError, ValueError):
            raise FilterError(f"{where}: {series.name!r} holds timestamps; "
                              f"{_short(value)} is not one") from None
    elif not isinstance(value, str):
        raise FilterError(f"{where}: {series.name!r} holds text; got {_short(value)}")
    return value


def _compare(series: pd.Series, fast: FastColumn | None, op: str, value: Any,
             where: str) -> np.ndarray:
    value = _operand(series, value, where)
    kind = series.dtype.kind
    if op in ("lt", "le", "gt", "ge") and kind not in "iufM":
        raise FilterError(f"{where}: {op!r} needs a numeric or datetime attribute; "
                          f"{series.name!r} is {series.dtype}")
    if fast is not None and fast.codes is not None:  # text: equal or not, by code
        result = fast.values == fast.codes.get(value, -2)
        return (result if op == "eq" else ~result) & fast.present
    if fast is not None and not (isinstance(value, int) and abs(value) > INT64_MAX):
        result = getattr(operator, op)(fast.values, value)
    else:
        result = getattr(series, op)(value).to_numpy(dtype=bool, na_value=False)
    return result & (series.notna().to_numpy() if fast is None else fast.present)


def _membership(series: pd.Series, fast: FastColumn | None, values: Any,
                where: str) -> np.ndarray:
    if not isinstance(values, list):
        raise FilterError(f"{where}: expects a list, got {_short(values)}")
    if len(values) > MAX_LIST:
        raise FilterError(f"{where}: at most {MAX_LIST} values")
    checked = [_operand(series, v, f"{where}[{i}]") for i, v in enumerate(values)]
    if fast is not None and fast.codes is not None:  # text: a lookup table over the codes
        wanted = np.zeros(len(fast.codes) + 1, bool)  # the last slot: missing (code -1)
        wanted[[fast.codes[v] for v in checked if v in fast.codes]] = True
        return wanted[fast.values]
    return series.isin(checked).to_numpy(dtype=bool, na_value=False)


def _name(key: Any, limit: int = 40) -> str:
    """A filter key as shown in a path (keys may come from a request)."""
    text = str(key)
    return text if len(text) <= limit else text[:limit] + "..."


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (values may come from a request)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...'"


def align_attributes(frame: pd.DataFrame, item_ids: np.ndarray) -> pd.DataFrame:
    """``frame`` (indexed by item id) reindexed to ``item_ids``: rows of items it lacks hold
    missing values, rows of ids not in ``item_ids`` are dropped.

    Raises
    ------
    ColumnError
        The index holds duplicate item ids, or a column name is a reserved word.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"item attributes must be a DataFrame indexed by item id, got "
                          f"{type(frame).__name__}")
    duplicated = frame.index[frame.index.duplicated()]
    if len(duplicated):
        raise ColumnError(f"item attributes: item id {_short(duplicated[0])} appears more "
                          "than once in the index")
    reserved = [c for c in frame.columns if c in LOGICAL or c == SET]
    if reserved:
        raise ColumnError(f"item attributes: column {reserved[0]!r} is a reserved word of "
                          "the filter language; rename it")
    aligned = frame.reindex(pd.Index(item_ids, dtype=object))
    for column in frame.columns:  # booleans with gaps stay booleans
        if pd.api.types.is_bool_dtype(frame[column].dtype):
            aligned[column] = aligned[column].astype("boolean")
    return aligned


class ItemSets(MutableMapping):
    """Named item sets of a model (``model.item_sets["in_stock"] = ids``), usable by name in
    filters (``where={"set": "in_stock"}``) so that large allow-lists never travel per
    request. Each set is kept as the ids given and as a boolean mask over the model's items,
    computed once when the set is assigned (ids unknown to the model are ignored).

    Examples
    --------
    >>> sets = ItemSets(lambda ids: np.isin(np.array(["a", "b", "c"]), ids))
    >>> sets["cheap"] = ["a", "c"]
    >>> sets.masks()["cheap"].tolist()
    [True, False, True]
    """

    def __init__(self, to_mask: Callable[[np.ndarray], np.ndarray]) -> None:
        self._to_mask = to_mask
        self._ids: dict[str, np.ndarray] = {}
        self._masks: dict[str, np.ndarray] = {}

    def __setitem__(self, name: str, ids: Any) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"an item set is named by a non-empty string, got {_short(name)}")
        ids = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
        self._masks[name] = self._to_mask(ids)
        self._ids[name] = ids

    def __getitem__(self, name: str) -> np.ndarray:
        return self._ids[name]

    def __delitem__(self, name: str) -> None:
        del self._ids[name], self._masks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"ItemSets({ {name: len(ids) for name, ids in self._ids.items()} })"

    def masks(self) -> dict[str, np.ndarray]:
        """Boolean masks over the items, by set name."""
        return self._masks


def updated_attributes(table: pd.DataFrame | None, rows: list[Mapping[str, Any]], *,
                       key: str = "item", replace: bool = False) -> pd.DataFrame:
    """``table`` with ``rows`` written over it: what a partial update from JSON makes of it.

    Each row names its item under ``key`` and gives new values of some attributes (a key left
    out leaves that value as it was; None makes it missing). Values must fit their column:
    booleans, numbers, text, or timestamps as text for a datetime column; a new column takes
    the type of its values. Items and columns not in ``table`` are added. Nothing is changed
    when any value is wrong: the error names the row and the column.

    Parameters
    ----------
    table : pandas.DataFrame or None
        The current attributes, indexed by item id.
    rows : list of mappings
    key : str
        The field of each row holding the item id.
    replace : bool
        Start from an empty table (the rows are the whole new table).

    Raises
    ------
    ColumnError
        A row without its item, an item given twice, a reserved or unknown-type column, or a
        value that does not fit its column.

    Examples
    --------
    >>> table = pd.DataFrame({"in_stock": [True, True], "price": [5.0, 7.0]}, index=["a", "b"])
    >>> updated_attributes(table, [{"item": "b", "in_stock": False},
    ...                            {"item": "c", "price": 3}]).to_dict("list")
    {'in_stock': [True, False, None], 'price': [5.0, 7.0, 3.0]}
    >>> updated_attributes(table, [{"item": "a", "price": "cheap"}])
    Traceback (most recent call last):
    ...
    recsys.errors.ColumnError: rows[0].price: 'price' is numeric; got 'cheap'
    """
    table = pd.DataFrame() if table is None or replace else table
    ids: list[Any] = []
    columns: dict[str, tuple[list[int], list[Any]]] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or key not in row:
            raise ColumnError(f"rows[{i}]: each row names its item under {key!r}")
        ids.append(row[key])
        for column, value in row.items():
            if column == key:
                continue
            if not isinstance(column, str) or column in LOGICAL or column == SET or not column:
                raise ColumnError(f"rows[{i}].{_name(column)}: not a valid attribute name "
                                  "(and, or, not, set are reserved)")
            positions, values = columns.setdefault(column, ([], []))
            positions.append(i)
            values.append(value)
    given = pd.Index(ids, dtype=object)
    if given.has_duplicates:
        raise ColumnError(f"rows: item {_short(given[given.duplicated()][0])} is given twice")
    index = table.index.append(given.difference(table.index, sort=False)) \
        if len(table.index) else given
    out = pd.DataFrame(index=pd.Index(index, dtype=object))
    for column in table.columns:
        out[column] = _nullable(table[column]).reindex(out.index)
    for column, (positions, values) in columns.items():
        current = out[column] if column in out.columns else None
        typed = _typed_values(current, column, positions, values)
        if current is None:
            out[column] = pd.Series(index=out.index, dtype=typed.dtype)  # all missing
        out.loc[given[positions], column] = typed.to_numpy()
    return out


def _nullable(series: pd.Series) -> pd.Series:
    """A column that keeps its type when rows are added (missing values for them)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("boolean")
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype("Int64")
    return series


def _typed_values(current: pd.Series | None, column: str, positions: list[int],
                  values: list[Any]) -> pd.Series:
    """The values given for ``column`` as a series of its type, each checked."""
    present = [(p, v) for p, v in zip(positions, values, strict=True) if v is not None]
    if current is None:
        kinds = {_json_kind(v) for _, v in present}
        if len(kinds) > 1 or None in kinds:
            odd = next(p for p, v in present if _json_kind(v) != _json_kind(present[0][1]))
            raise ColumnError(f"rows[{odd}].{_name(column)}: a new attribute takes one type; "
                              f"its values mix {sorted(str(k) for k in kinds)}")
        first = next(iter(kinds), None) or "float"  # no value given: a float column
        dtype = {"bool": "boolean", "int": "Int64", "float": "float64"}.get(first, object)
        probe = pd.Series([], dtype=dtype, name=column)
    else:
        probe = current
    kind = probe.dtype.kind if not isinstance(probe.dtype, pd.CategoricalDtype) else "O"
    checked: list[Any] = []
    for p, v in zip(positions, values, strict=True):
        where = f"rows[{p}].{_name(column)}"
        if v is None:
            checked.append(None)
            continue
        try:
            value = _operand(probe, v, where)
        except FilterError as exc:
            raise ColumnError(str(exc)) from None
        if kind == "M":
            value = _in_zone(value, getattr(probe.dtype, "tz", None), where)
        elif kind in "iu" and isinstance(value, float) and not value.is_integer():
            raise ColumnError(f"{where}: {column!r} holds integers; got {value!r}")
        checked.append(value)
    return pd.Series(checked, dtype=probe.dtype if kind != "O" else object)


def _json_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return None


def _in_zone(value: pd.Timestamp, tz: Any, where: str) -> pd.Timestamp:
    """A timestamp given for a datetime column, in the column's time zone."""
    if tz is None:
        if value.tz is not None:
            raise ColumnError(f"{where}: the column holds times without a time zone; got "
                              f"{value.isoformat()}")
        return value
    return value.tz_localize(tz) if value.tz is None else value.tz_convert(tz)
