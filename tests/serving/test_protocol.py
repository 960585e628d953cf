"""The uvicorn protocol subclass (header-read timeout): used only within the tested uvicorn
versions, and its public fallback answers identically."""

import asyncio

import pytest

pytest.importorskip("httptools")

from recsys.serving._httptools import CoalescingTransport  # noqa: E402

# ----------------------------------------------------------------------------- the guard


def test_the_subclass_is_used_only_within_the_tested_uvicorn_versions(monkeypatch):
    from recsys.serving import _protocol

    monkeypatch.setattr(_protocol, "uvicorn_version", lambda: _protocol.TESTED[0])
    assert _protocol.protocol_class().__name__ == "RecsysHttpToolsProtocol"
    for version in ((0, 20), _protocol.TESTED[1], (1, 0)):
        monkeypatch.setattr(_protocol, "uvicorn_version", lambda version=version: version)
        assert _protocol.protocol_class() == "httptools"


def _serve_in_thread(app, http):
    import socket
    import threading

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=http, log_level="error", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    return server, thread, sock.getsockname()


def test_the_public_fallback_gives_identical_answers(tmp_path, monkeypatch):
    import socket
    import time

    import httpx

    import recsys as rs
    from recsys.serving._protocol import HEADER_TIMEOUT_ENV, protocol_class
    from recsys.serving.app import create_app

    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    monkeypatch.setenv(HEADER_TIMEOUT_ENV, "0.5")
    model = rs.ItemKNN().fit(rs.datasets.demo().interactions)
    app = create_app(rs.save(model, tmp_path / "knn"))
    requests = [("POST", "/recommend", {"users": model.users_.ids[:20].tolist(), "k": 7}),
                ("POST", "/recommend", {"user": "nobody"}), ("GET", "/model", None),
                ("POST", "/similar-items", {"item": model.items_.ids[3], "k": 4})]
    answers, silent_closed = {}, {}
    for http in (protocol_class(), "httptools"):
        server, thread, address = _serve_in_thread(app, http)
        try:
            while not server.started:
                time.sleep(0.01)
            with httpx.Client(base_url=f"http://{address[0]}:{address[1]}") as client:
                answers[str(http)] = [
                    (r.status_code, r.content, r.headers["content-type"])
                    for r in (client.request(m, p, json=b) for m, p, b in requests)]
            with socket.create_connection(address, timeout=3) as silent:
                try:
                    silent_closed[str(http)] = silent.recv(1) == b""
                except TimeoutError:
                    silent_closed[str(http)] = False
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    subclass, public = answers.values()
    assert subclass == public and subclass[0][0] == 200 and subclass[1][0] == 404
    # The one difference: only the subclass cuts off a connection that sends nothing.
    assert list(silent_closed.values()) == [True, False]


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.extra = {"peername": ("127.0.0.1", 5)}

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default=None):
        return self.extra.get(name, default)


def test_writes_of_one_turn_go_out_as_one_write_in_order():
    async def scenario() -> RecordingTransport:
        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(memoryview(b'{"items": []}'))
        assert inner.writes == []  # held until the end of this turn
        await asyncio.sleep(0)
        transport.write(b"next")
        await asyncio.sleep(0)
        return inner

    inner = asyncio.run(scenario())
    assert inner.writes == [b'HTTP/1.1 200 OK\r\n\r\n{"items": []}', b"next"]


def test_close_flushes_pending_writes_and_attributes_are_delegated():
    async def scenario() -> RecordingTransport:
        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        assert transport.get_extra_info("peername") == ("127.0.0.1", 5)
        transport.write(b"last answer")
        transport.close()
        await asyncio.sleep(0)  # the scheduled flush finds nothing left to send
        return inner

    inner = asyncio.run(scenario())
    assert inner.writes == [b"last answer"] and inner.closed
