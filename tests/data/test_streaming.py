"""Interactions.read_parquet(batch_size=...) streams a many-file dataset to the same result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.errors import ColumnError, DataError


@pytest.fixture(scope="module")
def ml_dir(ml100k_dir, tmp_path_factory):
    """MovieLens 100K as a hive-partitioned dataset: 16 partitions, several files each."""
    frame = pd.read_csv(ml100k_dir / "u.data", sep="\t",
                        names=["user_id", "item_id", "rating", "timestamp"])
    frame["part"] = frame["timestamp"] % 16
    root = tmp_path_factory.mktemp("ml-parts")
    ds.write_dataset(pa.Table.from_pandas(frame, preserve_index=False), root, format="parquet",
                     partitioning=["part"], partitioning_flavor="hive",
                     max_rows_per_file=2000, max_rows_per_group=2000)
    return root


def _same(a: rs.Interactions, b: rs.Interactions) -> None:
    assert a.users.ids.tolist() == b.users.ids.tolist()
    assert a.items.ids.tolist() == b.items.ids.tolist()
    assert (a.matrix != b.matrix).nnz == 0 and a.matrix.dtype == b.matrix.dtype
    if a.timestamps is None:
        assert b.timestamps is None
    else:
        assert np.array_equal(a.timestamps, b.timestamps)


def test_many_files_equal_the_whole_table_read(ml_dir):
    files = list(ml_dir.rglob("*.parquet"))
    assert len(files) >= 40
    whole = rs.Interactions.read_parquet(ml_dir, weight="rating", timestamp="timestamp")
    streamed = rs.Interactions.read_parquet(ml_dir, weight="rating", timestamp="timestamp",
                                            batch_size=777)
    assert streamed.nnz == 100_000
    _same(streamed, whole)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), batch_size=st.integers(1, 64),
       duplicates=st.sampled_from(["sum", "max", "first", "last"]),
       timed=st.booleans(), n_files=st.integers(1, 6))
def test_batches_and_policies_match_from_pandas(tmp_path_factory, seed, batch_size,
                                                duplicates, timed, n_files):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 120))
    frame = pd.DataFrame({"u": rng.choice(["a", "b", "c", "d", "e"], n),
                          "i": rng.integers(0, 9, n), "w": rng.integers(1, 5, n) / 2,
                          "t": rng.integers(0, 20, n)})
    root = tmp_path_factory.mktemp("parts")
    for k, part in enumerate(np.array_split(np.arange(n), n_files)):
        frame.iloc[part].to_parquet(root / f"part-{k:03d}.parquet", index=False)
    kwargs = {"weight": "w", "timestamp": "t" if timed else None, "duplicates": duplicates}
    streamed = rs.Interactions.read_parquet(root, "u", "i", batch_size=batch_size, **kwargs)
    _same(streamed, rs.Interactions.from_pandas(frame, "u", "i", **kwargs))


def test_errors_name_column_file_and_row(tmp_path):
    good = pd.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"], "w": [1.0, 2.0]})
    bad = pd.DataFrame({"user_id": [3, 4, 5], "item_id": ["a", "b", "c"],
                        "w": [1.0, 2.0, float("nan")]})
    good.to_parquet(tmp_path / "part-0.parquet")
    bad.to_parquet(tmp_path / "part-1.parquet")
    with pytest.raises(DataError, match=r"part-1\.parquet: column 'w' has 1 NaN/inf weight\(s\); "
                                        r"first at row 2"):
        rs.Interactions.read_parquet(tmp_path, weight="w", batch_size=2)
    with pytest.raises(ColumnError, match=r"\['rating'\] not in"):
        rs.Interactions.read_parquet(tmp_path, weight="rating", batch_size=2)
