"""Shared fixtures: the real data sets in ../shared/data (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("RECSYS_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared data sets are expected at {SHARED_DATA} (set RECSYS_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ml100k_dir(shared_data: Path) -> Path:
    return shared_data / "ml-100k"


@pytest.fixture(scope="session")
def groceries_csv(shared_data: Path) -> Path:
    return shared_data / "groceries" / "groceries.csv"


@pytest.fixture(scope="session")
def ml100k(ml100k_dir: Path):
    """MovieLens 100K ratings as Interactions (rating as weight, with timestamps)."""
    import pandas as pd

    import recsys as rs

    frame = pd.read_csv(ml100k_dir / "u.data", sep="\t",
                        names=["user_id", "item_id", "rating", "timestamp"])
    return rs.Interactions.from_pandas(frame, "user_id", "item_id", weight="rating",
                                       timestamp="timestamp")
