"""Basket loader: the real Groceries file from ../shared/data and small hand-written inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.datasets import baskets
from recsys.errors import ColumnError, DataError


@pytest.fixture(scope="module")
def groceries(groceries_csv):
    return baskets(groceries_csv)


def same_matrix(a, b) -> None:
    """Two basket data sets hold the same (basket, item) pairs, whatever their index order."""
    left = a.interactions.to_pandas().sort_values(["user", "item"], ignore_index=True)
    right = b.interactions.to_pandas().sort_values(["user", "item"], ignore_index=True)
    pd.testing.assert_frame_equal(left, right)
    assert a.interactions.shape == b.interactions.shape


def test_groceries_size(groceries):
    inter = groceries.interactions
    assert inter.n_users == 9835  # baskets
    assert inter.n_items == 169
    # arules reports a density of 0.02609146 for Groceries: 43,367 (basket, item) pairs.
    assert inter.nnz == 43_367
    assert set(np.unique(inter.matrix.data)) == {1.0}


def test_groceries_item_counts_and_ids(groceries, groceries_csv):
    counts = groceries.items["baskets"]
    assert counts["whole milk"] == 2513
    assert counts["other vegetables"] == 1903
    assert counts.idxmax() == "whole milk"
    # Basket ids are line numbers: line 3 of the file is the single item "whole milk".
    lines = groceries_csv.read_text().splitlines()
    assert lines[2] == "whole milk"
    row = groceries.interactions.users.to_index([3])[0]
    items = groceries.interactions.items.to_ids(groceries.interactions.matrix[row].indices)
    assert items.tolist() == ["whole milk"]
    first = set(lines[0].split(","))
    assert set(groceries.events.loc[groceries.events["basket_id"] == 1, "item"]) == first


def test_table_form_equals_file_form(groceries, tmp_path):
    table = groceries.events.copy()
    from_frame = baskets(table)
    same_matrix(from_frame, groceries)
    csv = tmp_path / "orders.csv"
    table.to_csv(csv, index=False)
    from_csv = baskets(csv)  # header detected: the table layout
    same_matrix(from_csv, groceries)
    pd.testing.assert_series_equal(
        from_csv.items["baskets"].sort_index(), groceries.items["baskets"].sort_index())


def test_table_with_other_column_names_and_repeats():
    table = pd.DataFrame({"order": ["o1", "o1", "o1", "o2"],
                          "sku": ["milk", "bread", "milk", "milk"],
                          "qty": [2, 1, 3, 1]})
    ds = baskets(table, basket="order", item="sku")
    frame = ds.interactions.to_pandas()
    assert sorted(zip(frame["user"], frame["item"], frame["weight"], strict=True)) == [
        ("o1", "bread", 1.0), ("o1", "milk", 1.0), ("o2", "milk", 1.0)]
    assert ds.items["baskets"].to_dict() == {"milk": 2, "bread": 1}
    assert list(ds.events.columns) == ["basket_id", "item"]
    assert len(ds.events) == 4  # the events keep the rows as given


def test_lines_format_details(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b'milk,bread\r\n\r\n"cheese, aged",milk,\n  eggs , milk ,milk\n')
    ds = baskets(path)
    frame = ds.interactions.to_pandas()
    got = {b: sorted(frame.loc[frame["user"] == b, "item"]) for b in frame["user"].unique()}
    assert got == {1: ["bread", "milk"], 3: ["cheese, aged", "milk"], 4: ["eggs", "milk"]}


def test_format_can_be_forced(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("basket_id,item\n")  # a one-line basket of two items named like columns
    ds = baskets(path, format="lines")
    assert ds.interactions.shape == (1, 2)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ColumnError, match="basket_id"):
        baskets(pd.DataFrame({"order": [1], "item": ["a"]}))
    with pytest.raises(DataError, match="'item'"):
        baskets(pd.DataFrame({"basket_id": [1, 2], "item": ["a", None]}))
    with pytest.raises(DataError, match="no baskets"):
        baskets(pd.DataFrame({"basket_id": [], "item": []}))
    with pytest.raises(DataError, match="format"):
        baskets(pd.DataFrame({"basket_id": [1], "item": ["a"]}), format="json")
    with pytest.raises(DataError, match="not a file"):
        baskets(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(DataError, match="no baskets"):
        baskets(empty)
