"""MovieLens 100K, 1M and 20M (GroupLens) as :class:`~recsys.data.Dataset` objects.

Each loader reads a local copy when given ``path`` and otherwise downloads the official zip
into the cache (see :mod:`recsys.datasets.download`), checks its SHA-256 and extracts it.

The returned data set holds:

- ``interactions``: users x movies, the rating as weight, the rating time (unix seconds) kept;
  user and item ids are the integer ids of the files; rows follow ascending user id, columns
  the order in which movies first appear in that sorted list;
- ``items``: every movie of the catalogue file (also unrated ones), indexed by ``item_id``,
  with ``title``, ``year`` (from the title, nullable) and ``genres`` as a ``"|"``-joined string;
- ``item_features``: one multi-label column per genre (``"genres=Comedy"``). The placeholders
  ``unknown`` (100K) and ``(no genres listed)`` (20M) become an empty genre list, so that
  movies are not made similar by what is not known about them;
- ``users`` and ``user_features`` (100K and 1M only): age bucket, gender and occupation as
  one-hot categories;
- ``events`` is ``None``: MovieLens has one rating per (user, movie), so
  ``interactions.to_pandas()`` already is the full ratings table.

The licence of MovieLens forbids redistribution: keep copies out of repositories.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.data.dataset import Dataset
from recsys.data.features import Features
from recsys.data.interactions import Interactions
from recsys.datasets._text import read_table, read_text, require_file
from recsys.datasets.download import RemoteFile, fetch_and_extract, locate
from recsys.errors import DataError

_BASE = "https://files.grouplens.org/datasets/movielens"
# SHA-256 digests of the official archives, as pinned by tensorflow-datasets
# (url_checksums/movielens.txt) and matching the MD5s GroupLens publishes beside the files.
ML_100K = RemoteFile(f"{_BASE}/ml-100k.zip",
                     "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229", 4_924_029)
ML_1M = RemoteFile(f"{_BASE}/ml-1m.zip",
                   "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", 5_917_549)
ML_20M = RemoteFile(f"{_BASE}/ml-20m.zip",
                    "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3", 198_702_078)

CACHE_SUBDIR = "movielens"

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)
NO_GENRE = ("unknown", "(no genres listed)")

# The 1M release codes ages as the lower bound of a bucket; 100K ages are bucketed the same way.
AGE_BUCKETS = {1: "Under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49",
               50: "50-55", 56: "56+"}
ML1M_OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)
USER_CATEGORIES = ["age_bucket", "gender", "occupation"]
RATING_DTYPES = {"user_id": "int64", "item_id": "int64", "rating": "float32",
                 "timestamp": "int64"}

PathLike = str | os.PathLike


# ---------------------------------------------------------------------------- public loaders
def movielens_100k(path: PathLike | None = None, *, show_progress: bool = True) -> Dataset:
    """MovieLens 100K: 943 users, 1,682 movies, 100,000 ratings (1-5) from 1997-98.

    Parameters
    ----------
    path : path, optional
        The folder holding ``u.data``, ``u.item`` and ``u.user`` (or its parent). Without it
        the official zip is downloaded once into the cache and verified.
    show_progress : bool
        Progress bar while downloading.

    Returns
    -------
    Dataset
        See the module docstring; ``users`` also has ``age`` and ``zip_code``, ``items`` also
        ``release_date`` and ``imdb_url``.

    Raises
    ------
    recsys.errors.DataError
        A file is missing or malformed (the message names file and line).
    recsys.errors.ChecksumError
        The download does not match the published archive.

    Examples
    --------
    >>> ds = movielens_100k("../shared/data/ml-100k")  # doctest: +SKIP
    >>> ds.interactions.shape  # doctest: +SKIP
    (943, 1682)
    """
    folder = _folder(path, ML_100K, "u.data", "movielens_100k", show_progress)
    file = require_file(folder, "u.data", "movielens_100k")
    ratings = read_table(file, file=file, sep="\t", names=list(RATING_DTYPES),
                         dtypes=RATING_DTYPES)
    items = _read_100k_items(folder)
    users = _read_100k_users(folder)
    return _assemble(ratings, items, users)


def movielens_1m(path: PathLike | None = None, *, show_progress: bool = True) -> Dataset:
    """MovieLens 1M: 6,040 users, 3,706 rated movies (3,883 listed), 1,000,209 ratings.

    Parameters
    ----------
    path : path, optional
        The folder holding ``ratings.dat``, ``movies.dat`` and ``users.dat`` (``::``
        separated, latin-1), or its parent. Without it the official zip is downloaded.
    show_progress : bool
        Progress bar while downloading.

    Returns
    -------
    Dataset
        See the module docstring; ``users`` also has ``zip_code``.

    Examples
    --------
    >>> ds = movielens_1m()  # doctest: +SKIP
    >>> ds.users["occupation"].iloc[0]  # doctest: +SKIP
    'K-12 student'
    """
    folder = _folder(path, ML_1M, "ratings.dat", "movielens_1m", show_progress)
    ratings = _read_double_colon(folder, "ratings.dat", list(RATING_DTYPES), RATING_DTYPES)
    movies = _read_double_colon(folder, "movies.dat", ["item_id", "title", "genres"],
                                {"item_id": "int64", "title": "str", "genres": "str"})
    users = _read_double_colon(
        folder, "users.dat", ["user_id", "gender", "age", "occupation", "zip_code"],
        {"user_id": "int64", "gender": "str", "age": "int64", "occupation": "int64",
         "zip_code": "str"})
    return _assemble(ratings, _movie_frame(movies), _1m_users(users, folder / "users.dat"))


def movielens_20m(path: PathLike | None = None, *, show_progress: bool = True) -> Dataset:
    """MovieLens 20M: 138,493 users, 26,744 rated movies, 20,000,263 half-star ratings.

    There is no demographic file in this release, so ``users`` and ``user_features`` are
    ``None``. Reading takes tens of seconds and a few GB of memory.

    Parameters
    ----------
    path : path, optional
        The folder holding ``ratings.csv`` and ``movies.csv``, or its parent. Without it the
        official zip (190 MB) is downloaded.
    show_progress : bool
        Progress bar while downloading.

    Examples
    --------
    >>> ds = movielens_20m()  # doctest: +SKIP
    >>> ds.interactions.nnz  # doctest: +SKIP
    20000263
    """
    folder = _folder(path, ML_20M, "ratings.csv", "movielens_20m", show_progress)
    file = require_file(folder, "ratings.csv", "movielens_20m")
    ratings = read_table(file, file=file, sep=",", header=True, engine="pyarrow",
                         dtypes={"userId": "int64", "movieId": "int64", "rating": "float32",
                                 "timestamp": "int64"})
    ratings.columns = list(RATING_DTYPES)
    movies_file = require_file(folder, "movies.csv", "movielens_20m")
    movies = read_table(movies_file, file=movies_file, sep=",", header=True,
                        quoting=csv.QUOTE_MINIMAL,
                        dtypes={"movieId": "int64", "title": "str", "genres": "str"})
    movies = movies.rename(columns={"movieId": "item_id"})
    return _assemble(ratings, _movie_frame(movies), None)


# ---------------------------------------------------------------------------- assembling
def _folder(path: PathLike | None, remote: RemoteFile, marker: str, what: str,
            show_progress: bool) -> Path:
    if path is None:
        path = fetch_and_extract(remote, CACHE_SUBDIR, show_progress=show_progress)
    return locate(path, marker, what)


def _assemble(ratings: pd.DataFrame, items: pd.DataFrame, users: pd.DataFrame | None) -> Dataset:
    inter = _interactions(ratings)
    item_features = _genre_features(items, inter)
    user_features = None
    if users is not None:
        known = users[users.index.isin(inter.users.ids)].reset_index()
        user_features = Features.from_pandas(known, "user_id", inter.users,
                                             categorical=USER_CATEGORIES)
    return Dataset(inter, item_features=item_features, user_features=user_features,
                   items=items, users=users)


def _interactions(ratings: pd.DataFrame) -> Interactions:
    # Sorting first puts the users in ascending id order (row 0 is user 1); the stable sort
    # keeps file order inside a pair, so a re-rating later in the file wins ("last").
    order = np.lexsort((ratings["item_id"].to_numpy(), ratings["user_id"].to_numpy()))
    ratings = ratings.iloc[order].reset_index(drop=True)
    return Interactions.from_pandas(ratings, user="user_id", item="item_id", weight="rating",
                                    timestamp="timestamp", duplicates="last")


def _genre_features(items: pd.DataFrame, inter: Interactions) -> Features:
    known = items[items.index.isin(inter.items.ids)].reset_index()
    return Features.from_pandas(known, "item_id", inter.items, multilabel={"genres": "|"})


def _movie_frame(movies: pd.DataFrame) -> pd.DataFrame:
    """item_id-indexed frame with title, year and cleaned genres from (item_id, title, genres)."""
    title = movies["title"].astype(str).str.strip()
    frame = pd.DataFrame({
        "item_id": movies["item_id"].to_numpy(),
        "title": title.to_numpy(),
        "year": _year_of(title).array,
        "genres": movies["genres"].fillna("").map(_clean_genres).to_numpy(),
    })
    return frame.set_index("item_id")


def _clean_genres(genres: str) -> str:
    return "|".join(g for g in str(genres).split("|") if g and g not in NO_GENRE)


def _year_of(titles: pd.Series) -> pd.Series:
    years = titles.str.extract(r"\((\d{4})\)\s*$", expand=False)
    return pd.to_numeric(years, errors="coerce").astype("Int64")


# ---------------------------------------------------------------------------- 100K files
def _read_100k_items(folder: Path) -> pd.DataFrame:
    file = require_file(folder, "u.item", "movielens_100k")
    genres = _read_100k_genres(folder)
    names = ["item_id", "title", "release_date", "video_release_date", "imdb_url", *genres]
    dtypes = {"item_id": "int64", "title": "str", "release_date": "str", "imdb_url": "str"}
    dtypes.update(dict.fromkeys(genres, "int8"))
    raw = read_table(read_text(file, "latin-1"), file=file, sep="|", names=names,
                     dtypes=dtypes)
    flags = raw[list(genres)].to_numpy(dtype=bool)
    labels = np.array(genres, dtype=object)
    movies = pd.DataFrame({
        "item_id": raw["item_id"],
        "title": raw["title"],
        "genres": ["|".join(labels[row]) for row in flags],
    })
    items = _movie_frame(movies)
    released = pd.to_datetime(raw["release_date"], format="%d-%b-%Y", errors="coerce")
    release_year = pd.array(released.dt.year.to_numpy(), dtype="Int64")
    items["year"] = items["year"].fillna(pd.Series(release_year, index=items.index))
    items["release_date"] = released.to_numpy()
    items["imdb_url"] = raw["imdb_url"].to_numpy()
    return items


def _read_100k_genres(folder: Path) -> tuple[str, ...]:
    """Genre names in flag order, from u.genre when present (it defines the u.item columns)."""
    file = folder / "u.genre"
    if not file.is_file():
        return ML100K_GENRES
    table = read_table(read_text(file, "latin-1"), file=file, sep="|",
                       names=["genre", "position"], dtypes={"genre": "str", "position": "int64"})
    table = table.dropna().sort_values("position")
    return tuple(table["genre"])


def _read_100k_users(folder: Path) -> pd.DataFrame:
    file = require_file(folder, "u.user", "movielens_100k")
    users = read_table(read_text(file, "latin-1"), file=file, sep="|",
                       names=["user_id", "age", "gender", "occupation", "zip_code"],
                       dtypes={"user_id": "int64", "age": "int64", "gender": "str",
                               "occupation": "str", "zip_code": "str"})
    users.insert(2, "age_bucket", _age_bucket(users["age"].to_numpy()))
    return users.set_index("user_id")


def _age_bucket(ages: np.ndarray) -> np.ndarray:
    """Ages to the 1M release's buckets ("25-34" ...), so both loaders speak alike."""
    bounds = np.array(sorted(AGE_BUCKETS))
    names = np.array([AGE_BUCKETS[b] for b in bounds], dtype=object)
    return names[np.clip(np.searchsorted(bounds, ages, side="right") - 1, 0, None)]


# ---------------------------------------------------------------------------- 1M files
def _read_double_colon(folder: Path, name: str, names: list[str], dtypes: dict) -> pd.DataFrame:
    file = require_file(folder, name, "movielens_1m")
    # "::" would need pandas' slow python engine; a tab never occurs in these files.
    text = read_text(file, "latin-1").replace("::", "\t")
    return read_table(text, file=file, sep="\t", names=names, dtypes=dtypes)


def _1m_users(users: pd.DataFrame, file: Path) -> pd.DataFrame:
    bad_age = ~users["age"].isin(list(AGE_BUCKETS))
    bad_job = ~users["occupation"].between(0, len(ML1M_OCCUPATIONS) - 1)
    for bad, column in ((bad_age, "age"), (bad_job, "occupation")):
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{file}, line {row + 1}: unknown {column} code "
                            f"{int(users[column].iloc[row])}")
    frame = pd.DataFrame({
        "user_id": users["user_id"].to_numpy(),
        "age_bucket": users["age"].map(AGE_BUCKETS).to_numpy(),
        "gender": users["gender"].to_numpy(),
        "occupation": np.asarray(ML1M_OCCUPATIONS, dtype=object)[users["occupation"]],
        "zip_code": users["zip_code"].to_numpy(),
    })
    return frame.set_index("user_id")
