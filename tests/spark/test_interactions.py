"""SparkInteractions and the Spark splitters against their single-machine twins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'recsys-lab[spark]'")

import recsys as rs  # noqa: E402
from recsys.errors import ColumnError, ConfigError, DataError  # noqa: E402
from recsys.spark import SparkInteractions  # noqa: E402
from recsys.spark import split as spark_split  # noqa: E402


@pytest.fixture(scope="module")
def ml_frame(ml100k_dir):
    return pd.read_csv(ml100k_dir / "u.data", sep="\t",
                       names=["user_id", "item_id", "rating", "timestamp"])


@pytest.fixture(scope="module")
def ml_spark(spark, ml_frame):
    # pandas -> Spark under the installed pandas: int64 and int columns arrive as longs.
    df = spark.createDataFrame(ml_frame)
    inter = SparkInteractions.from_spark(df, user="user_id", item="item_id", weight="rating",
                                         timestamp="timestamp")
    inter.events.cache()
    return inter


def test_pandas_to_spark_keeps_types_and_values(spark, ml_frame):
    df = spark.createDataFrame(ml_frame.head(1000))
    assert dict(df.dtypes) == {"user_id": "bigint", "item_id": "bigint", "rating": "bigint",
                               "timestamp": "bigint"}
    back = df.toPandas()
    pd.testing.assert_frame_equal(back, ml_frame.head(1000), check_dtype=False)


@pytest.fixture(scope="module")
def ml_local(ml_spark):
    return ml_spark.to_local()


def test_to_local_equals_interactions_from_pandas(ml_local, ml_frame):
    local = ml_local
    reference = rs.Interactions.from_pandas(ml_frame, "user_id", "item_id", weight="rating",
                                            timestamp="timestamp")
    assert local.shape == reference.shape and local.nnz == reference.nnz == 100_000
    # Same entries under external ids: compare the frames sorted by (user, item).
    a = local.to_pandas().sort_values(["user", "item"], ignore_index=True)
    b = reference.to_pandas().sort_values(["user", "item"], ignore_index=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    # Ids are numbered in sorted order.
    assert local.users.ids.tolist() == sorted(ml_frame["user_id"].unique().tolist())


@pytest.mark.parametrize("policy", ["sum", "max", "first", "last"])
def test_duplicate_policies_match_from_pandas(spark, policy):
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"u": rng.choice(["a", "b", "c"], n), "i": rng.integers(0, 5, n),
                          "w": rng.integers(1, 9, n).astype(float),
                          "t": rng.integers(0, 30, n)})
    df = spark.createDataFrame(frame)
    got = SparkInteractions.from_spark(df, "u", "i", weight="w", timestamp="t",
                                       duplicates=policy).to_local().to_pandas()
    want = rs.Interactions.from_pandas(frame, "u", "i", weight="w", timestamp="t",
                                       duplicates=policy).to_pandas()
    key = ["user", "item"]
    pd.testing.assert_frame_equal(got.sort_values(key, ignore_index=True),
                                  want.sort_values(key, ignore_index=True), check_dtype=False)


def test_first_and_last_without_timestamps_follow_input_order(spark):
    frame = pd.DataFrame({"u": ["a", "a", "a", "b"], "i": ["x", "x", "x", "x"],
                          "w": [3.0, 1.0, 2.0, 5.0]})
    df = spark.createDataFrame(frame)
    for policy, expected in (("first", [3.0, 5.0]), ("last", [2.0, 5.0])):
        got = SparkInteractions.from_spark(df, "u", "i", weight="w", duplicates=policy)
        assert got.to_local().matrix.data.tolist() == expected


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"u": ["a", None], "i": ["x", "y"]}), "column 'u' has missing"),
    (pd.DataFrame({"u": ["a", "b"], "i": ["x", " "]}), "column 'i' has empty"),
    (pd.DataFrame({"u": ["a", "b"], "i": ["x", "y"], "w": [1.0, float("nan")]}),
     "column 'w' has null, non-numeric, NaN"),
    (pd.DataFrame({"u": ["a", "b"], "i": ["x", "y"], "w": [1.0, -2.0]}),
     "column 'w' has negative"),
])
def test_bad_rows_are_errors_naming_column_and_row(spark, frame, message):
    df = spark.createDataFrame(frame)
    with pytest.raises(DataError, match=message) as info:
        SparkInteractions.from_spark(df, "u", "i", weight="w" if "w" in frame else None)
    assert "1 row(s); for example {" in str(info.value)
    assert "'u': 'b'" in str(info.value) or "'u': None" in str(info.value)


def test_missing_column_and_empty_frame(spark):
    df = spark.createDataFrame(pd.DataFrame({"u": ["a"], "i": ["x"]}))
    with pytest.raises(ColumnError, match=r"\['rating'\] not in the DataFrame"):
        SparkInteractions.from_spark(df, "u", "i", weight="rating")
    with pytest.raises(DataError, match="empty"):
        SparkInteractions.from_spark(df.limit(0), "u", "i")
    with pytest.raises(ConfigError, match="duplicates"):
        SparkInteractions.from_spark(df, "u", "i", duplicates="mean")


def test_read_parquet(spark, tmp_path, ml_frame):
    path = tmp_path / "events"
    spark.createDataFrame(ml_frame.head(5000)).repartition(4).write.parquet(str(path))
    inter = SparkInteractions.read_parquet(path, spark=spark, user="user_id", item="item_id",
                                           weight="rating")
    reference = rs.Interactions.from_pandas(ml_frame.head(5000), "user_id", "item_id",
                                            weight="rating")
    assert inter.nnz == reference.nnz
    assert inter.to_local().matrix.sum() == pytest.approx(reference.matrix.sum())


def _pairs(inter):
    frame = inter.to_pandas()
    return set(zip(frame["user"], frame["item"], strict=False))


@pytest.mark.parametrize(("splitter", "kwargs"), [
    ("temporal", {"test_size": 0.1}),
    ("temporal", {"test_size": 0.25, "per_user": False}),
    ("leave_last", {"n": 2}),
])
def test_temporal_splits_equal_rs_split(ml_spark, ml_local, splitter, kwargs):
    train, test = getattr(spark_split, splitter)(ml_spark, **kwargs)
    want_train, want_test = getattr(rs.split, splitter)(ml_local, **kwargs)
    assert _pairs(test.to_local()) == _pairs(want_test)
    # train is the complement of test among the same events (one marked DataFrame).
    assert train.nnz == want_train.nnz


def test_random_split_sizes_disjoint_and_deterministic(ml_spark, ml_local):
    local = ml_local
    train, test = spark_split.random(ml_spark, test_size=0.2, seed=7)
    tr, te = train.to_local(), test.to_local()
    counts = np.diff(local.matrix.indptr)
    expected = np.minimum(np.floor(0.2 * counts + 0.5 + 1e-9), counts - 1)
    assert np.array_equal(np.diff(te.matrix.indptr), expected)
    assert _pairs(tr).isdisjoint(_pairs(te)) and _pairs(tr) | _pairs(te) == _pairs(local)
    again = spark_split.random(ml_spark, test_size=0.2, seed=7)[1].to_local()
    other = spark_split.random(ml_spark, test_size=0.2, seed=8)[1].to_local()
    assert _pairs(again) == _pairs(te) and _pairs(other) != _pairs(te)


def test_splits_need_timestamps_and_valid_sizes(spark):
    df = spark.createDataFrame(pd.DataFrame({"u": ["a", "a"], "i": ["x", "y"]}))
    inter = SparkInteractions.from_spark(df, "u", "i")
    with pytest.raises(DataError, match="needs timestamps"):
        spark_split.leave_last(inter)
    with pytest.raises(ConfigError, match="test_size"):
        spark_split.random(inter, test_size=1.5)
