"""uvicorn's httptools protocol with a header-read timeout; the only use of uvicorn's internals.

uvicorn times out idle keep-alive connections only after a first answer: a client that
connects and sends nothing, or half a request line, holds a connection forever. The subclass
in :mod:`._httptools` closes a connection whose request head is not complete within
``RECSYS_HEADER_TIMEOUT`` seconds of the connection or of the request's first byte.

:func:`protocol_class` imports it only for the uvicorn versions it was tested with
(:data:`TESTED`); anything else gets uvicorn's public ``"httptools"`` protocol (no header
timeout; the service's body timeout still holds). The subclass also sends the writes of one
loop turn as one write (:class:`._httptools.CoalescingTransport`): a single client, as
``benchmarks/serve_ab.py`` measures, shows no gain (0.85x-1.81x), but with 8 clients
``benchmarks/serve.py`` on ML-100K gave 2,215 req/s at 0.45 ms CPU per request against 1,836
and 0.54 without it.
"""

from __future__ import annotations

from typing import Any

from recsys.serving._timeouts import HEADER_TIMEOUT, HEADER_TIMEOUT_ENV

__all__ = ["HEADER_TIMEOUT", "HEADER_TIMEOUT_ENV", "TESTED", "protocol_class", "uvicorn_version"]

TESTED = ((0, 55), (0, 56))  # uvicorn versions [low, high) this subclass was tested with


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
