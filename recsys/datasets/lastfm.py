"""Last.fm HetRec 2011 (``hetrec2011-lastfm-2k``): 1,892 users, 17,632 artists, play counts."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.datasets._text import read_table, read_text, require_file
from recsys.datasets.download import locate

WHAT = "lastfm_hetrec"
PLAYS = {"userID": "int64", "artistID": "int64", "weight": "float64"}
ARTISTS = {"id": "int64", "name": "str", "url": "str", "pictureURL": "str"}


def lastfm_hetrec(path: str | os.PathLike, *, encoding: str = "utf-8") -> Dataset:
    """Read the extracted ``hetrec2011-lastfm-2k`` folder of the official release.

    The release is not downloaded for you: get ``hetrec2011-lastfm-2k.zip`` from GroupLens
    (https://grouplens.org/datasets/hetrec-2011/) and pass the extracted folder.

    Parameters
    ----------
    path : path
        The folder holding ``user_artists.dat`` (tab-separated, header
        ``userID artistID weight``) and ``artists.dat`` (``id name url pictureURL``), or its
        parent. The official files mix LF and CRLF line endings; both are accepted.
    encoding : str
        Text encoding of the files.

    Returns
    -------
    Dataset
        ``interactions``: users x artists with the play count as weight (no timestamps;
        repeated pairs are summed); ``items``: indexed by ``item_id`` (the artist id) with
        ``name``, ``url`` and ``picture_url``, every artist of ``artists.dat``.

    Raises
    ------
    recsys.errors.DataError
        A file is missing, a line has the wrong number of fields or a non-numeric id or count
        (the message names file and line), or the play counts are negative.
    recsys.errors.ColumnError
        A header lacks one of the expected columns.

    Examples
    --------
    >>> ds = lastfm_hetrec("hetrec2011-lastfm-2k")  # doctest: +SKIP
    >>> ds.interactions.shape  # doctest: +SKIP
    (1892, 17632)
    """
    folder = locate(path, "user_artists.dat", WHAT)
    plays_file = require_file(folder, "user_artists.dat", WHAT)
    plays = read_table(read_text(plays_file, encoding), file=plays_file, sep="\t", header=True,
                       dtypes=PLAYS)
    # Sorted rows give id maps in ascending id order, as for MovieLens.
    plays = plays.sort_values(["userID", "artistID"], kind="stable", ignore_index=True)
    inter = Interactions.from_pandas(plays, user="userID", item="artistID", weight="weight",
                                     duplicates="sum")
    return Dataset(inter, items=_artists(folder, encoding))


def _artists(folder: Path, encoding: str) -> pd.DataFrame:
    file = require_file(folder, "artists.dat", WHAT)
    artists = read_table(read_text(file, encoding), file=file, sep="\t", header=True,
                         dtypes=ARTISTS)
    artists = artists.rename(columns={"id": "item_id", "pictureURL": "picture_url"})
    return artists.set_index("item_id")
