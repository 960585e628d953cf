"""Item attributes and named item sets saved with a model and loaded back, checked."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.errors import ChecksumError, DataError, ModelFileError
from recsys.serving._files import sha256
from recsys.serving.persistence import MANIFEST

ITEMS = ["a", "b", "c", "d", "e"]


def _model() -> rs.ItemKNN:
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2", "u3", "u3"],
                                        ["a", "b", "b", "c", "d", "e"])
    return rs.ItemKNN(k=5).fit(inter)


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "in_stock": [True, False, True, True],
        "price": [10.5, np.nan, 300.0, 20.0],
        "units": [1, 2, 3, 4],
        "category": ["phones", None, "covers", "tv"],
        "valid_until": pd.to_datetime(["2030-01-01", "2020-01-01", None, "2031-05-05"]),
        "launched": pd.to_datetime(["2024-01-01"] * 4).tz_localize("Europe/Paris"),
        "brand": pd.Categorical(["x", "y", "x", "z"]),
    }, index=["a", "b", "c", "zzz"])  # "zzz": unknown to the model, ignored


@pytest.fixture()
def saved(tmp_path):
    model = _model().set_item_attributes(_table())
    model.item_sets["cheap"] = ["a", "d", "nope"]
    model.item_sets["nothing"] = []
    return model, rs.save(model, tmp_path / "model")


def test_attributes_and_sets_round_trip(saved):
    model, path = saved
    loaded = rs.load(path)
    # Text (categorical included) comes back as pandas' text dtype; the rest keep theirs.
    pd.testing.assert_frame_equal(loaded.item_attributes, model.item_attributes,
                                  check_index_type=False, check_dtype=False,
                                  check_categorical=False)
    kept = ["in_stock", "price", "units", "valid_until", "launched"]
    assert (loaded.item_attributes.dtypes[kept] == model.item_attributes.dtypes[kept]).all()
    assert {name: sorted(ids) for name, ids in loaded.item_sets.items()} == {
        "cheap": ["a", "d"], "nothing": []}
    # The filters answer the same before and after.
    for where in ({"in_stock": True}, {"price": {"lt": 100}}, {"category": {"in": ["tv"]}},
                  {"valid_until": {"gt": "2025-01-01"}}, {"set": "cheap"},
                  {"not": {"brand": "x"}}, {"launched": {"ge": "2023-12-31T23:30:00+00:00"}}):
        before = model.recommend(["u1", "u3"], k=5, exclude_seen=False, where=where)
        after = loaded.recommend(["u1", "u3"], k=5, exclude_seen=False, where=where)
        np.testing.assert_array_equal(before.positions, after.positions, err_msg=str(where))


def test_no_rules_no_section(tmp_path):
    path = rs.save(_model(), tmp_path / "plain")
    assert "item_rules" not in json.loads((path / MANIFEST).read_text())
    assert rs.load(path).item_attributes.shape == (5, 0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False,
                                               width=64)), min_size=5, max_size=5),
       st.lists(st.one_of(st.none(), st.text(max_size=8).filter(lambda s: "\0" not in s)),
                min_size=5, max_size=5),
       st.lists(st.booleans(), min_size=5, max_size=5))
def test_random_tables_round_trip(tmp_path_factory, numbers, texts, flags):
    frame = pd.DataFrame({"x": pd.Series(numbers, dtype="float64"),
                          "t": pd.Series(texts, dtype=object), "f": flags}, index=ITEMS)
    model = _model().set_item_attributes(frame)
    loaded = rs.load(rs.save(model, tmp_path_factory.mktemp("m") / "model"))
    pd.testing.assert_frame_equal(loaded.item_attributes, model.item_attributes,
                                  check_index_type=False, check_dtype=False)
    assert str(loaded.item_attributes["x"].dtype) == "float64"


def test_unsavable_values_are_refused_naming_the_column(tmp_path):
    model = _model().set_item_attributes(pd.DataFrame({"tags": [["x"], "y"]},
                                                      index=["a", "b"]))
    with pytest.raises(DataError, match="'tags'.*item 'a'"):
        rs.save(model, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def _tamper(path, edit) -> None:
    manifest = json.loads((path / MANIFEST).read_text())
    edit(manifest, path)
    (path / MANIFEST).write_text(json.dumps(manifest))


def _rewrite(path, entry, value) -> None:
    """Replace an entry's file and cover the tracks (checksum, shape, dtype)."""
    np.save(path / entry["file"], value, allow_pickle=False)
    with open(path / entry["file"], "rb") as handle:
        entry["sha256"] = sha256(handle)
    entry["shape"], entry["dtype"] = list(value.shape), str(value.dtype)


def _column(manifest, name):
    return next(c for c in manifest["item_rules"]["attributes"] if c["name"] == name)


@pytest.mark.parametrize("edit, error, message", [
    # A changed file without a new checksum.
    (lambda m, p: (p / _column(m, "price")["values"]["file"]).write_bytes(b"x"),
     ChecksumError, "attr.1.values.npy"),
    # Wrong length, wrong dtype, NaN hidden in values: checksums updated to match.
    (lambda m, p: _rewrite(p, _column(m, "price")["values"], np.zeros(3)),
     ModelFileError, "'price'.*expected float64"),
    (lambda m, p: _rewrite(p, _column(m, "in_stock")["values"], np.zeros(5, np.int64)),
     ModelFileError, "'in_stock'.*expected bool"),
    (lambda m, p: _rewrite(p, _column(m, "price")["values"], np.full(5, np.nan)),
     ModelFileError, "'price' holds NaN"),
    (lambda m, p: _rewrite(p, _column(m, "price")["missing"], np.zeros(5, np.int8)),
     ModelFileError, "'price' missing-value mask"),
    (lambda m, p: _rewrite(p, m["item_rules"]["sets"]["cheap"], np.ones(4, bool)),
     ModelFileError, "item set 'cheap'"),
    (lambda m, p: _column(m, "price").update(kind="pickle"), ModelFileError, "unknown kind"),
    (lambda m, p: _column(m, "price").update(name="and"), ModelFileError, "'and' is not"),
    (lambda m, p: _column(m, "price").update(name="units"), ModelFileError, "listed twice"),
    (lambda m, p: _column(m, "launched").update(tz="Mars/Olympus"), ModelFileError,
     "time zone"),
    (lambda m, p: m["item_rules"].update(sets=[]), ModelFileError, "item_rules must hold"),
])
def test_tampered_rules_are_refused(saved, edit, error, message):
    _, path = saved
    _tamper(path, edit)
    with pytest.raises(error, match=message):
        rs.load(path)
