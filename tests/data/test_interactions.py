"""Interactions: construction, errors, duplicates, readers, k-core, report, MovieLens 100K, and
the robustness test (10,000 generated frames, each ingested correctly or refused with a
recsys error)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.data.ids import IdIndex
from recsys.data.interactions import Interactions
from recsys.errors import ColumnError, ConfigError, DataError, RecsysError

F32_MAX = float(np.finfo(np.float32).max)


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def assert_canonical(inter: Interactions) -> None:
    m = inter.matrix
    assert isinstance(m, sp.csr_matrix)
    assert m.dtype == np.float32
    assert m.shape == (len(inter.users), len(inter.items))
    for r in range(m.shape[0]):  # strictly increasing columns in every row: sorted, unique
        assert np.all(np.diff(m.indices[m.indptr[r]:m.indptr[r + 1]]) > 0)
    if inter.timestamps is not None:
        assert len(inter.timestamps) == m.nnz


# ---------------------------------------------------------------------------- basics
def test_from_pandas_basic():
    df = frame(user_id=["a", "a", "b"], item_id=["x", "y", "x"], r=[5.0, 3.0, 4.0])
    inter = Interactions.from_pandas(df, weight="r")
    assert inter.shape == (2, 2) and inter.nnz == 3 and len(inter) == 3
    assert inter.users.ids.tolist() == ["a", "b"] and inter.items.ids.tolist() == ["x", "y"]
    assert inter.matrix.toarray().tolist() == [[5.0, 3.0], [4.0, 0.0]]
    assert_canonical(inter)
    out = inter.to_pandas()
    assert out.columns.tolist() == ["user", "item", "weight"]
    assert out.values.tolist() == [["a", "x", 5.0], ["a", "y", 3.0], ["b", "x", 4.0]]
    assert inter.density == pytest.approx(0.75)
    assert "n_users=2" in repr(inter)


def test_default_weight_counts_rows():
    inter = Interactions.from_arrays(["a", "a", "a"], ["x", "x", "y"])
    assert inter.matrix.toarray().tolist() == [[2.0, 1.0]]


def test_from_arrays_keeps_mixed_ids():
    inter = Interactions.from_arrays([1, "1", 2**70], ["x", "y", "z"])
    assert inter.users.ids.tolist() == [1, "1", 2**70]
    assert inter.users.to_index(["1"]).tolist() == [1]


def test_from_arrays_length_mismatch():
    with pytest.raises(DataError, match="different lengths"):
        Interactions.from_arrays([1, 2], [1])
    with pytest.raises(DataError, match="different lengths"):
        Interactions.from_arrays([1, 2], [1, 2], weights=[1.0])


def test_timestamps_aligned_with_csr_order():
    df = frame(u=["b", "a", "a", "b"], i=["y", "y", "x", "x"], t=[40, 30, 20, 10])
    inter = Interactions.from_pandas(df, "u", "i", timestamp="t")
    rows, cols, _ = inter.entries()
    pairs = dict(zip(zip(df.u, df.i, strict=True), df.t, strict=True))
    for r, c, t in zip(rows, cols, inter.timestamps, strict=True):
        assert pairs[(inter.users.ids[r], inter.items.ids[c])] == t


def test_datetime_and_iso_timestamps_become_epoch_seconds():
    times = pd.to_datetime(["2020-01-01 00:00:10", "2020-01-01 00:00:20"])
    expected = [1577836810, 1577836820]
    naive = frame(u=[1, 2], i=[1, 1], t=times)
    aware = frame(u=[1, 2], i=[1, 1], t=times.tz_localize("UTC").tz_convert("Asia/Tokyo"))
    iso = frame(u=[1, 2], i=[1, 1], t=["2020-01-01T00:00:10Z", "2020-01-01T00:00:20Z"])
    for df in (naive, aware, iso):
        inter = Interactions.from_pandas(df, "u", "i", timestamp="t")
        assert inter.timestamps.tolist() == expected


def test_constructor_checks():
    users, items = IdIndex(["a"]), IdIndex(["x", "y"])
    with pytest.raises(DataError, match="shape"):
        Interactions(sp.csr_matrix((2, 2)), users, items)
    with pytest.raises(DataError, match="timestamps"):
        Interactions(sp.csr_matrix(np.ones((1, 2))), users, items, timestamps=np.array([1]))
    repeated = sp.csr_matrix((np.ones(2), np.array([1, 1]), np.array([0, 2])), shape=(1, 2))
    assert Interactions(repeated, users, items).matrix.toarray().tolist() == [[0.0, 2.0]]


# ---------------------------------------------------------------------------- errors
def test_missing_column_names_it():
    df = frame(user_id=[1], item_id=[2])
    with pytest.raises(ColumnError, match="'rating'") as info:
        Interactions.from_pandas(df, weight="rating")
    assert "user_id" in str(info.value)  # lists what the frame has
    assert isinstance(info.value, KeyError) and isinstance(info.value, DataError)
    with pytest.raises(ColumnError, match="'uid'"):
        Interactions.from_pandas(df, user="uid")


def test_repeated_column_name():
    df = pd.DataFrame([[1, 2, 3]], columns=["u", "u", "i"])
    with pytest.raises(ColumnError, match="more than once"):
        Interactions.from_pandas(df, "u", "i")


def test_not_a_frame():
    with pytest.raises(DataError, match="DataFrame"):
        Interactions.from_pandas({"user_id": [1]})


def test_empty_frame():
    with pytest.raises(DataError, match="empty"):
        Interactions.from_pandas(frame(user_id=[], item_id=[]))


@pytest.mark.parametrize("bad", [None, np.nan, pd.NA])
def test_missing_id_names_row_label(bad):
    df = pd.DataFrame({"user_id": ["a", bad, "c"], "item_id": ["x", "y", "z"]},
                      index=["r1", "r2", "r3"])
    with pytest.raises(DataError, match=r"column 'user_id' has 1 missing id.*row 'r2'"):
        Interactions.from_pandas(df)
    with pytest.raises(DataError, match=r"column 'item_id'.*row 'r2'"):
        Interactions.from_pandas(df.rename(columns={"user_id": "item_id", "item_id": "user_id"}))


def test_missing_id_in_float_and_nullable_columns():
    with pytest.raises(DataError, match="missing id.*row 1"):
        Interactions.from_pandas(frame(user_id=[1.0, np.nan], item_id=[1, 2]))
    with pytest.raises(DataError, match="missing id.*row 0"):
        Interactions.from_pandas(frame(user_id=pd.array([None, 2], dtype="Int64"), item_id=[1, 2]))


@pytest.mark.parametrize("blank", ["", "   ", "\t", b""])
def test_empty_id_names_row_label(blank):
    df = pd.DataFrame({"user_id": ["a", "b", blank], "item_id": ["x", "y", "z"]}, index=[7, 8, 9])
    with pytest.raises(DataError, match="column 'user_id' has 1 empty id.*row 9"):
        Interactions.from_pandas(df)


def test_empty_id_in_string_dtype_column():
    df = frame(user_id=pd.Series(["a", " "], dtype="str"), item_id=["x", "y"])
    with pytest.raises(DataError, match="empty id.*row 1"):
        Interactions.from_pandas(df)


@pytest.mark.parametrize("dtype", ["str", pd.StringDtype("python"), object])
def test_empty_id_among_many(dtype):
    """Past 1,000 distinct ids the check is vectorized; it must agree with the loop."""
    ids = [f"u{k}" for k in range(1500)] + ["\u2003"] + [f"u{k}" for k in range(10)]
    df = pd.DataFrame({"user_id": pd.Series(ids, dtype=dtype), "item_id": 1})
    with pytest.raises(DataError, match="1 empty id.*row 1500"):
        Interactions.from_pandas(df)
    assert Interactions.from_pandas(df.drop(index=1500)).shape == (1500, 1)


def test_unhashable_id():
    df = frame(user_id=pd.Series([1, [2, 3]], dtype=object), item_id=["x", "y"])
    with pytest.raises(DataError, match="unhashable id.*row 1"):
        Interactions.from_pandas(df)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_weight_names_row(bad):
    df = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "w": [1.0, bad]}, index=["a", "b"])
    with pytest.raises(DataError, match="column 'w' has 1 NaN/inf weight.*row 'b'"):
        Interactions.from_pandas(df, weight="w")


def test_missing_weight_in_nullable_column():
    df = frame(user_id=[1, 2], item_id=[1, 2], w=pd.array([1, None], dtype="Int64"))
    with pytest.raises(DataError, match="NaN/inf weight.*row 1"):
        Interactions.from_pandas(df, weight="w")


def test_negative_weight_unless_allowed():
    df = frame(user_id=[1, 2, 2], item_id=[1, 2, 3], w=[1.0, -2.0, 3.0])
    with pytest.raises(DataError, match="negative weight.*row 1.*allow_negative"):
        Interactions.from_pandas(df, weight="w")
    inter = Interactions.from_pandas(df, weight="w", allow_negative=True)
    assert inter.matrix.toarray().tolist() == [[1.0, 0.0, 0.0], [0.0, -2.0, 3.0]]


def test_non_numeric_weight():
    df = frame(user_id=[1, 2], item_id=[1, 2], w=["1", "lots"])
    with pytest.raises(DataError, match="column 'w' \\(weight\\) at row 1: 'lots' is not a number"):
        Interactions.from_pandas(df, weight="w")


def test_weight_beyond_float32():
    df = frame(user_id=[1, 2], item_id=[1, 2], w=[1.0, 1e39])
    with pytest.raises(DataError, match="weight 1e\\+39 at row 1, beyond the float32 range"):
        Interactions.from_pandas(df, weight="w")
    df = frame(user_id=["u", "u"], item_id=["i", "i"], w=[3e38, 3e38])
    with pytest.raises(DataError, match="summed weight of user 'u' and item 'i' overflows"):
        Interactions.from_pandas(df, weight="w")


def test_bad_timestamps():
    df = frame(user_id=[1, 2], item_id=[1, 2], t=[1.0, np.nan])
    with pytest.raises(DataError, match="column 't'.*timestamp at row 1"):
        Interactions.from_pandas(df, timestamp="t")
    df = frame(user_id=[1, 2], item_id=[1, 2], t=pd.to_datetime(["2020-01-01", None]))
    with pytest.raises(DataError, match="column 't' has a missing time at row 1"):
        Interactions.from_pandas(df, timestamp="t")
    df = frame(user_id=[1, 2], item_id=[1, 2], t=["yesterday", "today"])
    with pytest.raises(DataError, match="column 't' \\(timestamp\\) at row 0: 'yesterday' is not "
                                        "a number or an ISO 8601 time \\(1 such"):
        Interactions.from_pandas(df, timestamp="t")


def test_unknown_duplicates_policy():
    with pytest.raises(DataError, match="duplicates must be one of"):
        Interactions.from_arrays([1], [1], duplicates="mean")


# ---------------------------------------------------------------------------- duplicates
EVENTS = frame(
    u=["a", "a", "a", "b", "a"],
    i=["x", "x", "x", "x", "y"],
    w=[2.0, 5.0, 1.0, 4.0, 7.0],
    t=[30, 10, 20, 5, 1],
)


@pytest.mark.parametrize(
    ("policy", "ax_weight", "ax_time"),
    [
        ("sum", 8.0, 30),    # all three summed, latest time
        ("max", 5.0, 30),    # largest weight, latest time of the pair
        ("first", 5.0, 10),  # earliest event by time (row 1, t=10)
        ("last", 2.0, 30),   # latest event by time (row 0, t=30)
    ],
)
def test_duplicate_policies_with_timestamps(policy, ax_weight, ax_time):
    inter = Interactions.from_pandas(EVENTS, "u", "i", weight="w", timestamp="t",
                                     duplicates=policy)
    got = {(u, i): (w, t) for u, i, w, t in inter.to_pandas().itertuples(index=False)}
    assert got == {("a", "x"): (ax_weight, ax_time), ("a", "y"): (7.0, 1), ("b", "x"): (4.0, 5)}
    assert_canonical(inter)
    assert inter.report.loc[0, "dropped"] == 2


@pytest.mark.parametrize(("policy", "expected"), [("sum", 8.0), ("max", 5.0), ("first", 2.0),
                                                  ("last", 1.0)])
def test_duplicate_policies_without_timestamps_follow_row_order(policy, expected):
    inter = Interactions.from_pandas(EVENTS, "u", "i", weight="w", duplicates=policy)
    assert inter.matrix[inter.users.to_index("a")[0], inter.items.to_index("x")[0]] == expected


def test_time_ties_fall_back_to_row_order():
    df = frame(u=[1, 1, 1], i=[1, 1, 1], w=[1.0, 2.0, 3.0], t=[5, 5, 4])
    first = Interactions.from_pandas(df, "u", "i", weight="w", timestamp="t", duplicates="first")
    last = Interactions.from_pandas(df, "u", "i", weight="w", timestamp="t", duplicates="last")
    assert first.matrix.data.tolist() == [3.0] and first.timestamps.tolist() == [4]
    assert last.matrix.data.tolist() == [2.0] and last.timestamps.tolist() == [5]


# ---------------------------------------------------------------------------- readers
def test_read_csv_round_trip(tmp_path):
    df = frame(user_id=["u1", "u2", "u1", "u3"], item_id=[10, 10, 20, 30],
               rating=[4.0, 3.5, 1.0, 2.0], ts=[1, 2, 3, 4], other=["p", "q", "r", "s"])
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False)
    inter = Interactions.read_csv(path, weight="rating", timestamp="ts")
    back = inter.to_pandas()
    expected = df.rename(columns={"user_id": "user", "item_id": "item", "rating": "weight",
                                  "ts": "timestamp"}).drop(columns="other")
    key = ["user", "item"]
    pd.testing.assert_frame_equal(
        back.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True).astype({"weight": np.float32}),
        check_dtype=False,
    )


def test_read_csv_passes_kwargs_and_names_missing_columns(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("1\t10\t5\t100\n2\t10\t3\t200\n")
    inter = Interactions.read_csv(path, user="u", item="i", weight="r", sep="\t",
                                  names=["u", "i", "r", "t"])
    assert inter.matrix.toarray().tolist() == [[5.0], [3.0]]
    csv = tmp_path / "e.csv"
    csv.write_text("user_id,item_id\n1,2\n")
    with pytest.raises(ColumnError, match=r"\['rating'\] not in .*it has \['user_id', 'item_id'\]"):
        Interactions.read_csv(csv, weight="rating")


def test_read_parquet_round_trip(tmp_path):
    df = frame(user_id=pd.Series(["a", "b", "a"], dtype="str"), item_id=[1, 1, 2],
               w=[1.0, 2.0, 3.0], t=pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-03"]),
               extra=[0, 0, 0])
    path = tmp_path / "events.parquet"
    df.to_parquet(path)
    inter = Interactions.read_parquet(path, weight="w", timestamp="t")
    back = inter.to_pandas().sort_values(["user", "item"]).reset_index(drop=True)
    assert back["user"].tolist() == ["a", "a", "b"]
    assert back["item"].tolist() == [1, 2, 1]
    assert back["weight"].tolist() == [1.0, 3.0, 2.0]
    assert back["timestamp"].tolist() == (df["t"].astype("datetime64[s]").astype("int64")
                                          .iloc[[0, 2, 1]].tolist())
    with pytest.raises(ColumnError, match="'nope'"):
        Interactions.read_parquet(path, weight="nope")
    directory = tmp_path / "parts"
    directory.mkdir()
    df.iloc[:2].to_parquet(directory / "a.parquet")
    df.iloc[2:].to_parquet(directory / "b.parquet")
    assert Interactions.read_parquet(directory, weight="w").nnz == 3


# ---------------------------------------------------------------------------- select, filter
def test_select_keeps_ids_and_timestamps():
    inter = Interactions.from_arrays(["a", "a", "b", "c"], ["x", "y", "y", "x"],
                                     timestamps=[1, 2, 3, 4])
    part = inter.select(np.array([False, True, True, False]), step="demo", reason="why")
    assert part.users is inter.users and part.items is inter.items
    assert part.shape == inter.shape
    assert part.to_pandas().values.tolist() == [["a", "y", 1.0, 2], ["b", "y", 1.0, 3]]
    assert part.report.iloc[-1][["step", "rows_in", "rows_out", "dropped", "reason"]].tolist() == [
        "demo", 4, 2, 2, "why"]
    assert_canonical(part)
    with pytest.raises(DataError, match="mask"):
        inter.select(np.ones(3, bool))
    with pytest.raises(DataError, match="boolean"):
        inter.select(np.ones(4))


def naive_kcore(pairs: set, min_user: int, min_item: int) -> set:
    pairs = set(pairs)
    while True:
        users, items = {}, {}
        for u, i in pairs:
            users[u] = users.get(u, 0) + 1
            items[i] = items.get(i, 0) + 1
        keep = {(u, i) for u, i in pairs if users[u] >= min_user and items[i] >= min_item}
        if keep == pairs:
            return keep
        pairs = keep


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 8)), min_size=1, max_size=60),
    st.integers(0, 4),
    st.integers(0, 4),
)
def test_filter_matches_naive_kcore(pairs, min_user, min_item):
    users, items = zip(*pairs, strict=True)
    inter = Interactions.from_arrays([f"u{u}" for u in users], [f"i{i}" for i in items],
                                     timestamps=np.arange(len(pairs)))
    core = inter.filter(min_user=min_user, min_item=min_item)
    expected = naive_kcore({(f"u{u}", f"i{i}") for u, i in pairs}, min_user, min_item)
    got = set(zip(core.to_pandas()["user"], core.to_pandas()["item"], strict=True))
    assert got == expected
    assert_canonical(core)
    # with a threshold of 0 nobody is dropped, even users/items left without entries
    kept_users = {u for u, _ in expected} if min_user else set(inter.users.ids)
    kept_items = {i for _, i in expected} if min_item else set(inter.items.ids)
    assert set(core.users.ids) == kept_users and set(core.items.ids) == kept_items
    if core.nnz:  # every survivor satisfies the thresholds
        assert core.matrix.getnnz(axis=1).min() >= min_user
        assert core.matrix.getnnz(axis=0).min() >= min_item
    # weights and timestamps travel with their entries
    full = {(u, i): (w, t) for u, i, w, t in inter.to_pandas().itertuples(index=False)}
    for u, i, w, t in core.to_pandas().itertuples(index=False):
        assert full[(u, i)] == (w, t)
    line = core.report.iloc[-1]
    assert line["step"] == "filter" and line["rows_out"] == len(expected)
    assert f"removed {len(inter.users) - len(core.users)} users" in line["reason"]


def test_filter_checks_arguments():
    inter = Interactions.from_arrays([1], [1])
    with pytest.raises(ConfigError):
        inter.filter(min_user=-1)
    with pytest.raises(ConfigError):
        inter.filter(min_item=1.5)


def test_report_records_every_step():
    inter = Interactions.from_arrays(["a", "a", "b", "c", "c"], ["x", "x", "x", "y", "x"])
    report = inter.report
    assert report.columns.tolist() == ["step", "rows_in", "rows_out", "dropped", "reason"]
    assert report.iloc[0].tolist()[:4] == ["ingest", 5, 4, 1]
    assert "1 repeated (user, item) row(s) merged by 'sum'" in report.iloc[0]["reason"]
    core = inter.filter(min_item=2)
    assert core.report["step"].tolist() == ["ingest", "filter"]
    assert core.report.iloc[1].tolist()[:4] == ["filter", 4, 3, 1]
    assert "removed 0 users, 1 items" in core.report.iloc[1]["reason"]


def test_with_matrix():
    inter = Interactions.from_arrays(["a", "b"], ["x", "y"], timestamps=[1, 2])
    doubled = inter.with_matrix(inter.matrix * 2)
    assert doubled.matrix.data.tolist() == [2.0, 2.0] and doubled.timestamps.tolist() == [1, 2]
    with pytest.raises(DataError):
        inter.with_matrix(sp.csr_matrix((2, 3)))


# ---------------------------------------------------------------------------- MovieLens 100K
@pytest.fixture(scope="module")
def ml100k_raw(ml100k_dir) -> pd.DataFrame:
    return pd.read_csv(ml100k_dir / "u.data", sep="\t", names=["user", "item", "rating", "time"])


def test_movielens_100k(ml100k_dir, ml100k_raw):
    inter = Interactions.read_csv(ml100k_dir / "u.data", user="user", item="item",
                                  weight="rating", timestamp="time", sep="\t",
                                  names=["user", "item", "rating", "time"])
    assert inter.shape == (943, 1682)
    assert inter.nnz == 100_000
    assert_canonical(inter)
    assert inter.report.iloc[0]["dropped"] == 0
    back = inter.to_pandas().rename(columns={"weight": "rating", "timestamp": "time"})
    back["rating"] = back["rating"].astype(np.int64)
    key = ["user", "item"]
    pd.testing.assert_frame_equal(
        back.sort_values(key).reset_index(drop=True),
        ml100k_raw.sort_values(key).reset_index(drop=True),
    )
    # external ids map to the matrix cell holding that rating
    rows = inter.users.to_index(ml100k_raw["user"])
    cols = inter.items.to_index(ml100k_raw["item"])
    assert np.array_equal(np.asarray(inter.matrix[rows, cols]).ravel(), ml100k_raw["rating"])
    assert set(inter.users.ids.tolist()) == set(range(1, 944))
    assert set(inter.items.ids.tolist()) == set(range(1, 1683))


def test_movielens_100k_from_pandas_with_string_ids(ml100k_raw):
    df = ml100k_raw.astype({"user": "str", "item": "str"})
    inter = Interactions.from_pandas(df, "user", "item")
    assert inter.shape == (943, 1682) and inter.nnz == 100_000
    assert inter.matrix.sum() == 100_000
    assert inter.users.to_ids(inter.users.to_index(["1", "943"])).tolist() == ["1", "943"]


# ---------------------------------------------------------------------------- robustness
# Hypothesis chooses the shape of each frame (size, dtype of every column, policies, which
# column gets one bad value) and a seed; the cell values come from small pools through a
# numpy generator with that seed. Few draws per example keep 10,000 frames fast, and the
# pools keep duplicates frequent. The expected outcome is computed from the values alone:
# a frame must be refused (with a RecsysError) exactly when it holds an empty frame, a
# missing/blank id, a NaN/inf/non-numeric/out-of-float32 weight, a negative weight without
# allow_negative, a missing timestamp, or sums that overflow float32; otherwise it must match
# a pandas groupby recount.
NA = object()  # placeholder turned into each column kind's missing value

def _seconds(values: list) -> np.ndarray:
    return np.array(["NaT" if x is None or x is NA else x for x in values], dtype="datetime64[s]")


def _objects(values: list, na) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [na if x is NA else x for x in values]
    return out


ID_KINDS = {
    # kind: (good values, bad values, builder of a column from a list)
    "int64": ([0, 1, 2, -3, 2**62], [], lambda v: np.array(v, dtype=np.int64)),
    "uint64": ([0, 7, 2**63, 2**64 - 1], [], lambda v: np.array(v, dtype=np.uint64)),
    "bigint": ([1, 2, 2**63, 2**64 - 1, 2**70, -(2**70)], [NA], lambda v: _objects(v, None)),
    "float": ([0.0, -0.0, 1.5, 2.0, np.inf], [NA], lambda v: (
        np.array([np.nan if x is NA else x for x in v], dtype=np.float64))),
    "str": (["a", "b", "é", "1", "a b"], [NA, "", " "], lambda v: pd.array(
        [None if x is NA else x for x in v], dtype="str")),
    "object_str": (["a", "b", "B"], [NA, "\t", ""], lambda v: _objects(v, None)),
    "mixed": ([1, "1", 2.5, True, False, 0, "a", 2**70, b"x", (1, "t")], [NA, b" "],
              lambda v: _objects(v, np.nan)),
    "bool": ([True, False], [], lambda v: np.array(v, dtype=bool)),
    "category": (["a", "b", "c"], [NA], lambda v: (
        pd.Categorical([None if x is NA else x for x in v], categories=["c", "z", "b", "a"]))),
    "category_int": ([1, 2, 30], [NA], lambda v: (
        pd.Categorical([None if x is NA else x for x in v]))),
    "Int64": ([1, 2, -5], [NA], lambda v: (
        pd.array([None if x is NA else x for x in v], dtype="Int64"))),
    "datetime": ([0, 86400, 10**9], [NA], _seconds),
}

WEIGHT_KINDS = {
    "float": ([1.0, 0.5, 0.0, 2.0, 3e38], [np.nan, np.inf, -np.inf, 1e39, -1.0, -3e38],
              lambda v: np.array(v, dtype=np.float64)),
    "int64": ([1, 0, 3, 2**40], [-2], lambda v: np.array(v, dtype=np.int64)),
    "uint64": ([1, 2**63], [], lambda v: np.array(v, dtype=np.uint64)),
    "bool": ([True, False], [], lambda v: np.array(v, dtype=bool)),
    "Int64": ([1, 4], [-1, NA], lambda v: (
        pd.array([None if x is NA else x for x in v], dtype="Int64"))),
    "object": ([1, 2.5, "3", 2**70], ["x", NA, -1], lambda v: _objects(v, None)),
    "str": (["1", "0.5", "2e3"], ["-2", "oops", NA], lambda v: pd.array(
        [None if x is NA else x for x in v], dtype="str")),
}

TIME_KINDS = {
    # kind: (missing allowed, builder of a column from a list of seconds / None)
    "int64": (False, lambda s: np.array(s, dtype=np.int64)),
    "float": (True, lambda s: np.array([np.nan if x is None else x for x in s], float)),
    "datetime": (True, lambda s: _seconds(s)),
    "datetime_tz": (True, lambda s: pd.DatetimeIndex(_seconds(s)).tz_localize(
        "UTC").tz_convert("America/New_York").array),
    "iso": (True, lambda s: _objects([NA if x is None else str(np.datetime64(x, "s"))
                                      for x in s], None)),
}
TIMES = [0, 5, 5, 60, 10**9]


def _bad_id(x) -> bool:
    return x is NA or (isinstance(x, (str, bytes)) and not x.strip())


def _weight_value(x) -> float | None:
    """The float a weight cell stands for, or None when it is missing or not a number."""
    if x is NA:
        return None
    try:
        return float(x)
    except ValueError:
        return None


def _cells(rng: np.random.Generator, good: list, bad: list, n: int, spoil: bool) -> list:
    picks = rng.integers(0, len(good), size=n)
    values = [good[k] for k in picks]
    if spoil and bad and n:
        values[int(rng.integers(0, n))] = bad[int(rng.integers(0, len(bad)))]
    return values


@st.composite
def events(draw):
    # One hypothesis draw (a draw costs about as much as building a small frame): the seed of
    # a generator that makes every other choice, so each example stays reproducible.
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def pick(options):
        return options[int(rng.integers(0, len(options)))]

    spoil = pick([None] * 7 + ["empty", "user", "item", "weight", "time"])
    n = 0 if spoil == "empty" else int(rng.integers(1, 9))

    user_kind, item_kind = pick(sorted(ID_KINDS)), pick(sorted(ID_KINDS))
    weight_kind = pick([None, None, *sorted(WEIGHT_KINDS)]
                       + ["missing_column"] * (spoil == "weight"))
    time_kind = pick([None, None, *sorted(TIME_KINDS)])
    users = _cells(rng, *ID_KINDS[user_kind][:2], n, spoil == "user")
    items = _cells(rng, *ID_KINDS[item_kind][:2], n, spoil == "item")
    weights = None
    if weight_kind in WEIGHT_KINDS:
        weights = _cells(rng, *WEIGHT_KINDS[weight_kind][:2], n, spoil == "weight")
    times = None
    if time_kind is not None:
        missing_ok = TIME_KINDS[time_kind][0]
        times = _cells(rng, TIMES, [None] if missing_ok else [], n, spoil == "time")
    return dict(
        n=n, user_kind=user_kind, item_kind=item_kind, users=users, items=items,
        weight_kind=weight_kind, weights=weights, time_kind=time_kind, times=times,
        duplicates=pick(("sum", "max", "first", "last")), allow_negative=pick((False, True)),
        labels=pick(("range", "str", "reversed")),
    )


def build_frame(ev) -> pd.DataFrame:
    columns = {"user": ID_KINDS[ev["user_kind"]][2](ev["users"]),
               "item": ID_KINDS[ev["item_kind"]][2](ev["items"])}
    if ev["weights"] is not None:
        columns["w"] = WEIGHT_KINDS[ev["weight_kind"]][2](ev["weights"])
    if ev["times"] is not None:
        columns["t"] = TIME_KINDS[ev["time_kind"]][1](ev["times"])
    index = pd.RangeIndex(ev["n"])
    if ev["labels"] == "str":
        index = pd.Index([f"row{k}" for k in range(ev["n"])], dtype=object)
    elif ev["labels"] == "reversed":
        index = index[::-1]
    return pd.DataFrame({name: _series(values, index) for name, values in columns.items()})


def _series(values, index: pd.Index) -> pd.Series:
    # an object ndarray of str would be inferred as pandas' "str" dtype without dtype=object
    dtype = object if isinstance(values, np.ndarray) and values.dtype.kind == "O" else None
    return pd.Series(values, index=index, dtype=dtype)


def expected_failure(ev) -> tuple[type, str] | None:
    """The error the frame must raise and a fragment its message must hold (the column it
    names), computed from what the generator put in it."""
    if ev["weight_kind"] == "missing_column":
        return ColumnError, "'nope'"
    if ev["n"] == 0:
        return DataError, "empty"
    if ev["weights"] is not None:
        values = [_weight_value(x) for x in ev["weights"]]
        if any(v is None or not math.isfinite(v) or abs(v) > F32_MAX for v in values):
            return DataError, "column 'w'"
        if not ev["allow_negative"] and any(v < 0 for v in values):
            return DataError, "column 'w'"
    if ev["times"] is not None and any(t is None for t in ev["times"]):
        return DataError, "column 't'"
    for column in ("user", "item"):
        if any(_bad_id(x) for x in ev[column + "s"]):
            return DataError, f"column {column!r}"
    return None


def recount(df: pd.DataFrame, ev) -> dict:
    """{(user, item): (weight, time)} by a plain pandas groupby over the frame."""
    policy = ev["duplicates"]
    if ev["weights"] is not None and df["w"].dtype != np.float64:
        df = df.assign(w=pd.to_numeric(df["w"]).astype("float64"))  # no uint64 wrap-around
    if ev["times"] is not None:  # first/last by time, ties by row order
        df = df.assign(t=np.array(ev["times"], dtype=np.float64)).sort_values("t", kind="stable")
    groups = df.groupby(["user", "item"], sort=False)
    if ev["weights"] is not None:
        weights = getattr(groups["w"], policy)()
    else:
        weights = groups.size().astype("float64")
        if policy != "sum":
            weights[:] = 1.0
    if ev["times"] is None:
        return {key: (w, 0.0) for key, w in zip(weights.index, weights.tolist(), strict=True)}
    times = groups["t"].min() if policy == "first" else groups["t"].max()
    return dict(zip(weights.index, zip(weights.tolist(), times.tolist(), strict=True),
                    strict=True))


def _keys(ids: np.ndarray) -> list:
    """Ids as the scalars groupby gives (Timestamps rather than numpy datetime64)."""
    return pd.Series(ids).tolist() if ids.dtype.kind == "M" else ids.tolist()


def check_ingested(inter: Interactions, df: pd.DataFrame, ev) -> None:
    m = inter.matrix
    rows, cols, data = inter.entries()
    assert m.dtype == np.float32 and m.has_canonical_format
    assert np.all(np.diff(cols)[np.diff(rows) == 0] > 0)  # sorted, unique columns in a row
    expected = recount(df, ev)
    assert m.shape == (len({u for u, _ in expected}), len({i for _, i in expected}))
    assert all(abs(w) <= F32_MAX for w, _ in expected.values()), "overflow must be refused"
    users, items = _keys(inter.users.to_ids(rows)), _keys(inter.items.to_ids(cols))
    times = inter.timestamps.tolist() if inter.timestamps is not None else [0.0] * len(rows)
    got = {(u, i): (w, t) for u, i, w, t in zip(users, items, data.tolist(), times, strict=True)}
    assert len(got) == len(expected) == inter.nnz
    for key, (w, t) in expected.items():
        got_w, got_t = got[key]
        assert got_w == pytest.approx(w, rel=1e-6), (key, got_w, w)
        assert got_t == t, (key, got_t, t)
    # every row's ids map back to a stored cell, and every stored cell comes from a row
    r = inter.users.to_index(df["user"])
    c = inter.items.to_index(df["item"])
    assert set(zip(r.tolist(), c.tolist(), strict=True)) == set(
        zip(rows.tolist(), cols.tolist(), strict=True))


@settings(max_examples=10_000, derandomize=True, deadline=None)
@given(events())
def test_robustness_generated_frames(ev):
    df = build_frame(ev)
    failure = expected_failure(ev)
    weight = "w" if ev["weights"] is not None else ("nope" if ev["weight_kind"] else None)
    timestamp = "t" if ev["times"] is not None else None
    try:
        inter = Interactions.from_pandas(df, "user", "item", weight=weight, timestamp=timestamp,
                                         duplicates=ev["duplicates"],
                                         allow_negative=ev["allow_negative"])
    except RecsysError as exc:
        if failure is None:
            sums = [w for w, _ in recount(df, ev).values()]
            if any(abs(w) > F32_MAX for w in sums):  # only now is the overflow known
                assert "overflows float32" in str(exc)
                return
            raise AssertionError(f"a valid frame was refused: {exc}") from exc
        kind, fragment = failure
        assert isinstance(exc, kind), (exc, kind)
        assert fragment in str(exc), (fragment, str(exc))
        return
    assert failure is None, f"expected {failure[0].__name__}, but the frame was ingested"
    check_ingested(inter, df, ev)


def test_robustness_generator_covers_the_listed_cases():
    """The pools hold every case the issue lists (guards against a silent narrowing), and
    each column kind really has the dtype its name says."""
    ev = dict(n=1, users=[], items=[], weights=None, times=None, labels="range")
    dtypes = {}
    for kind, (good, _, _) in ID_KINDS.items():
        ev.update(user_kind=kind, item_kind=kind, users=[good[0]], items=[good[-1]])
        dtypes[kind] = str(build_frame(ev)["user"].dtype)
    assert dtypes == {
        "int64": "int64", "uint64": "uint64", "bigint": "object", "float": "float64",
        "str": "str", "object_str": "object", "mixed": "object", "bool": "bool",
        "category": "category", "category_int": "category", "Int64": "Int64",
        "datetime": "datetime64[s]"}
    ev.update(time_kind="datetime_tz", times=[5])
    assert str(build_frame(ev)["t"].dtype) == "datetime64[s, America/New_York]"
    assert {"bigint", "uint64", "mixed", "bool", "float", "str", "category", "Int64"} <= set(
        ID_KINDS)
    ids = [v for good, bad, _ in ID_KINDS.values() for v in good + bad]
    assert NA in ids and "" in ids and any(isinstance(v, int) and v > 2**63 for v in ids)
    assert {1, "1"} <= set(v for v in ids if isinstance(v, (int, str)))
    weights = [v for good, bad, _ in WEIGHT_KINDS.values() for v in good + bad]
    floats = [v for v in weights if isinstance(v, float)]
    assert NA in weights and any(math.isnan(v) for v in floats)
    assert np.inf in floats and -np.inf in floats and -1.0 in floats


def test_robustness_examples_mostly_ingest():
    """Most generated frames are valid, so the recount check really runs."""
    outcomes = {"ok": 0, "refused": 0}

    @settings(max_examples=300, derandomize=True, deadline=None, database=None)
    @given(events())
    def sample(ev):
        outcomes["refused" if expected_failure(ev) else "ok"] += 1

    sample()
    assert outcomes["ok"] > outcomes["refused"] > 0.15 * sum(outcomes.values())
