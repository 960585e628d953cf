"""examples/spark_job.py at tiny scale: Parquet in, a model directory that rs.load reads out."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'recsys-lab[spark]'")

import recsys as rs  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spark_job.py"


def test_spark_job_end_to_end(spark, tmp_path):
    rng = np.random.default_rng(0)
    # Two tastes: users 0-19 take items 0-9, users 20-39 items 10-19.
    users = np.repeat(np.arange(40), 6)
    items = (users >= 20) * 10 + rng.integers(0, 10, len(users))
    frame = pd.DataFrame({"user_id": [f"u{u}" for u in users], "item_id": items})
    frame.drop_duplicates().to_parquet(tmp_path / "events.parquet", index=False)
    spec = importlib.util.spec_from_file_location("spark_job", EXAMPLE)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    scores = job.main([str(tmp_path / "events.parquet"), str(tmp_path / "model"),
                       "--factors", "4", "--iterations", "5", "--master", "local[2]"])
    model = rs.load(tmp_path / "model")
    assert isinstance(model, rs.ALS) and model.n_users == 40 and model.n_items == 20
    assert scores["users"] == 40
    # Recommendations stay within each user's taste block, and the held-out items are found.
    recs = model.recommend(["u0", "u25"], k=3).to_pandas()
    block = recs["user"].map({"u0": 0, "u25": 1})
    assert ((recs["item"] >= 10).astype(int) == block).all()
    assert scores["hit_rate@10"] > 0.5
