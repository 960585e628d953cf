"""Batch export: recommendations for many users into a Parquet or CSV file (``recsys
recommend``), for the nightly job that fills a table.

Users are ranked in chunks and each chunk is appended to the file as it is ready, so memory
stays bounded by one chunk whatever the number of users. The file is written beside the target
under a temporary name and renamed into place at the end: a failed or killed export leaves any
previous file intact. Columns: ``user``, ``rank`` (1 = best), ``item``, ``score``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys._checks import check_choice, check_int
from recsys._progress import progress
from recsys.errors import ConfigError, DataError
from recsys.models.base import Recommender

FORMATS = (".parquet", ".csv")
CHUNK_USERS = 10_000


def export_recommendations(
    model: Recommender,
    output: str | os.PathLike,
    users: Any = None,
    *,
    k: int = 10,
    where: Mapping | None = None,
    exclude_seen: bool = True,
    on_unknown: str = "skip",
    chunk_users: int = CHUNK_USERS,
    show_progress: bool = False,
) -> int:
    """Write the top ``k`` of each user to ``output`` (``.parquet`` or ``.csv``).

    Parameters
    ----------
    model : Recommender
        A fitted model.
    output : str or PathLike
        The file to write; its suffix picks the format. Replaced atomically.
    users : list of ids, optional
        Default: every user the model knows, in its order.
    k, where, exclude_seen, on_unknown
        As in :meth:`Recommender.recommend` (unknown users are skipped by default).
    chunk_users : int
        Users ranked and written per step (bounds memory).
    show_progress : bool
        A progress bar over the users.

    Returns
    -------
    int
        Rows written.

    Examples
    --------
    >>> import recsys as rs, tempfile
    >>> inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "a"])
    >>> path = tempfile.mkdtemp() + "/recs.csv"
    >>> export_recommendations(rs.ItemKNN().fit(inter), path, k=1)
    1
    >>> open(path).read().splitlines()
    ['user,rank,item,score', 'u2,1,b,1.0']
    """
    model._check_fitted()
    target = Path(output)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"output {target.name!r}: give a .parquet or .csv file")
    chunk_users = check_int("chunk_users", chunk_users)
    check_choice("on_unknown", on_unknown, ("raise", "skip", "fallback"))
    ids = model.users_.ids if users is None else np.asarray(users, dtype=object)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    writer = _Parquet(staging) if suffix == ".parquet" else _Csv(staging)
    written = 0
    try:
        with progress(total=len(ids), unit="user", desc="recommend",
                      disable=not show_progress) as bar:
            for start in range(0, len(ids), chunk_users):
                chunk = ids[start:start + chunk_users]
                recs = model.recommend(chunk, k=k, where=where, exclude_seen=exclude_seen,
                                       on_unknown=on_unknown)
                frame = recs.to_pandas()[["user", "rank", "item", "score"]]
                frame["rank"] = frame["rank"].astype(np.int32)
                writer.write(frame)
                written += len(frame)
                bar.update(len(chunk))
        writer.close()
        os.replace(staging, target)
    except BaseException:
        writer.close()
        staging.unlink(missing_ok=True)
        raise
    return written


class _Csv:
    def __init__(self, path: Path) -> None:
        self.handle = open(path, "w", newline="", encoding="utf-8")
        self.header = True

    def write(self, frame: pd.DataFrame) -> None:
        frame.to_csv(self.handle, index=False, header=self.header)
        self.header = False

    def close(self) -> None:
        if not self.handle.closed:
            if self.header:  # no user at all: still a table, with its header
                self.handle.write("user,rank,item,score\n")
            self.handle.close()


class _Parquet:
    def __init__(self, path: Path) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise DataError("writing Parquet needs pyarrow; write a .csv instead") from exc
        self.pa, self.pq, self.path = pa, pq, path
        self.writer: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:  # its columns would have no type to fix the file's schema
            return
        table = self.pa.Table.from_pandas(frame, preserve_index=False)
        if self.writer is None:
            self.writer = self.pq.ParquetWriter(self.path, table.schema)
        elif table.schema != self.writer.schema:
            table = table.cast(self.writer.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        elif not self.path.exists():  # no user at all: an empty table
            self.pq.write_table(self.pa.table({"user": [], "rank": self.pa.array(
                [], self.pa.int32()), "item": [], "score": self.pa.array([], self.pa.float32())}),
                self.path)
