"""SparkALS on MovieLens 100K: quality against rs.ALS, ranking equal to its local twin, the
twin saved, loaded and served over HTTP by a real ``recsys serve``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'recsys-lab[spark]'")

import recsys as rs  # noqa: E402
from recsys.data.weighting import weigh  # noqa: E402
from recsys.spark import SparkALS, SparkInteractions  # noqa: E402
from recsys.spark import metrics as spark_metrics  # noqa: E402
from recsys.spark.als import _weigher, top_k  # noqa: E402


@pytest.fixture(scope="module")
def split(ml100k):
    return rs.split.random(ml100k, test_size=0.2, seed=42)


@pytest.fixture(scope="module")
def spark_train(spark, split):
    train, _ = split
    frame = train.to_pandas()[["user", "item", "weight"]]
    return SparkInteractions.from_spark(spark.createDataFrame(frame), "user", "item",
                                        weight="weight")


@pytest.fixture(scope="module")
def fitted(spark_train):
    return SparkALS().fit(spark_train)


@pytest.fixture(scope="module")
def local(fitted):
    return fitted.to_local()


def test_defaults_reach_95_percent_of_rs_als(split, local):
    train, test = split
    ours = rs.evaluate(local, test, train=train, k=10).summary["ndcg@10"]
    reference = rs.evaluate(rs.ALS().fit(train), test, train=train, k=10).summary["ndcg@10"]
    print(f"NDCG@10 on the ML-100K test split: SparkALS() {ours:.4f}, rs.ALS() {reference:.4f}")
    assert ours >= 0.95 * reference, (ours, reference)


def test_recommend_equals_local_twin_and_spark_metrics_equal_ours(spark, split, fitted,
                                                                   local):
    train, test = split
    recs_df = fitted.recommend(k=10).cache()
    recs = recs_df.toPandas()
    assert list(recs.columns) == ["user", "item", "score", "rank"]
    users = np.sort(recs["user"].unique())
    assert len(users) == train.n_users
    want = local.recommend(users, k=10).to_pandas()
    got = recs.sort_values(["user", "rank"], ignore_index=True)
    pd.testing.assert_frame_equal(got[["user", "item", "rank"]],
                                  want[["user", "item", "rank"]], check_dtype=False)
    np.testing.assert_allclose(got["score"], want["score"], rtol=1e-6)
    # No training item is recommended.
    seen = set(zip(*train.to_pandas()[["user", "item"]].to_numpy().T, strict=False))
    assert not seen & set(zip(got["user"], got["item"], strict=False))
    # The distributed metrics on these lists equal rs.evaluate's (numpy kernels).
    test_df = spark.createDataFrame(test.to_pandas()[["user", "item", "weight"]])
    summary = spark_metrics.evaluate(recs_df, test_df, k=10, weight="weight",
                                     n_items=local.n_items)
    reference = rs.evaluate(local, test, train=train, k=10).summary
    for name in ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "coverage"):
        assert summary[f"{name}@10"] == pytest.approx(reference[f"{name}@10"], abs=1e-9), name


def test_recommend_for_chosen_users_without_exclusion(fitted, local):
    users = local.users_.ids[[0, 5, 9]].tolist()
    got = fitted.recommend(users, k=4, exclude_seen=False).toPandas()
    want = local.recommend(users, k=4, exclude_seen=False).to_pandas()
    got = got.sort_values(["user", "rank"], ignore_index=True)
    assert got[["user", "item"]].values.tolist() == want[["user", "item"]].values.tolist()


def test_weighting_runs_recsys_weigh_on_whole_users():
    import pyarrow as pa

    rng = np.random.default_rng(0)
    matrix = sp.random(30, 12, density=0.3, format="csr", random_state=1, dtype=np.float64)
    matrix.data = np.ceil(matrix.data * 20)
    rows, cols = matrix.nonzero()
    lengths = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
    order = rng.permutation(len(rows))  # a group's rows come in any order
    table = pa.table({"user_idx": rows[order].astype(np.int32),
                      "item_idx": cols[order].astype(np.int32),
                      "weight": np.asarray(matrix[rows, cols]).ravel()[order]})
    for weighting in ("bm25", "log", "binary"):
        out = _weigher(weighting, lengths, 100.0, 0.8)(table)
        where = (out.column("user_idx").to_numpy(), out.column("item_idx").to_numpy())
        got = sp.csr_matrix((out.column("weight").to_numpy(), where), shape=matrix.shape)
        want = weigh(matrix, weighting, lengths, 100.0, 0.8)
        np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=1e-6)


def test_top_k_breaks_ties_by_column():
    scores = np.array([[1.0, 3.0, 3.0, -np.inf, 2.0], [0.0, 0.0, 0.0, 0.0, 0.0],
                       [-np.inf, -np.inf, 5.0, -np.inf, -np.inf]])
    columns, values = top_k(scores, 3)
    assert columns.tolist() == [[1, 2, 4], [0, 1, 2], [2, -1, -1]]
    assert values[0].tolist() == [3.0, 3.0, 2.0] and np.isnan(values[2, 1:]).all()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_local_twin_saves_loads_and_serves(local, tmp_path):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    path = rs.save(local, tmp_path / "spark-als")
    loaded = rs.load(path)
    assert isinstance(loaded, rs.ALS)
    np.testing.assert_array_equal(loaded.item_factors_, local.item_factors_)
    users = local.users_.ids[:3].tolist()
    expected = local.recommend(users, k=5).to_dict()
    assert loaded.recommend(users, k=5).to_dict() == expected
    # A user the model never saw is folded in from a history.
    newcomer = loaded.recommend(["new"], k=5, history={"new": local.items_.ids[:5].tolist()})
    assert len(newcomer["new"]) == 5 and not set(newcomer["new"]) & set(local.items_.ids[:5])

    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "recsys", "serve", str(path), "--port",
                               str(port)], stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(url + "/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        body = httpx.post(url + "/recommend", json={"users": users, "k": 5}, timeout=30).json()
        served = {r["user"]: [(e["item"], pytest.approx(e["score"], rel=1e-6))
                              for e in r["items"]] for r in body["results"]}
        assert served == {u: [(i, s) for i, s in expected[u]] for u in users}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()
