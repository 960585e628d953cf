"""The served model: loaded, verified and warmed up aside, then swapped in by one reference.

A request reads ``holder.current`` once, at its start, and uses that object to the end: a
reload swaps one reference, so no answer mixes two models. Events are applied the same way:
to a copy of the served model, swapped in whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from recsys.errors import ConfigError, RecsysError
from recsys.models.base import Recommender
from recsys.serving.events import EventLog, apply, replay, snapshot_point
from recsys.serving.persistence import MANIFEST, load_with_manifest

logger = logging.getLogger("recsys")

# Ranking that takes less than this runs on the event loop: the hop to a worker thread would
# cost more. Anything slower goes to the thread pool, so that it does not hold up /health and
# the other requests.
INLINE_SECONDS = 0.001
# Timed runs of each call at warm-up (the best counts): every reload pays them.
WARM_UP_RUNS = 3


@dataclass(frozen=True)
class LoadedModel:
    """One loaded model and what the service says about it; never mutated once built.

    ``query_seconds`` holds the measured time of one query of each call (at warm-up):
    requests whose estimate stays under :data:`INLINE_SECONDS` are ranked on the event loop.
    ``events_seq`` is the last sequence number of the event log applied to ``model``.
    """

    model: Recommender
    path: Path
    manifest: dict
    version: str
    loaded_at: str
    identity: tuple | None
    query_seconds: dict[str, float] = field(default_factory=dict)
    events_seq: int = 0

    def describe(self, root: Path | None = None) -> dict:
        """What ``GET /model`` shows; the directory relative to ``root`` (no host paths)."""
        model = self.model
        return {
            "class": type(model).__name__,
            "params": self.manifest.get("params", {}),
            "version": self.version,
            "recsys_version": self.manifest.get("recsys_version"),
            "format_version": self.manifest.get("format_version"),
            "saved_at": self.manifest.get("saved_at"),
            "loaded_at": self.loaded_at,
            "path": shown_path(self.path, root),
            "n_users": model.n_users,
            "n_items": model.n_items,
            "events_seq": self.events_seq,
        }

    def inline(self, call: str, n_queries: int) -> bool:
        """Whether ``n_queries`` of ``call`` ("recommend", "similar", "basket") are cheap
        enough for the event loop."""
        return n_queries * self.query_seconds.get(call, float("inf")) < INLINE_SECONDS


def shown_path(path: Path, root: Path | None) -> str:
    """``path`` as the service may show it: relative to the models root, else its name."""
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix() or "."
    return path.name


def identity(path: Path) -> tuple | None:
    """What changes when a model directory is replaced: a save swaps the directory (new
    inode), a deploy flips a symlink (new target)."""
    try:
        directory, manifest = os.stat(path), os.stat(path / MANIFEST)
    except (OSError, ValueError):
        return None
    return (directory.st_dev, directory.st_ino, manifest.st_ino, manifest.st_mtime_ns)


def warm_up(model: Recommender) -> dict[str, float]:
    """Run each public call, so that lazily built lookups exist before the first request
    (and before many threads would build them at once); returns each call's one-query time,
    the best of a few runs (the call's own cost, not the machine's load at that instant)."""
    users, items = model.users_.ids[:1], model.items_.ids[:1]
    calls: dict[str, Callable] = {"recommend": lambda: model.recommend(users, k=10),
                                  "similar": lambda: model.similar_items(items, k=10),
                                  "basket": lambda: model.recommend_for_basket(items, k=10)}
    seconds = {}
    for name, call in calls.items():
        try:
            call()
        except (RecsysError, NotImplementedError):  # a family without this capability
            continue
        times = []
        for _ in range(WARM_UP_RUNS):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        seconds[name] = min(times)
    return seconds


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Load, verify and warm up a saved model: everything done before it can be swapped in."""
    # Absolute but not resolved: a symlinked model directory stays the symlink, so that
    # ``watch`` notices when it is flipped to another version.
    directory = Path(path).absolute()
    before = identity(directory)
    model, manifest = load_with_manifest(directory)
    seconds = warm_up(model)
    version = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    return LoadedModel(model, directory, manifest, version,
                       datetime.now(timezone.utc).isoformat(timespec="milliseconds"), before,
                       seconds)


class ModelHolder:
    """The reference to the served model, swapped whole on reload and on every batch of events.

    Readers take ``holder.current`` once per request and keep that object; a reload loads and
    warms up the new model completely, then rebinds ``current`` (a single reference
    assignment, atomic in CPython), so a request never sees half a reload. A reload without
    a path always reads the directory given at start-up (``home``), whatever was loaded by
    path meanwhile: saving over the served directory is always picked up.

    With an event ``log``, the served model is the saved one plus every batch of the log
    after the model's snapshot point (see :func:`.events.snapshot_point`): replayed on
    start-up and after each reload, and each new batch is logged and applied under one lock,
    so that the log and the served model never disagree about what was acknowledged.
    """

    def __init__(self, path: str | os.PathLike, log: EventLog | None = None) -> None:
        self.log = log
        self._reloading = threading.Lock()  # one reload at a time; reads never take it
        # Log + served model change together; every in-place change of the served model
        # (item rules) takes it too, or a batch applied to a copy would drop that change.
        self.writing = threading.Lock()
        self.current = self._caught_up(load_model(path))
        self.home, self.home_identity = self.current.path, self.current.identity

    def _caught_up(self, loaded: LoadedModel) -> LoadedModel:
        """``loaded`` with the log's batches after its snapshot point (or after what it
        already holds) applied."""
        if self.log is None:
            return loaded
        after = loaded.events_seq or snapshot_point(loaded.manifest, self.log.log_id)
        model, last = replay(loaded.model, self.log.path, after)
        return replace(loaded, model=model, events_seq=last)

    def reload(self, path: str | os.PathLike | None = None) -> LoadedModel:
        with self._reloading:
            # The slow part (load, warm-up, replay of the log so far) runs while events keep
            # arriving; the batches they add meanwhile are replayed under the write lock,
            # right before the swap, so none is lost.
            loaded = self._caught_up(load_model(self.home if path is None else path))
            with self.writing:
                loaded = self._caught_up(loaded)
                self.current = loaded
            if path is None:
                self.home_identity = loaded.identity
        return loaded

    def append(self, kind: str, records: list[dict]) -> tuple[int, int]:
        """Log a batch durably and apply it to the served model; returns its first and last
        sequence numbers.

        The batch is applied to a copy of the served model first: a batch the model refuses
        is never logged. Only then is it appended and synced, and the copy swapped in, so an
        answer after this call reflects the batch (read-your-writes) and a crash after the
        sync replays it on restart.
        """
        if self.log is None:
            raise ConfigError("this service keeps no event log: start it with --events-log")
        with self.writing:
            loaded = self.current
            model = apply(loaded.model, kind, records)
            first, last = self.log.append(kind, records)
            self.current = replace(loaded, model=model, events_seq=last)
        return first, last

    def reload_if_changed(self) -> bool:
        """Reload when the start-up directory was replaced on disk (used by ``watch``)."""
        now = identity(self.home)
        if now is None or now == self.home_identity:
            return False
        self.reload()
        return True


def watch(holder: ModelHolder, on_reload: Callable[[LoadedModel | None], None],
          interval: float, stop: threading.Event) -> None:
    """Every ``interval`` seconds, reload the start-up directory if it was replaced;
    ``on_reload`` gets the new model, or None when it could not be loaded."""
    while not stop.wait(interval):
        try:
            if holder.reload_if_changed():
                on_reload(holder.current)
                logger.info("model directory changed; now serving version %s",
                            holder.current.version)
        except RecsysError as exc:  # e.g. caught mid-save: the next tick tries again
            on_reload(None)
            logger.warning("model directory changed but cannot be loaded: %s",
                           clip(str(exc)))


def clip(text: str, limit: int = 300) -> str:
    """``text`` cut to ``limit`` characters: what an id or a message may take in an answer
    or a log line (a request may carry megabytes of id)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
