"""The event log of the HTTP service: append-only, one fsync per batch, replayed on start.

Layout: one text line per record, ``<crc32 of the JSON, 8 hex digits> <JSON>\\n``. The first
line is the log's header, ``{"format": 1, "kind": "log", "log_id": "<uuid>", "seq": 0}``;
every later line is one accepted batch::

    {"kind": "events", "seq": 41, "records": [{"user": "u1", "item": "i9", "weight": 3.0,
     "timestamp": 1718000000.0, "type": "cart"}, ...]}

``seq`` is the sequence number of the batch's first record; its records are numbered
``seq, seq + 1, ...`` and the next batch starts where this one ends, so the numbers rise by
one per record across the whole log. ``weight`` is the weight applied (after the per-type
table), so replaying a log never depends on the settings of the server that wrote it.
``kind`` ``"items"`` records carry item rows for families with ``add_items``.

Why a plain file: a batch is appended with one ``write`` and made durable with one
``fdatasync``, the least a durable acknowledgement can cost; the only query is "every batch
after sequence number N", a sequential read; and the file can be inspected with ``tail`` and
``jq`` and shipped to a retraining job as it is. SQLite in WAL mode would also cost one sync
per commit and give the same guarantees, at the price of a binary file and a second storage
engine for this one append-and-scan pattern.

A crash mid-append leaves a torn last record (an incomplete line, or a line whose checksum
fails): readers ignore it (its batch was never acknowledged, since the answer follows the
sync) and the writer cuts it off when it opens the log. A damaged record followed by valid
ones is not a crash's trace but corruption: reading stops with a :class:`DataError` naming
the line, rather than skipping acknowledged events silently.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, one writer by convention
    fcntl = None  # type: ignore[assignment]

import numpy as np
import pandas as pd

from recsys.errors import ConfigError, DataError, ModelFileError
from recsys.models.base import Recommender
from recsys.serving._write import fsync_dir

__all__ = ["Batch", "EventLog", "LOG_FORMAT", "apply", "read_log", "replay", "snapshot_point"]

LOG_FORMAT = 1
KINDS = ("events", "items")
_sync = getattr(os, "fdatasync", os.fsync)  # data and size; the inode's times need not be


@dataclass(frozen=True)
class Batch:
    """One accepted batch: its kind, the sequence number of its first record, its records."""

    kind: str
    seq: int
    records: list[dict]

    @property
    def last_seq(self) -> int:
        return self.seq + len(self.records) - 1


def _line(payload: dict) -> bytes:
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("ascii")
    return b"%08x %s\n" % (zlib.crc32(text), text)


def _parse(line: bytes) -> dict | None:
    """The payload of one complete line, or None when it does not check out."""
    crc, _, text = line.rstrip(b"\n").partition(b" ")
    try:
        if len(crc) != 8 or int(crc, 16) != zlib.crc32(text):
            return None
        payload = json.loads(text)
    except ValueError:  # bad hex, bad JSON, bad UTF-8
        return None
    return payload if isinstance(payload, dict) else None


def _scan(handle: Any, path: Path) -> Iterator[tuple[int, dict]]:
    """(end offset, payload) of every valid record, the header first; a torn tail ends the
    scan quietly, a bad record followed by a good one raises."""
    offset, expected, bad = 0, None, None
    for number, line in enumerate(handle, start=1):
        payload = _parse(line) if line.endswith(b"\n") else None
        if payload is None:
            bad = bad or (number, offset)
            offset += len(line)
            continue
        if bad is not None:
            raise DataError(f"{path}: line {bad[0]} (byte {bad[1]}) is damaged but later "
                            "records are intact: the log is corrupt, not torn by a crash")
        offset += len(line)
        if expected is None:
            if payload.get("kind") != "log" or payload.get("format") != LOG_FORMAT \
                    or not isinstance(payload.get("log_id"), str):
                raise DataError(f"{path}: line 1 is not an event log header (format "
                                f"{LOG_FORMAT})")
            expected = 1
        else:
            seq, records = payload.get("seq"), payload.get("records")
            if payload.get("kind") not in KINDS or seq != expected \
                    or not isinstance(records, list) or not records:
                raise DataError(f"{path}: line {number} is not the batch that follows "
                                f"sequence number {expected - 1}")
            expected += len(records)
        yield offset, payload
    # Only an incomplete first line can be a header torn by a crash; whole lines that are
    # no header mean this file is something else, and it is not overwritten.
    if expected is None and bad is not None and b"\n" in _first_line(handle):
        raise DataError(f"{path} is not an event log: its header is missing or damaged")


def _first_line(handle: Any) -> bytes:
    handle.seek(0)
    return handle.readline()


def read_log(path: str | os.PathLike, after: int = 0) -> tuple[str, Iterator[Batch]]:
    """The log's id and its batches that hold records numbered above ``after``.

    Read-only: safe while a server appends (a batch being written shows as a torn tail and
    is left out). Records at or below ``after`` are dropped from the first batch returned.

    Examples
    --------
    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/events.log"
    >>> with EventLog(path) as log:
    ...     log.append("events", [{"user": "u", "item": "a", "weight": 1.0}] * 3)
    (1, 3)
    >>> log_id, batches = read_log(path, after=2)
    >>> [(b.seq, len(b.records)) for b in batches]
    [(3, 1)]
    """
    path = Path(path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise DataError(f"cannot read the event log {path}: {exc.strerror or exc}") from None
    scan = _scan(handle, path)
    try:
        header = next(scan, None)
    except BaseException:
        handle.close()
        raise
    if header is None:
        handle.close()
        raise DataError(f"{path} is empty: not an event log")

    def batches() -> Iterator[Batch]:
        with handle:
            for _, payload in scan:
                batch = Batch(payload["kind"], payload["seq"], payload["records"])
                if batch.last_seq > after:
                    skip = max(0, after - batch.seq + 1)
                    yield Batch(batch.kind, batch.seq + skip, batch.records[skip:])

    return header[1]["log_id"], batches()


class EventLog:
    """The writer of an event log: created if missing, its torn tail cut off on opening.

    One process writes a log (an exclusive ``flock``, released by the system even on
    ``kill -9``); readers use :func:`read_log`.

    Parameters
    ----------
    path : str or PathLike
        The log file; its directory must exist.

    Raises
    ------
    recsys.errors.ConfigError
        Another process has the log open for writing.
    recsys.errors.DataError
        The file is not an event log, or is corrupt (see the module docstring).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                               0o644)
        except OSError as exc:
            raise ConfigError(f"cannot open the event log {self.path}: "
                              f"{exc.strerror or exc}") from None
        try:
            self._lock()
            self._open()
        except BaseException:
            os.close(self._fd)
            raise

    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"the event log {self.path} is open in another process; one "
                              "server writes a log") from None

    def _open(self) -> None:
        end, self.last_seq, log_id = 0, 0, None
        with open(os.dup(self._fd), "rb") as handle:
            for offset, payload in _scan(handle, self.path):
                end = offset  # where the last intact record ends
                if log_id is None:
                    log_id = payload["log_id"]
                else:
                    self.last_seq = payload["seq"] + len(payload["records"]) - 1
        if log_id is None:  # a new (or empty, or torn before its header was synced) log
            log_id = uuid.uuid4().hex
            os.ftruncate(self._fd, 0)
            self._end = 0
            self._write(_line({"format": LOG_FORMAT, "kind": "log", "log_id": log_id,
                               "seq": 0}))
            fsync_dir(self.path.parent)
        else:
            if os.fstat(self._fd).st_size != end:  # a torn tail: cut it before appending
                os.ftruncate(self._fd, end)
                _sync(self._fd)
            self._end = end
        self.log_id: str = log_id

    def _write(self, data: bytes) -> None:
        try:
            written = 0
            while written < len(data):
                written += os.pwrite(self._fd, data[written:], self._end + written)
            _sync(self._fd)
        except OSError:
            # Nothing of a failed append may stay in front of the next one.
            try:
                os.ftruncate(self._fd, self._end)
            except OSError:
                pass
            raise
        self._end += len(data)

    def append(self, kind: str, records: list[dict]) -> tuple[int, int]:
        """Append one batch and sync it to disk; returns its first and last sequence numbers.

        When this returns, the batch survives a crash of the process or the machine.
        """
        if kind not in KINDS or not records:
            raise ConfigError(f"a batch has a kind in {KINDS} and at least one record")
        first = self.last_seq + 1
        self._write(_line({"kind": kind, "seq": first, "records": records}))
        self.last_seq = first + len(records) - 1
        return first, self.last_seq

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()



# --------------------------------------------------------------------------- applying

# Consecutive event batches are replayed as one update of at most this many records: the
# same sums as one update per batch, without rebuilding the history once per batch.
REPLAY_CHUNK = 50_000


def events_frame(records: list[dict]) -> pd.DataFrame:
    """The frame :meth:`Recommender.update` takes, from log records."""
    columns = {"user_id": [r["user"] for r in records], "item_id": [r["item"] for r in records],
               "weight": np.array([r["weight"] for r in records], dtype=np.float64)}
    if any("timestamp" in r for r in records):
        columns["timestamp"] = np.array([r.get("timestamp", np.nan) for r in records],
                                        dtype=np.float64)
    return pd.DataFrame(columns)


def items_frame(records: list[dict]) -> pd.DataFrame:
    """The frame ``add_items`` takes (``item_id`` and feature columns), from log records."""
    return pd.DataFrame([{"item_id": r["item"], **r["features"]} for r in records])


def apply(model: Recommender, kind: str, records: list[dict]) -> Recommender:
    """A copy of ``model`` with one batch applied; ``model`` itself is left as it was (it
    may be answering requests meanwhile).

    Raises
    ------
    recsys.errors.RecsysError
        The family cannot take the batch (no ``update`` / ``add_items``), or the library
        refused a record; nothing is applied.
    """
    # update / add_items swap the copy's state, not the model's (a Hybrid's members too:
    # it updates copies of them).
    fresh = copy.copy(model)
    if kind == "events":
        fresh.update(events_frame(records))
    else:
        fresh.add_items(items_frame(records))
    return fresh


def snapshot_point(manifest: dict, log_id: str) -> int:
    """The last sequence number of ``log_id`` the saved model already holds: 0 for a model
    that records none (fitted on data outside the log), the point its retraining read up to
    otherwise.

    Raises
    ------
    recsys.errors.ModelFileError
        The manifest's ``events`` entry is malformed.
    recsys.errors.ConfigError
        The model was retrained from another log: its sequence numbers mean nothing here.
    """
    entry = manifest.get("events")
    if entry is None:
        return 0
    if not (isinstance(entry, dict) and isinstance(entry.get("log_id"), str)
            and type(entry.get("seq")) is int and entry["seq"] >= 0):
        raise ModelFileError('the manifest\'s "events" must be {"log_id": str, "seq": int >= 0}')
    if entry["log_id"] != log_id:
        raise ConfigError(f"the model was retrained from event log {entry['log_id']}, not "
                          f"from the served log {log_id}: its snapshot point means nothing "
                          "here")
    return entry["seq"]


def replay(model: Recommender, path: str | os.PathLike, after: int) -> tuple[Recommender, int]:
    """``model`` with every batch of the log numbered above ``after`` applied, in order, and
    the last sequence number applied (``after`` when there was nothing to apply)."""
    _, batches = read_log(path, after)
    pending: list[dict] = []
    last = after
    for batch in batches:
        if batch.kind != "events" or len(pending) >= REPLAY_CHUNK:
            if pending:
                model = apply(model, "events", pending)
                pending = []
        if batch.kind == "events":
            pending += batch.records
        else:
            model = apply(model, batch.kind, batch.records)
        last = batch.last_seq
    if pending:
        model = apply(model, "events", pending)
    return model, last
