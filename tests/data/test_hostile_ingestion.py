"""Hostile and broken input files: every reader answers with a recsys error naming the file
(and the line or row where one exists), never a third-party exception, and leaves the file
as it was."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.cli import main as cli_main
from recsys.errors import ColumnError, DataError


@pytest.fixture(scope="module")
def ratings_csv(ml100k_dir, tmp_path_factory) -> Path:
    """MovieLens 100K's ratings as the CSV a user would export (first 2,000 rows)."""
    frame = pd.read_csv(ml100k_dir / "u.data", sep="\t", header=None, nrows=2000,
                        names=["user_id", "item_id", "rating", "ts"])
    path = tmp_path_factory.mktemp("csv") / "ratings.csv"
    frame.to_csv(path, index=False)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _broken_copy(source: Path, target: Path, line: int, text: str) -> Path:
    lines = source.read_text().splitlines()
    lines[line - 1] = text
    target.write_text("\n".join(lines) + "\n")
    return target


@pytest.mark.parametrize(("text", "message"), [
    ("Smith, J,i2,4,881250949", r"line 7: 5 fields where the header has 4"),
    ("17,803,4,880000000,x,y", r"line 7: 6 fields where the header has 4"),
])
def test_extra_fields_are_an_error_naming_the_line(ratings_csv, tmp_path, text, message):
    path = _broken_copy(ratings_csv, tmp_path / "broken.csv", 7, text)
    before = _digest(path)
    with pytest.raises(DataError, match=f"{path.name}, {message}"):
        rs.Interactions.read_csv(path, weight="rating", timestamp="ts")
    assert _digest(path) == before


def test_every_line_longer_than_the_header(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("user_id,item_id\nu1,i1,x\nu2,i2,y\n")
    with pytest.raises(DataError, match="wide.csv: some lines have more fields than the header"):
        rs.Interactions.read_csv(path)


def test_wrong_encoding_names_line_and_hint(ratings_csv, tmp_path):
    path = tmp_path / "latin.csv"
    text = ratings_csv.read_text().splitlines()
    text[4] = "café,242,3,881250949"
    path.write_bytes("\n".join(text).encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.csv: line 5: bytes b'\\xe9' are not valid "
                                        r"utf-8; pass encoding=\.\.\."):
        rs.Interactions.read_csv(path)
    inter = rs.Interactions.read_csv(path, encoding="latin-1")
    assert "café" in inter.users.ids.tolist()


def test_truncated_gzip(ratings_csv, tmp_path):
    data = gzip.compress(ratings_csv.read_bytes())
    path = tmp_path / "ratings.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="ratings.csv.gz: the compressed file is truncated"):
        rs.Interactions.read_csv(path)


@pytest.mark.parametrize("content", [b"", b"PAR1", b"garbage" * 50, None])
def test_damaged_parquet_files(ratings_csv, tmp_path, content):
    path = tmp_path / "events.parquet"
    if content is None:  # a real file cut in half
        pd.read_csv(ratings_csv).to_parquet(path)
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(DataError, match="events.parquet is not a valid Parquet file"):
        rs.Interactions.read_parquet(path)
    assert path.read_bytes() == content


def test_parquet_directory_without_the_column(ratings_csv, tmp_path):
    directory = tmp_path / "parts"
    directory.mkdir()
    frame = pd.read_csv(ratings_csv).rename(columns={"user_id": "uid"})
    frame.iloc[:1000].to_parquet(directory / "a.parquet")
    frame.iloc[1000:].to_parquet(directory / "b.parquet")
    with pytest.raises(ColumnError, match=r"column\(s\) \['user_id'\] not in .*parts; it has "
                                          r"\['uid', 'item_id', 'rating', 'ts'\]"):
        rs.Interactions.read_parquet(directory)
    assert rs.Interactions.read_parquet(directory, user="uid").nnz == 2000


def test_parquet_directory_with_a_damaged_part(ratings_csv, tmp_path):
    directory = tmp_path / "parts"
    directory.mkdir()
    pd.read_csv(ratings_csv).to_parquet(directory / "a.parquet")
    (directory / "b.parquet").write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    with pytest.raises(DataError, match="not a valid Parquet file"):
        rs.Interactions.read_parquet(directory)


@pytest.mark.parametrize(("content", "message"), [
    ("", "the file is empty"), (None, "no such file")])
def test_empty_and_missing_csv(tmp_path, content, message):
    path = tmp_path / "events.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=f"events.csv: {message}"):
        rs.Interactions.read_csv(path)


@pytest.mark.parametrize(("value", "message"), [
    ("soon", r"at row 4: 'soon' is not a number or an ISO 8601 time"),
    (str(2**70), r"at row 4: .1180591620717411303424. is beyond the int64 range"),
])
def test_bad_timestamps_name_their_row_and_value(ratings_csv, tmp_path, value, message):
    frame = pd.read_csv(ratings_csv).astype({"ts": object})
    frame.loc[4, "ts"] = value
    with pytest.raises(DataError, match=f"column 'ts' \\(timestamp\\) {message}"):
        rs.Interactions.from_pandas(frame, timestamp="ts")


def test_numeric_features_never_overflow_silently(ml100k_dir):
    items = pd.DataFrame({"item": [1, 2, 3], "budget": [1e300, 2.0, 3.0]})
    index = rs.IdIndex([1, 2, 3])
    scaled = rs.Features.from_pandas(items, id="item", index=index, numeric=["budget"])
    values = scaled.matrix.toarray().ravel()
    expected = (items.budget / 1e300 - (items.budget / 1e300).mean()) / (items.budget / 1e300).std(
        ddof=0)
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    with pytest.raises(DataError, match=r"numeric column 'budget' at row 0: 1e\+300 is beyond "
                                        "float32"):
        rs.Features.from_pandas(items, id="item", index=index, numeric=["budget"], scale=False)


def test_info_command_prints_one_error_line(ratings_csv, tmp_path, capsys):
    broken = _broken_copy(ratings_csv, tmp_path / "broken.csv", 3, "1,2,3,4,5,6")
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(b"garbage")
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(gzip.compress(ratings_csv.read_bytes())[:200])
    for path in (broken, damaged, truncated):
        assert cli_main(["info", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("recsys: error: ") and path.name in err
        assert "Traceback" not in err and err.count("\n") == 1
