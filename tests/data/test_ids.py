"""IdIndex: external id <-> index, vectorized both ways, for str, int and mixed ids."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.data.ids import IdIndex, as_id_array
from recsys.errors import ConfigError, DataError, UnknownIdError


@pytest.mark.parametrize(
    "ids",
    [
        ["u1", "u2", "u3"],
        [10, 20, 30],
        [1, "1", 2.5, ("a", 1)],
        [2**64 + 1, -(2**70), 5],
        np.array([2**64 - 1, 3], dtype=np.uint64),
        pd.Series(["a", "b"], dtype="str"),
        pd.Series(["a", "b"], dtype=object),
    ],
)
def test_round_trip_both_ways(ids):
    index = IdIndex(ids)
    values = list(ids)
    positions = index.to_index(values)
    assert positions.dtype == np.int64
    assert positions.tolist() == list(range(len(values)))
    assert index.to_ids(positions).tolist() == values
    assert len(index) == len(values)
    assert index.to_index(values[::-1]).tolist() == list(range(len(values)))[::-1]


def test_vectorized_over_arrays_and_series():
    index = IdIndex([f"i{k}" for k in range(1000)])
    query = pd.Series([f"i{k}" for k in range(999, -1, -3)], dtype="str")
    assert index.to_index(query).tolist() == list(range(999, -1, -3))
    assert index.to_index(query.to_numpy(dtype=object)).tolist() == list(range(999, -1, -3))
    assert index.to_ids(np.arange(5)).tolist() == ["i0", "i1", "i2", "i3", "i4"]


def test_scalar_query():
    index = IdIndex(["a", "b"])
    assert index.to_index("b").tolist() == [1]
    assert index.to_index(np.str_("a")).tolist() == [0]


def test_unknown_id_raises_naming_it():
    index = IdIndex(["u1", "u2"])
    with pytest.raises(UnknownIdError, match="'u9'") as info:
        index.to_index(["u1", "u9"], what="user")
    assert "unknown user id" in str(info.value)
    assert info.value.ids == ["u9"]
    assert isinstance(info.value, KeyError)


def test_unknown_ids_message_is_bounded():
    index = IdIndex([1, 2])
    with pytest.raises(UnknownIdError, match="and 5 more") as info:
        index.to_index(list(range(10, 20)))
    assert len(info.value.ids) == 10


def test_missing_ignore_gives_minus_one():
    index = IdIndex(["a", "b", "c"])
    got = index.to_index(["c", "zz", "a", 7, None], missing="ignore")
    assert got.tolist() == [2, -1, 0, -1, -1]


def test_missing_policy_is_checked():
    with pytest.raises(ConfigError, match="missing"):
        IdIndex(["a"]).to_index(["a"], missing="drop")


def test_int_and_str_ids_are_distinct():
    index = IdIndex([1, "1"])
    assert index.to_index(["1", 1]).tolist() == [1, 0]


def test_ids_match_like_dict_keys():
    """1, 1.0, numpy.int64(1) and True are one key, as in a dict; pandas alone says no."""
    assert IdIndex([10, 20]).to_index([20.0, np.int64(10)]).tolist() == [1, 0]
    assert IdIndex([True, False]).to_index([1, 0]).tolist() == [0, 1]
    assert IdIndex([0, 1]).to_index([True]).tolist() == [1]
    assert IdIndex(np.array([1.5, 2.0])).to_index([2]).tolist() == [1]


def test_huge_integers():
    index = IdIndex(np.array([2**64 - 1, 2**63], dtype=np.uint64))
    assert index.to_index([2**63, 2**64 - 1]).tolist() == [1, 0]
    assert index.to_index([-1, 2**65], missing="ignore").tolist() == [-1, -1]
    mixed = IdIndex([2**70, 1])
    assert mixed.to_index([1, 2**70]).tolist() == [1, 0]


def test_contains():
    index = IdIndex(["a", 1])
    assert "a" in index and 1 in index and 1.0 in index
    assert "b" not in index and [1] not in index and None not in index


def test_duplicate_ids_rejected():
    with pytest.raises(DataError, match="unique"):
        IdIndex(["a", "b", "a"])
    with pytest.raises(DataError, match="unique"):
        IdIndex([1, 1.0])


@pytest.mark.parametrize("bad", [["a", None], [1.0, np.nan], pd.Series(["a", None], dtype="str")])
def test_missing_ids_rejected(bad):
    with pytest.raises(DataError, match="missing"):
        IdIndex(bad)


def test_to_ids_rejects_out_of_range_and_non_integers():
    index = IdIndex(["a", "b"])
    with pytest.raises(IndexError):
        index.to_ids([-1])
    with pytest.raises(IndexError):
        index.to_ids([2])
    with pytest.raises(IndexError):
        index.to_ids([0.5])
    assert index.to_ids(np.array([1.0])).tolist() == ["b"]
    assert index.to_ids([]).tolist() == []


def test_empty_index():
    index = IdIndex([])
    assert len(index) == 0
    assert index.to_index([], missing="raise").tolist() == []
    assert index.to_index(["a"], missing="ignore").tolist() == [-1]
    with pytest.raises(UnknownIdError):
        index.to_index(["a"])


def test_equality_pickle_repr():
    index = IdIndex(["a", "b", "c", "d"])
    assert index == IdIndex(["a", "b", "c", "d"])
    assert index != IdIndex(["b", "a", "c", "d"])
    clone = pickle.loads(pickle.dumps(index))
    assert clone == index and clone.to_index(["d"]).tolist() == [3]
    assert repr(index) == "IdIndex(['a', 'b', 'c', ...], n=4)"
    assert list(index) == ["a", "b", "c", "d"]


def test_as_id_array():
    assert as_id_array([1, 2]).dtype == np.int64
    assert as_id_array([1, 2**70]).dtype == object
    assert as_id_array([True, 1]).dtype == object
    assert as_id_array("abc").tolist() == ["abc"]
    assert as_id_array(5).tolist() == [5]
    assert as_id_array(pd.Series(["x"], dtype="str")).tolist() == ["x"]
    assert as_id_array(np.array([[1, 2]])).shape == (2,)
    assert as_id_array([]).shape == (0,)


id_values = st.one_of(
    st.integers(-(2**70), 2**70),
    st.text(max_size=4),
    st.floats(allow_nan=False),
    st.tuples(st.integers(0, 3), st.text(max_size=1)),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(id_values, max_size=30), st.lists(id_values, max_size=30))
def test_lookup_agrees_with_a_dict(ids, queries):
    unique = list(dict.fromkeys(ids))  # dict semantics decide what is a repeat
    index = IdIndex(as_id_array(unique))
    reference = {v: k for k, v in enumerate(unique)}
    got = index.to_index(queries + unique, missing="ignore").tolist()
    assert got == [reference.get(q, -1) for q in queries + unique]
    assert index.to_ids(np.arange(len(unique))).tolist() == unique
