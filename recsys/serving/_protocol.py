"""uvicorn's httptools protocol with two additions; the only use of uvicorn's internals.

- **One write per answer.** uvicorn writes a response's status line and headers, then its
  body, as two writes on a TCP_NODELAY socket: two system calls and two packets per answer,
  and a client that wakes up twice. :class:`CoalescingTransport` joins the writes made
  during one turn of the event loop and sends them together at the end of it; nothing is
  delayed beyond the turn, so latency does not grow.
- **A header-read timeout.** uvicorn times out idle keep-alive connections only after a
  first answer: a client that connects and sends nothing, or half a request line, holds a
  connection forever. Here the request head must be complete within ``header_timeout``
  seconds of the connection or of the previous answer.

:func:`protocol_class` returns the subclass only for the uvicorn versions it was tested
with (:data:`TESTED`); anything else gets uvicorn's public ``"httptools"`` protocol (no
header timeout; the body timeout of the service still holds).
"""

from __future__ import annotations

import asyncio
from typing import Any

TESTED = ((0, 55), (0, 56))  # uvicorn versions [low, high) this subclass was tested with
HEADER_TIMEOUT = 10.0


def uvicorn_version() -> tuple[int, ...]:
    import uvicorn

    return tuple(int(part) for part in uvicorn.__version__.split(".")[:2] if part.isdigit())


def protocol_class(header_timeout: float = HEADER_TIMEOUT, coalesce: bool = True) -> Any:
    """uvicorn's ``http`` setting: the protocol below within :data:`TESTED` when httptools
    is installed, else ``"httptools"`` / ``"auto"`` (uvicorn's public choices)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "auto"
    if not TESTED[0] <= uvicorn_version() < TESTED[1]:
        return "httptools"
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class RecsysHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with a header-read timeout and, under
        ``coalesce``, over a :class:`CoalescingTransport`."""

        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if coalesce:
                transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
            super().connection_made(transport)
            self._arm_header_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_header_timer()

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._too_slow)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return RecsysHttpToolsProtocol


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
