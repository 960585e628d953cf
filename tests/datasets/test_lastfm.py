"""Last.fm HetRec loader on a small hand-written fixture in the official format (invented
artists and play counts, written at test time: no rows of the licensed data)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from recsys.datasets import lastfm_hetrec
from recsys.errors import ColumnError, DataError

PLAYS = {(2, 51): 9120, (2, 52): 8410, (2, 53): 7302, (3, 51): 160, (3, 89): 5,
         (4, 52): 3, (4, 289): 1, (7, 89): 600, (7, 53): 180, (7, 51): 1}
ARTISTS = [
    "id\tname\turl\tpictureURL",
    "51\tThe Lantern Choir\thttp://www.last.fm/music/The+Lantern+Choir\thttp://img.example/1.jpg",
    "52\tMossback\thttp://www.last.fm/music/Mossback\thttp://img.example/2.jpg",
    "53\tÖrnsköld\thttp://www.last.fm/music/%C3%96rnsk%C3%B6ld\thttp://img.example/3.jpg",
    '89\t"Loud" Lenny Vale\thttp://www.last.fm/music/%22Loud%22+Lenny+Vale\t'
    "http://img.example/4.jpg",
    "289\tSæla Fjord\thttp://www.last.fm/music/S%C3%A6la+Fjord\t",
    "900\tNever Played\thttp://www.last.fm/music/Never+Played\thttp://img.example/5.jpg",
]


def _mixed(lines: list[str]) -> bytes:
    """The official files mix line endings: CRLF on the first half, LF on the rest."""
    half = len(lines) // 2
    return ("\r\n".join(lines[:half]) + "\r\n" + "\n".join(lines[half:]) + "\n").encode()


@pytest.fixture
def fixture(tmp_path: Path) -> Path:
    folder = tmp_path / "hetrec2011-lastfm-2k"
    folder.mkdir()
    plays = ["userID\tartistID\tweight"] + [f"{u}\t{a}\t{w}" for (u, a), w in PLAYS.items()]
    (folder / "user_artists.dat").write_bytes(_mixed(plays))
    (folder / "artists.dat").write_bytes(_mixed(ARTISTS))
    return folder


def plays_of(ds) -> dict:
    frame = ds.interactions.to_pandas()
    return {(u, i): w for u, i, w in zip(frame["user"], frame["item"], frame["weight"],
                                         strict=True)}


def test_fixture_really_mixes_line_endings(fixture):
    for name in ("user_artists.dat", "artists.dat"):
        raw = (fixture / name).read_bytes()
        crlf = raw.count(b"\r\n")
        assert crlf > 0 and raw.count(b"\n") > crlf, f"{name} lost its mixed LF/CRLF endings"


def test_play_counts_are_the_weights(fixture):
    ds = lastfm_hetrec(fixture)
    assert ds.interactions.shape == (4, 5)
    assert ds.interactions.nnz == len(PLAYS)
    assert plays_of(ds) == PLAYS
    assert ds.interactions.users.ids.tolist() == [2, 3, 4, 7]
    assert ds.interactions.timestamps is None
    row = ds.interactions.users.to_index([7])[0]
    assert ds.interactions.matrix[row].sum() == 781.0  # 600 + 180 + 1


def test_artists_frame(fixture):
    items = lastfm_hetrec(fixture).items
    assert items.index.name == "item_id"
    assert list(items.columns) == ["name", "url", "picture_url"]
    assert items.loc[53, "name"] == "Örnsköld"
    assert items.loc[89, "name"] == '"Loud" Lenny Vale'  # bare quotes are part of the name
    assert items.loc[289, "name"] == "Sæla Fjord"
    assert not items["name"].str.contains("\r").any()  # no CR left at any line end
    assert items.loc[289, "picture_url"] != items.loc[289, "picture_url"]  # empty -> NaN
    assert 900 in items.index  # listed but never played: kept in the metadata


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_uniform_line_endings_give_the_same_data(tmp_path, fixture, ending):
    for name in ("user_artists.dat", "artists.dat"):
        lines = (fixture / name).read_bytes().replace(b"\r\n", b"\n").split(b"\n")
        (tmp_path / name).write_bytes(ending.join(lines))
    ds = lastfm_hetrec(tmp_path)
    assert plays_of(ds) == PLAYS
    assert lastfm_hetrec(fixture).items.equals(ds.items)


def test_parent_folder_is_accepted(fixture):
    assert plays_of(lastfm_hetrec(fixture.parent)) == PLAYS


def test_repeated_pairs_are_summed(tmp_path, fixture):
    shutil.copy(fixture / "artists.dat", tmp_path)
    (tmp_path / "user_artists.dat").write_text("userID\tartistID\tweight\n2\t51\t10\n2\t51\t5\n")
    ds = lastfm_hetrec(tmp_path)
    np.testing.assert_array_equal(ds.interactions.matrix.toarray(), [[15.0]])


def test_bad_lines_are_named(tmp_path, fixture):
    shutil.copy(fixture / "artists.dat", tmp_path)
    plays = tmp_path / "user_artists.dat"
    plays.write_bytes(b"userID\tartistID\tweight\r\n2\t51\t10\n2\tfifty\t5\r\n")
    with pytest.raises(DataError, match=r"user_artists\.dat, line 3: column 'artistID' is not"):
        lastfm_hetrec(tmp_path)
    plays.write_bytes(b"userID\tartistID\tweight\n2\t51\t10\t1\n")
    with pytest.raises(DataError, match=r"user_artists\.dat, line 2: 4 fields, expected 3"):
        lastfm_hetrec(tmp_path)
    plays.write_bytes(b"userID\tartistID\tweight\n2\t51\t-10\n")
    with pytest.raises(DataError, match="negative"):
        lastfm_hetrec(tmp_path)
    plays.write_bytes(b"user\tartistID\tweight\n2\t51\t10\n")
    with pytest.raises(ColumnError, match="userID"):
        lastfm_hetrec(tmp_path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(DataError, match=r"user_artists\.dat not found"):
        lastfm_hetrec(tmp_path)
    (tmp_path / "user_artists.dat").write_text("userID\tartistID\tweight\n2\t51\t10\n")
    with pytest.raises(DataError, match=r"artists\.dat not found"):
        lastfm_hetrec(tmp_path)
