"""uvicorn's httptools protocol with two additions; the only use of uvicorn's internals.

- **One write per answer.** uvicorn writes a response's status line and headers, then its
  body, as two writes on a TCP_NODELAY socket: two system calls and two packets per answer,
  and a client that wakes up twice. :class:`CoalescingTransport` joins the writes made
  during one turn of the event loop and sends them together at the end of it; nothing is
  delayed beyond the turn, so latency does not grow.
- **A header-read timeout.** uvicorn times out idle keep-alive connections only after a
  first answer: a client that connects and sends nothing, or half a request line, holds a
  connection forever. Here the request head must be complete within
  ``RECSYS_HEADER_TIMEOUT`` seconds of the connection or of the request's first byte.

The subclass lives in :mod:`._httptools`; :func:`protocol_class` imports it only for the
uvicorn versions it was tested with (:data:`TESTED`); anything else gets uvicorn's public
``"httptools"`` protocol (no header timeout; the service's body timeout still holds).
"""

from __future__ import annotations

from typing import Any

from recsys.serving._transport import HEADER_TIMEOUT, HEADER_TIMEOUT_ENV, CoalescingTransport

TESTED = ((0, 55), (0, 56))  # uvicorn versions [low, high) this subclass was tested with


__all__ = ["HEADER_TIMEOUT", "HEADER_TIMEOUT_ENV", "TESTED", "CoalescingTransport",
           "protocol_class", "uvicorn_version"]


def uvicorn_version() -> tuple[int, ...]:
    import uvicorn

    return tuple(int(part) for part in uvicorn.__version__.split(".")[:2] if part.isdigit())


def protocol_class() -> Any:
    """uvicorn's ``http`` setting: :class:`RecsysHttpToolsProtocol` within :data:`TESTED`
    when httptools is installed, else ``"httptools"`` / ``"auto"`` (uvicorn's public
    choices)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "auto"
    if not TESTED[0] <= uvicorn_version() < TESTED[1]:
        return "httptools"
    from recsys.serving._httptools import RecsysHttpToolsProtocol

    return RecsysHttpToolsProtocol
