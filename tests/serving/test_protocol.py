"""The coalescing transport under uvicorn's protocol: one write per loop turn, nothing lost."""

import asyncio

import pytest

pytest.importorskip("httptools")

from recsys.serving._protocol import CoalescingTransport  # noqa: E402


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
