"""SparkAssociationRules on groceries equals recsys's sparse miner; its local twin serves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'recsys-lab[spark]'")

import recsys as rs  # noqa: E402
from recsys.errors import ColumnError, DataError  # noqa: E402
from recsys.spark import SparkAssociationRules  # noqa: E402

PARAMS = {"min_support": 0.006, "min_confidence": 0.25, "min_lift": 1.2, "max_len": 3}


@pytest.fixture(scope="module")
def spark_baskets(spark, groceries_csv):
    from pyspark.sql import functions as F

    lines = spark.read.text(str(groceries_csv)).filter(F.trim("value") != "")
    fields = F.transform(F.split("value", ","), lambda x: F.trim(x))  # as rs.datasets.baskets
    return lines.select(F.array_remove(fields, "").alias("items")).cache()


@pytest.fixture(scope="module")
def fitted(spark_baskets):
    return SparkAssociationRules(**PARAMS).fit(spark_baskets)


def _keyed(rules: pd.DataFrame) -> pd.DataFrame:
    key = rules["antecedents"].map(lambda s: tuple(sorted(s))) + rules["consequents"].map(
        lambda s: tuple(sorted(s)))
    return rules.assign(_key=key).set_index("_key").sort_index()


def test_rules_equal_recsys_sparse_miner(fitted, groceries_csv):
    local = rs.AssociationRules(**PARAMS).fit(rs.datasets.baskets(groceries_csv))
    want, got = local.rules_, fitted.rules_
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 100  # 1 -> 1 and 2 -> 1 rules at these thresholds
    got, want = _keyed(got), _keyed(want)
    assert got.index.tolist() == want.index.tolist()
    numeric = [c for c in want.columns if c not in ("antecedents", "consequents")]
    np.testing.assert_allclose(got[numeric].to_numpy(float), want[numeric].to_numpy(float),
                               rtol=0, atol=1e-9)
    assert fitted.n_baskets_ == local.n_baskets_ and fitted.min_count_ == local.min_count_
    # Same rules, same ranking of a basket's additions (the items some rule reaches; those
    # none reaches tie at 0 and follow by item index, which differs between the two).
    basket = ["whole milk", "yogurt"]
    got = [pair for pair in fitted.recommend_for_basket(basket, k=20).to_dict()[0]
           if pair[1] > 0]
    want = [pair for pair in local.recommend_for_basket(basket, k=20).to_dict()[0]
            if pair[1] > 0]
    assert got == want and len(got) >= 3


def test_long_table_layout_and_duplicates_in_a_basket(spark, fitted, spark_baskets):
    from pyspark.sql import functions as F

    long = (spark_baskets.withColumn("basket", F.monotonically_increasing_id())
            .select("basket", F.explode("items").alias("item")))
    doubled = long.unionByName(long.filter(F.col("item") == "whole milk"))  # repeated items
    again = SparkAssociationRules(**PARAMS).fit(doubled, basket="basket", item="item")
    pd.testing.assert_frame_equal(_keyed(again.rules_), _keyed(fitted.rules_))


def test_local_twin_saves_loads_and_ranks(fitted, tmp_path):
    local = fitted.to_local()
    path = rs.save(local, tmp_path / "rules")
    loaded = rs.load(path)
    assert isinstance(loaded, rs.AssociationRules)
    pd.testing.assert_frame_equal(loaded.rules_, fitted.rules_)
    assert loaded.recommend_for_basket(["root vegetables"], k=3)[0] == \
        fitted.recommend_for_basket(["root vegetables"], k=3)[0]


def test_bad_baskets_are_named(spark):
    df = spark.createDataFrame([(["a", "b"],), (["a", None],)], "items array<string>")
    with pytest.raises(DataError, match="column 'items' has baskets holding a missing"):
        SparkAssociationRules(min_support=1).fit(df)
    with pytest.raises(ColumnError, match="'basket'"):
        SparkAssociationRules(min_support=1).fit(df, basket="basket", item="items")
