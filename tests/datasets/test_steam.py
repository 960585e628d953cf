"""Steam play-time loader: an invented fixture in the file's messy format (made-up users and
titles, no rows of the licensed data), and the real file read from ../shared/data."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from recsys.datasets import steam_play
from recsys.errors import ColumnError, DataError

# Invented rows in the real file's messy format (trailing header comma, a stray 4th value,
# quoted commas, repeated pairs); written to a temporary folder, so no data file is tracked.
ROWS = """user-id,game-title,value,
300003,Hollow Orchard Chronicles,273,1
300003,Rust Belt 7,87,
300003,"Paper, Scissors",0.5,
2002,Rust Belt 7,2.5,
2002,Rust Belt 7,1.5,
2002,"Vanguard 3,000 Siege II",11754,
11,"Paper, Scissors",0.1,
11,Hollow Orchard Chronicles,3,
11,Hollow Orchard Chronicles,4.2,
"""
# The fixture's hours by (user, game), repeated pairs summed by hand.
HOURS = {
    (300003, "Hollow Orchard Chronicles"): 273.0, (300003, "Rust Belt 7"): 87.0,
    (300003, "Paper, Scissors"): 0.5, (2002, "Rust Belt 7"): 4.0,
    (2002, "Vanguard 3,000 Siege II"): 11754.0, (11, "Paper, Scissors"): 0.1,
    (11, "Hollow Orchard Chronicles"): 7.2,
}


@pytest.fixture
def fixture(tmp_path: Path) -> Path:
    path = tmp_path / "steam-play" / "steam-play.csv"
    path.parent.mkdir()
    path.write_text(ROWS)
    return path


def hours_of(ds) -> dict:
    frame = ds.interactions.to_pandas()
    return {(u, i): pytest.approx(w, rel=1e-6)
            for u, i, w in zip(frame["user"], frame["item"], frame["weight"], strict=True)}


def test_fixture_sums_repeated_pairs_and_keeps_quoted_titles(fixture):
    ds = steam_play(fixture)
    assert ds.interactions.shape == (3, 4)
    assert hours_of(ds) == HOURS
    assert ds.interactions.users.ids.tolist() == [11, 2002, 300003]
    assert "Vanguard 3,000 Siege II" in ds.interactions.items.ids.tolist()
    assert ds.interactions.timestamps is None


def test_folder_or_file(fixture):
    assert hours_of(steam_play(fixture.parent)) == HOURS


def test_non_positive_hours_name_the_line(tmp_path):
    lines = ROWS.splitlines()
    lines[4] = "300003,Gravel Gardens,0,"
    (tmp_path / "steam-play.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 5: column 'value'"):
        steam_play(tmp_path)


def test_non_numeric_hours_name_the_line(tmp_path):
    lines = ROWS.splitlines()
    lines[3] = "300003,Gravel Gardens,lots,"
    (tmp_path / "steam-play.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 4: column 'value' is not a number"):
        steam_play(tmp_path)


def test_missing_column_and_missing_file(tmp_path):
    (tmp_path / "steam-play.csv").write_text("user-id,title,value,\n1,a,2,\n")
    with pytest.raises(ColumnError, match="game-title"):
        steam_play(tmp_path)
    with pytest.raises(DataError, match="not found"):
        steam_play(tmp_path / "nowhere")


def test_real_file(shared_data):
    path = shared_data / "steam-play" / "steam-play.csv"
    ds = steam_play(path)
    # Known answer computed independently with the csv module.
    sums: dict = defaultdict(float)
    rows = 0
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for user, game, value, _ in reader:
            sums[int(user), game] += float(value)
            rows += 1
    assert rows == 70_489
    assert ds.interactions.shape == (9_418, 3_600)
    assert ds.interactions.nnz == len(sums) == rows - 598  # 598 repeated pairs merged
    frame = ds.interactions.to_pandas()
    got = dict(zip(zip(frame["user"], frame["item"], strict=True), frame["weight"], strict=True))
    keys = list(sums)[::97]
    assert [got[key] for key in keys] == pytest.approx([sums[key] for key in keys], rel=1e-6)
    assert ds.interactions.matrix.data.min() == pytest.approx(0.1)
    assert ds.interactions.matrix.data.max() >= 11_754
