"""The impressions log: what was shown to whom, by which model, written off the request path.

Format: JSON lines, one object per user answered by ``POST /recommend``::

    {"time": 1733337600.123, "user": "u1", "model": "b", "source": "model",
     "items": ["i9", "i4", ...]}

``time`` is Unix seconds (UTC) when the answer was made, ``model`` the answering model's name
(null for a service of one model), ``source`` ``"model"`` or ``"fallback"``, ``items`` the list
shown, best first; ids keep their JSON type. :func:`recsys.evaluation.online.read_impressions`
reads it back and :func:`recsys.compare_online` analyses an online test from it and a later
log of events.

A request only puts its lines into a bounded in-memory queue; a background thread appends
them to the file and flushes it about once a second. When the queue is full (the disk cannot
keep up), new lines are dropped and counted (``recsys_impressions_dropped_total`` in
``/metrics``) rather than slowing the answers down. Several worker processes each append
whole lines to the same file (one ``write`` per batch of lines, ``O_APPEND``).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

# Lines waiting for the writer at most; beyond, new ones are dropped (and counted).
MAX_PENDING = 100_000
FLUSH_SECONDS = 1.0


class ImpressionLog:
    """An append-only JSON-lines impressions file, written by a background thread.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "impressions.jsonl"
    >>> log = ImpressionLog(path)
    >>> log.record([{"user": "u1", "source": "model", "items": [{"item": "a"}]}], "b")
    >>> log.close()
    >>> line = json.loads(path.read_text())
    >>> line["user"], line["model"], line["items"]
    ('u1', 'b', ['a'])
    """

    def __init__(self, path: str | os.PathLike, *, max_pending: int = MAX_PENDING,
                 on_drop: Any = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._queue: queue.Queue = queue.Queue(max_pending)
        self._on_drop = on_drop
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recsys-impressions",
                                        daemon=True)
        self._thread.start()

    def record(self, answers: list[dict], model: str | None = None) -> None:
        """Queue the lines of ``answers`` (``/recommend`` answer objects); never blocks."""
        now = time.time()
        for answer in answers:
            try:
                self._queue.put_nowait((now, model, answer))
            except queue.Full:
                self.dropped += 1
                if self._on_drop is not None:
                    self._on_drop()

    def _run(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            lines = []
            try:
                lines.append(self._queue.get(timeout=FLUSH_SECONDS))
                while len(lines) < 10_000:
                    lines.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            if lines:
                os.write(self._fd, "".join(_line(*entry) for entry in lines).encode())

    def close(self) -> None:
        """Write what is queued, then close the file."""
        self._stop.set()
        self._thread.join()
        os.close(self._fd)


def _line(when: float, model: str | None, answer: dict) -> str:
    model = answer.get("model", model)
    return json.dumps({"time": round(when, 3), "user": answer["user"], "model": model,
                       "source": answer.get("source"),
                       "items": [entry["item"] for entry in answer["items"]]},
                      separators=(",", ":")) + "\n"
