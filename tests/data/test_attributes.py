"""The filter language against a pandas reference, its errors, and where-filters in recommend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.data.attributes import MAX_DEPTH, AttributeTable, align_attributes, compile_filter
from recsys.errors import FilterError

CATEGORIES = ["phones", "covers", "tv", "audio"]


@st.composite
def tables(draw):
    n = draw(st.integers(1, 30))
    frame = pd.DataFrame({
        "category": draw(st.lists(st.sampled_from(CATEGORIES), min_size=n, max_size=n)),
        "price": draw(st.lists(st.one_of(st.floats(0, 1000), st.just(np.nan)),
                               min_size=n, max_size=n)),
        "in_stock": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "stock": draw(st.lists(st.integers(0, 20), min_size=n, max_size=n)),
    }, index=[f"i{j}" for j in range(n)])
    return frame


def conditions():
    """(filter, pandas reference) pairs built together."""
    price = st.floats(0, 1000)
    leaf = st.one_of(
        st.sampled_from(CATEGORIES).map(
            lambda c: ({"category": c}, lambda f, c=c: f["category"] == c)),
        st.booleans().map(lambda b: ({"in_stock": b}, lambda f, b=b: f["in_stock"] == b)),
        st.tuples(st.sampled_from(["lt", "le", "gt", "ge", "eq", "ne"]), price).map(
            lambda t: ({"price": {t[0]: t[1]}},
                       lambda f, t=t: getattr(f["price"], t[0])(t[1]) & f["price"].notna())),
        st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3).map(
            lambda cs: ({"category": {"in": cs}}, lambda f, cs=cs: f["category"].isin(cs))),
        st.lists(st.integers(0, 20), min_size=1, max_size=3).map(
            lambda vs: ({"stock": {"not_in": vs}}, lambda f, vs=vs: ~f["stock"].isin(vs))),
        # Text compared by code: "ne", values absent from the column, missing values.
        st.tuples(st.sampled_from(["eq", "ne"]), st.sampled_from(CATEGORIES + ["games"])).map(
            lambda t: ({"category": {t[0]: t[1]}},
                       lambda f, t=t: getattr(f["category"], t[0])(t[1]) & f["category"].notna())),
        st.lists(st.sampled_from(CATEGORIES + ["games"]), min_size=1, max_size=3).map(
            lambda cs: ({"category": {"not_in": cs}}, lambda f, cs=cs: ~f["category"].isin(cs))),
        # Integers against floats and against Python ints beyond int64.
        st.tuples(st.sampled_from(["lt", "le", "gt", "ge", "eq", "ne"]),
                  st.one_of(st.integers(-5, 25), st.floats(-5, 25),
                            st.sampled_from([2 ** 63, -(2 ** 70)]))).map(
            lambda t: ({"stock": {t[0]: t[1]}},
                       lambda f, t=t: getattr(f["stock"], t[0])(t[1]) & f["stock"].notna())),
    )

    def combine(children):
        def all_of(parts):
            return ({"and": [p[0] for p in parts]},
                    lambda f: np.logical_and.reduce([p[1](f) for p in parts]))

        def any_of(parts):
            return ({"or": [p[0] for p in parts]},
                    lambda f: np.logical_or.reduce([p[1](f) for p in parts]))

        return st.one_of(
            st.lists(children, min_size=1, max_size=3).map(all_of),
            st.lists(children, min_size=1, max_size=3).map(any_of),
            children.map(lambda p: ({"not": p[0]}, lambda f, p=p: ~p[1](f))),
        )

    return st.recursive(leaf, combine, max_leaves=8)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(frame=tables(), condition=conditions())
def test_filters_equal_their_pandas_reference(frame, condition):
    where, reference = condition
    expected = np.asarray(reference(frame), bool)
    np.testing.assert_array_equal(compile_filter(where, frame), expected)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(frame=tables(), condition=conditions(), extra=st.integers(1, 5))
def test_filters_on_aligned_attributes_with_gaps_equal_their_pandas_reference(frame, condition,
                                                                              extra):
    """Items without attributes hold missing values (nullable booleans and integers, NaN
    text): the compiled columns agree with pandas, also when reused across filters."""
    aligned = align_attributes(frame, np.array(list(frame.index) + [f"new{j}"
                                                                   for j in range(extra)]))
    where, reference = condition
    # The reference sees plain missing values (NaN), which fail every comparison, as the
    # filter language's missing values do (pandas' NA would propagate through "not").
    plain = aligned.assign(
        in_stock=aligned["in_stock"].astype(object).where(aligned["in_stock"].notna(), np.nan),
        stock=aligned["stock"].astype("float64"))
    expected = np.asarray(reference(plain), bool)
    table = AttributeTable(aligned)
    np.testing.assert_array_equal(compile_filter(where, table), expected)
    np.testing.assert_array_equal(compile_filter(where, table), expected)  # cached columns


def test_keys_of_one_mapping_are_anded_and_sets_are_named():
    frame = pd.DataFrame({"in_stock": [True, True, False], "price": [10.0, 600.0, 5.0]})
    sets = {"promo": np.array([True, False, True])}
    got = compile_filter({"in_stock": True, "price": {"lt": 500}}, frame)
    assert got.tolist() == [True, False, False]
    assert compile_filter({"set": "promo"}, frame, sets).tolist() == [True, False, True]
    assert compile_filter({"set": "promo", "in_stock": True}, frame, sets).tolist() == [
        True, False, False]


@pytest.mark.parametrize("where, message", [
    ({"colour": "red"}, "unknown item attribute 'colour'"),
    ({"price": "cheap"}, "'price' is numeric"),
    ({"price": True}, "'price' is numeric"),
    ({"in_stock": 1}, "'in_stock' is boolean"),
    ({"category": 3}, "'category' holds text"),
    ({"category": {"lt": "m"}}, "'lt' needs a numeric"),
    ({"price": {"below": 3}}, "unknown operator 'below'"),
    ({"price": {"in": 3}}, "expects a list"),
    ({"price": {"lt": [1, 2]}}, "expects a single value"),
    ({"price": {"lt": None}}, "expects a single value"),
    ({"and": {"price": 1}}, "non-empty list"),
    ({"or": []}, "non-empty list"),
    ({"not": []}, "non-empty mapping"),
    ({"set": "vip"}, "unknown item set 'vip'"),
    ({}, "non-empty mapping"),
    ("in_stock", "non-empty mapping"),
    ({"price": {}}, "empty condition"),
    ({"x" * 5000: 1}, "unknown item attribute"),
])
def test_bad_filters_name_what_is_wrong(where, message):
    frame = pd.DataFrame({"category": ["tv"], "price": [1.0], "in_stock": [True]})
    with pytest.raises(FilterError, match=message) as info:
        compile_filter(where, frame)
    assert len(str(info.value)) < 400  # hostile names are cut, not echoed whole


def test_hostile_filters_are_bounded():
    frame = pd.DataFrame({"price": [1.0]})
    deep: dict = {"price": 1.0}
    for _ in range(MAX_DEPTH + 2):
        deep = {"not": deep}
    with pytest.raises(FilterError, match="too large"):
        compile_filter(deep, frame)
    wide = {"or": [{"price": float(i)} for i in range(5000)]}
    with pytest.raises(FilterError, match="too large"):
        compile_filter(wide, frame)


def test_alignment_rejects_duplicates_and_reserved_names():
    with pytest.raises(rs.errors.ColumnError, match="more than once"):
        align_attributes(pd.DataFrame({"a": [1, 2]}, index=["x", "x"]), np.array(["x"]))
    with pytest.raises(rs.errors.ColumnError, match="reserved"):
        align_attributes(pd.DataFrame({"not": [1]}, index=["x"]), np.array(["x"]))
    aligned = align_attributes(pd.DataFrame({"ok": [True]}, index=["x"]), np.array(["y", "x"]))
    assert aligned["ok"].isna().tolist() == [True, False]  # missing item: missing value


@pytest.fixture(scope="module")
def shop():
    ds = rs.datasets.demo()
    attributes = ds.items[["category", "brand", "price"]].copy()
    rng = np.random.default_rng(0)
    attributes["in_stock"] = rng.random(len(attributes)) < 0.7
    return ds, attributes


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_where_never_returns_a_filtered_item(shop, index):
    ds, attributes = shop
    model = rs.ALS(factors=16, iterations=5, seed=0, threads=1, index=index,
                   index_params={"M": 16} if index == "hnsw" else None).fit(ds.interactions)
    model.set_item_attributes(attributes)
    users = list(ds.interactions.users.ids[:300])
    for where in ({"in_stock": True}, {"in_stock": True, "price": {"lt": 50}},
                  {"category": {"in": sorted(attributes["category"].unique())[:2]}},
                  {"not": {"in_stock": True}}):
        aligned = attributes.loc[model.items_.ids]
        allowed = set(aligned.index[compile_filter(where, aligned)])
        frame = model.recommend(users, k=20, where=where).to_pandas()
        assert set(frame["item"]) <= allowed, where
        # Same as ranking everything and keeping the allowed items, as an allow-list does.
        listed = model.recommend(users, k=20, items=sorted(allowed)).to_pandas()
        pd.testing.assert_frame_equal(frame, listed)


def test_attributes_and_sets_survive_a_refit_and_need_none(shop):
    ds, attributes = shop
    model = rs.ItemKNN().fit(ds.interactions)
    model.set_item_attributes(attributes)
    model.item_sets["promo"] = attributes.index[:40]
    user = ds.interactions.users.ids[0]
    recs = model.recommend([user], k=10, where={"set": "promo", "in_stock": True})
    assert set(recs[user]) <= set(attributes.index[:40][attributes["in_stock"].iloc[:40]])
    model.fit(ds.interactions)  # a refit keeps both
    again = model.recommend([user], k=10, where={"set": "promo", "in_stock": True})
    assert again[user] == recs[user]
    with pytest.raises(FilterError, match="unknown item set"):
        model.recommend([user], where={"set": "nope"})
