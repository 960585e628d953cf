"""Spark metrics equal the numpy kernels of recsys.evaluation.metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'recsys-lab[spark]'")

from recsys.errors import ColumnError  # noqa: E402
from recsys.evaluation import metrics as kernels  # noqa: E402
from recsys.spark import metrics as spark_metrics  # noqa: E402


def _random_case(seed: int, n_users: int, n_items: int, length: int):
    """Recommendation lists (-1 padded, some repeated items) and graded test entries (some
    zero or negative, hence not relevant)."""
    rng = np.random.default_rng(seed)
    recommended = rng.integers(0, n_items, size=(n_users, length))
    recommended[rng.random((n_users, length)) < 0.1] = -1
    recommended = -np.sort(-recommended, axis=1, kind="stable")  # padding at the end
    dense = np.where(rng.random((n_users, n_items)) < 0.15,
                     rng.integers(-1, 4, size=(n_users, n_items)), 0)
    relevant = sp.csr_matrix(dense.astype(np.float64))
    return recommended, relevant


def _frames(spark, recommended, relevant):
    users, ranks = np.nonzero(recommended >= 0)
    recs = pd.DataFrame({"user": users, "item": recommended[users, ranks], "rank": ranks + 1})
    coo = relevant.tocoo()
    test = pd.DataFrame({"user": coo.row, "item": coo.col, "weight": coo.data})
    return spark.createDataFrame(recs), spark.createDataFrame(test)


@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), n_users=st.integers(5, 60), n_items=st.integers(3, 40),
       length=st.integers(1, 15), k=st.integers(1, 12))
def test_spark_metrics_equal_numpy_kernels(spark, seed, n_users, n_items, length, k):
    recommended, relevant = _random_case(seed, n_users, n_items, length)
    recs, test = _frames(spark, recommended, relevant)
    got = spark_metrics.per_user(recs, test, k=k, weight="weight").toPandas()
    got = got.set_index("user").sort_index()
    has_relevant = np.flatnonzero(np.asarray((relevant > 0).sum(axis=1)).ravel() > 0)
    assert got.index.tolist() == has_relevant.tolist()
    for name in kernels.CORE_METRICS:
        want = kernels.compute(recommended, relevant, k=k, metrics=[name])[name]
        np.testing.assert_allclose(got[name].to_numpy(), want[has_relevant], rtol=0,
                                   atol=1e-9, err_msg=name)
    assert spark_metrics.coverage(recs, n_items, k) == pytest.approx(
        kernels.coverage(recommended, n_items, k), abs=1e-12)


def test_evaluate_means_and_users_without_recommendations(spark):
    recommended, relevant = _random_case(11, 40, 30, 10)
    recommended[:5] = -1  # users with nothing recommended score 0 but are still evaluated
    recs, test = _frames(spark, recommended, relevant)
    summary = spark_metrics.evaluate(recs, test, k=10, n_items=30, weight="weight")
    has_relevant = np.asarray((relevant > 0).sum(axis=1)).ravel() > 0
    assert summary["users"] == int(has_relevant.sum())
    for name in kernels.CORE_METRICS:
        want = kernels.compute(recommended, relevant, k=10, metrics=[name])[name]
        assert summary[f"{name}@10"] == pytest.approx(want[has_relevant].mean(), abs=1e-9)
    assert summary["coverage@10"] == pytest.approx(kernels.coverage(recommended, 30, 10))


def test_missing_columns_are_named(spark):
    recs = spark.createDataFrame(pd.DataFrame({"user": [1], "item": [2]}))
    with pytest.raises(ColumnError, match=r"recommendations has no column\(s\) \['rank'\]"):
        spark_metrics.per_user(recs, recs, k=5)
