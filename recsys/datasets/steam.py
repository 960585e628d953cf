"""Steam play time (the play rows of Kaggle's "Steam Video Games", steam-200k)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.datasets._text import read_table, read_text
from recsys.errors import DataError

WHAT = "steam_play"
FILE = "steam-play.csv"
# The header is "user-id,game-title,value," with a trailing comma: a fourth, unnamed column
# that is empty except for a stray value on one row. It carries nothing and is dropped.
COLUMNS = {"user-id": "int64", "game-title": "str", "value": "float64"}


def steam_play(path: str | os.PathLike, *, encoding: str = "utf-8") -> Dataset:
    """Read Steam play time as a users x games data set weighted by hours played.

    Parameters
    ----------
    path : path
        ``steam-play.csv`` or the folder holding it: comma-separated, header
        ``user-id,game-title,value,`` (hours in ``value``); titles holding commas are quoted.
    encoding : str
        Text encoding of the file.

    Returns
    -------
    Dataset
        ``interactions``: users (integer Steam ids) x games (titles as ids), the hours played
        as weight; a (user, game) pair listed more than once is one entry with its hours
        summed. No timestamps.

    Raises
    ------
    recsys.errors.DataError
        The file is missing, a line has the wrong number of fields or a missing or
        non-numeric id or hours value, or hours are not positive (the message names file
        and line).
    recsys.errors.ColumnError
        The header lacks one of ``user-id``, ``game-title``, ``value``.

    Examples
    --------
    >>> ds = steam_play("../shared/data/steam-play")  # doctest: +SKIP
    >>> ds.interactions.shape  # doctest: +SKIP
    (9418, 3600)
    """
    file = Path(path)
    if file.is_dir():
        file = file / FILE
    if not file.is_file():
        raise DataError(f"{WHAT}: {file} not found")
    text = read_text(file, encoding)
    plays = read_table(text, file=file, sep=",", header=True, dtypes=COLUMNS,
                       quoting=csv.QUOTE_MINIMAL)
    bad = np.flatnonzero(~(plays["value"].to_numpy() > 0))
    if len(bad):
        row = int(bad[0])
        # +2: the header is line 1 and rows count from 0 (blank lines are not expected).
        raise DataError(f"{file}, line {row + 2}: column 'value' (hours played) must be "
                        f"positive, got {plays['value'].iloc[row]!r}")
    # Sorted rows give id maps in ascending id order, as for the other loaders.
    plays = plays.sort_values(["user-id", "game-title"], kind="stable", ignore_index=True)
    return Dataset(Interactions.from_pandas(plays, user="user-id", item="game-title",
                                            weight="value", duplicates="sum"))
