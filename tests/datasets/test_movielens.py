"""MovieLens loaders: the real 100K from ../shared/data, small hand-written 1M and 20M files."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from recsys.datasets import movielens_1m, movielens_20m, movielens_100k
from recsys.errors import ColumnError, DataError


@pytest.fixture(scope="module")
def ml100k(ml100k_dir):
    return movielens_100k(ml100k_dir)


def feature_names(features, row: int) -> set[str]:
    matrix = features.matrix
    return set(features.names[matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]])


def item_row(ds, item_id) -> int:
    return int(ds.interactions.items.to_index([item_id])[0])


def user_row(ds, user_id) -> int:
    return int(ds.interactions.users.to_index([user_id])[0])


# ---------------------------------------------------------------------------- 100K (real)
def test_100k_matrix_shape_and_entries(ml100k):
    inter = ml100k.interactions
    assert inter.shape == (943, 1682)
    assert inter.nnz == 100_000
    assert inter.timestamps is not None and len(inter.timestamps) == 100_000
    assert inter.users.ids.tolist() == list(range(1, 944))  # sorted, row 0 is user 1
    assert sorted(inter.items.ids.tolist()) == list(range(1, 1683))


def test_100k_round_trips_against_the_raw_file(ml100k, ml100k_dir):
    raw = pd.read_csv(ml100k_dir / "u.data", sep="\t", header=None,
                      names=["user", "item", "rating", "timestamp"])
    raw = raw.sort_values(["user", "item"], ignore_index=True)
    ours = ml100k.interactions.to_pandas().sort_values(["user", "item"], ignore_index=True)
    np.testing.assert_array_equal(ours["user"].to_numpy(), raw["user"].to_numpy())
    np.testing.assert_array_equal(ours["item"].to_numpy(), raw["item"].to_numpy())
    np.testing.assert_array_equal(ours["weight"].to_numpy(), raw["rating"].to_numpy())
    np.testing.assert_array_equal(ours["timestamp"].to_numpy(), raw["timestamp"].to_numpy())


def test_100k_items_titles_years_and_genres(ml100k):
    items = ml100k.items
    assert len(items) == 1682 and items.index.name == "item_id"
    assert items.loc[1, "title"] == "Toy Story (1995)"
    assert items.loc[1, "year"] == 1995
    assert items.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert items.loc[2, "genres"] == "Action|Adventure|Thriller"  # GoldenEye
    assert items.loc[543, "title"] == "Misérables, Les (1995)"  # u.item is latin-1
    assert items.loc[267, "title"] == "unknown"
    assert pd.isna(items.loc[267, "year"])
    assert items.loc[267, "genres"] == ""  # the "unknown" flag is no genre


def test_100k_genre_features(ml100k):
    feats = ml100k.item_features
    assert feats.matrix.shape == (1682, 18)  # 19 flags minus "unknown"
    assert feature_names(feats, item_row(ml100k, 1)) == {
        "genres=Animation", "genres=Children's", "genres=Comedy"}
    assert feature_names(feats, item_row(ml100k, 2)) == {
        "genres=Action", "genres=Adventure", "genres=Thriller"}
    assert feature_names(feats, item_row(ml100k, 267)) == set()
    # Drama is the most common genre of MovieLens 100K: 725 movies.
    drama = list(feats.names).index("genres=Drama")
    assert feats.matrix[:, drama].sum() == 725


def test_100k_users_and_user_features(ml100k):
    users = ml100k.users
    assert len(users) == 943
    assert users.loc[1].to_dict() == {"age": 24, "age_bucket": "18-24", "gender": "M",
                                      "occupation": "technician", "zip_code": "85711"}
    assert users.loc[2, "age_bucket"] == "50-55"
    feats = ml100k.user_features
    assert feats.matrix.shape[0] == 943
    assert feature_names(feats, user_row(ml100k, 1)) == {
        "age_bucket=18-24", "gender=M", "occupation=technician"}
    np.testing.assert_array_equal(np.asarray(feats.matrix.sum(axis=1)).ravel(), 3.0)
    assert sum(n.startswith("occupation=") for n in feats.names) == 21
    assert users["age_bucket"].value_counts().sum() == 943


def test_100k_accepts_the_parent_folder(ml100k, shared_data):
    ds = movielens_100k(shared_data)  # the folder holding ml-100k/ works too
    assert ds.interactions.nnz == ml100k.interactions.nnz


def test_100k_bad_line_names_file_and_line(tmp_path, ml100k_dir):
    for name in ("u.item", "u.user", "u.genre"):
        shutil.copy(ml100k_dir / name, tmp_path / name)
    (tmp_path / "u.data").write_text("1\t1\t5\t881250949\n2\t1\tfive\t881250950\n")
    with pytest.raises(DataError, match=r"u\.data, line 2: column 'rating' is not a number"):
        movielens_100k(tmp_path)
    (tmp_path / "u.data").write_text("1\t1\t5\t881250949\n2\t1\t4\n")
    with pytest.raises(DataError, match=r"u\.data, line 2: 3 fields, expected 4"):
        movielens_100k(tmp_path)
    (tmp_path / "u.data").write_text("1\t1\t5\t881250949\t7\n")
    with pytest.raises(DataError, match=r"u\.data, line 1: 5 fields, expected 4"):
        movielens_100k(tmp_path)


def test_100k_missing_file_is_named(tmp_path):
    (tmp_path / "u.data").write_text("1\t1\t5\t881250949\n")
    with pytest.raises(DataError, match=r"u\.item not found"):
        movielens_100k(tmp_path)


# ---------------------------------------------------------------------------- 1M (fixture)
def write_1m(folder) -> None:
    folder.mkdir()
    (folder / "ratings.dat").write_bytes(
        b"1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n"
        b"2::3::2::978300000\n3::661::1::978299999\n")
    (folder / "movies.dat").write_bytes(
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
        "3::Misérables, Les (1995)::Drama|Musical\n"
        "4::Never Rated (2000)::Comedy\n".encode("latin-1"))
    (folder / "users.dat").write_bytes(
        b"1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n")


def test_1m_from_a_local_copy(tmp_path):
    write_1m(tmp_path / "ml-1m")
    ds = movielens_1m(tmp_path)  # the parent folder is enough
    inter = ds.interactions
    assert inter.shape == (3, 3)
    assert inter.users.ids.tolist() == [1, 2, 3]
    assert sorted(inter.items.ids.tolist()) == [3, 661, 1193]
    frame = inter.to_pandas().set_index(["user", "item"])
    assert frame.loc[(1, 1193), "weight"] == 5.0
    assert frame.loc[(2, 3), "timestamp"] == 978300000
    assert ds.items.loc[3, "title"] == "Misérables, Les (1995)"
    assert ds.items.loc[661, "year"] == 1996
    assert 4 in ds.items.index  # unrated movies stay in the catalogue ...
    assert 4 not in inter.items  # ... but not in the matrix
    assert feature_names(ds.item_features, item_row(ds, 661)) == {
        "genres=Animation", "genres=Children's", "genres=Musical"}
    assert ds.users.loc[1, "age_bucket"] == "Under 18"
    assert ds.users.loc[1, "occupation"] == "K-12 student"
    assert ds.users.loc[2, "age_bucket"] == "56+"
    assert ds.users.loc[2, "occupation"] == "self-employed"
    assert feature_names(ds.user_features, user_row(ds, 3)) == {
        "age_bucket=25-34", "gender=M", "occupation=scientist"}


def test_1m_unknown_occupation_code(tmp_path):
    write_1m(tmp_path / "ml-1m")
    (tmp_path / "ml-1m" / "users.dat").write_bytes(b"1::F::1::10::48067\n2::M::56::99::70072\n")
    with pytest.raises(DataError, match=r"users\.dat, line 2: unknown occupation code 99"):
        movielens_1m(tmp_path / "ml-1m")


# ---------------------------------------------------------------------------- 20M (fixture)
def test_20m_from_a_local_copy(tmp_path):
    folder = tmp_path / "ml-20m"
    folder.mkdir()
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n1,29,3.5,1112484676\n"
        "7,2,4.0,1112484580\n")
    (folder / "movies.csv").write_text(
        'movieId,title,genres\n2,Jumanji (1995),Adventure|Children|Fantasy\n'
        '29,"City of Lost Children, The (Cité des enfants perdus, La) (1995)",'
        'Adventure|Drama|Fantasy|Mystery|Sci-Fi\n'
        '131260,Rentun Ruusu (2001),(no genres listed)\n', encoding="utf-8")
    ds = movielens_20m(folder)
    assert ds.interactions.shape == (2, 2)
    assert ds.interactions.to_pandas()["weight"].tolist() == [3.5, 3.5, 4.0]
    assert ds.items.loc[29, "title"].startswith("City of Lost Children, The (Cité")
    assert ds.items.loc[29, "year"] == 1995
    assert ds.items.loc[131260, "genres"] == ""
    assert ds.users is None and ds.user_features is None
    assert feature_names(ds.item_features, item_row(ds, 2)) == {
        "genres=Adventure", "genres=Children", "genres=Fantasy"}


def test_20m_missing_column_is_named(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId,itemId,rating,timestamp\n1,2,3.5,1\n")
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n2,X (1995),Drama\n")
    with pytest.raises(ColumnError, match="movieId"):
        movielens_20m(tmp_path)
