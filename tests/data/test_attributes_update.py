"""Partial updates of an item attribute table from JSON rows (``updated_attributes``)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.data.attributes import updated_attributes
from recsys.errors import ColumnError

IDS = ["a", "b", "c", "d", "e"]
rows_strategy = st.lists(
    st.fixed_dictionaries({"item": st.sampled_from(IDS)}, optional={
        "price": st.one_of(st.none(), st.floats(-1e6, 1e6)),
        "in_stock": st.one_of(st.none(), st.booleans()),
        "brand": st.one_of(st.none(), st.sampled_from(["x", "y"]))}),
    max_size=6, unique_by=lambda row: row["item"])


def _table() -> pd.DataFrame:
    return pd.DataFrame({"price": [1.0, 2.0, 3.0], "in_stock": [True, False, True]},
                        index=["a", "b", "c"])


@settings(max_examples=60, deadline=None)
@given(rows_strategy)
def test_update_equals_a_cell_by_cell_reference(rows):
    table = _table()
    out = updated_attributes(table, rows)
    # The reference: a dict of cells, each row's keys written over it.
    cells = {(item, column): value for item, row in table.iterrows()
             for column, value in row.items()}
    for row in rows:
        for column, value in row.items():
            if column != "item":
                cells[(row["item"], column)] = value
    items = list(dict.fromkeys([*table.index, *(row["item"] for row in rows)]))
    assert list(out.index) == items
    for (item, column), value in cells.items():
        got = out.loc[item, column]
        assert (pd.isna(got) and value is None) or got == value, (item, column)
    assert _table().equals(table)  # the input is never modified


@pytest.mark.parametrize("rows, message", [
    ([{"item": "a", "price": "cheap"}], r"rows\[0\].price: 'price' is numeric"),
    ([{"item": "a"}, {"item": "b", "in_stock": "yes"}], r"rows\[1\].in_stock"),
    ([{"item": "a", "colour": "red"}, {"item": "b", "colour": 3}], r"rows\[1\].colour"),
    ([{"item": "a", "not": 1}], r"rows\[0\].not: not a valid attribute name"),
    ([{"price": 1}], r"rows\[0\]: each row names its item"),
    ([{"item": "a"}, {"item": "a"}], "given twice"),
])
def test_bad_rows_are_named(rows, message):
    with pytest.raises(ColumnError, match=message):
        updated_attributes(_table(), rows)


def test_datetimes_follow_their_column_time_zone():
    table = pd.DataFrame({"until": pd.to_datetime(["2030-01-01"]).tz_localize("UTC")},
                         index=["a"])
    out = updated_attributes(table, [{"item": "a", "until": "2031-01-01T02:00:00+02:00"}])
    assert out.loc["a", "until"] == pd.Timestamp("2031-01-01T00:00:00Z")
    naive = pd.DataFrame({"until": pd.to_datetime(["2030-01-01"])}, index=["a"])
    with pytest.raises(ColumnError, match="without a time zone"):
        updated_attributes(naive, [{"item": "a", "until": "2031-01-01T00:00:00+02:00"}])


def test_replace_starts_from_nothing():
    out = updated_attributes(_table(), [{"item": "z", "price": 5}], replace=True)
    assert list(out.index) == ["z"] and list(out.columns) == ["price"]
