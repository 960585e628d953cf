"""What the protocol subclass and the server share: the coalescing transport and the
header-read timeout setting (see :mod:`._protocol`)."""

from __future__ import annotations

import asyncio
from typing import Any

HEADER_TIMEOUT = 10.0
# Read by each connection: worker processes get it from their environment, set by
# ``recsys serve`` (a protocol class must be importable by name, so it takes no arguments).
HEADER_TIMEOUT_ENV = "RECSYS_HEADER_TIMEOUT"


class CoalescingTransport:
    """A transport proxy that sends the writes of one event-loop turn as one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()  # an answer written just before closing still goes out
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
