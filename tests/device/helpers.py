"""A recording DeviceListener and bounded waits for device tests."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

WAIT = 5.0     # seconds any single wait may take before the test fails


class Listener:
    """Records every DeviceListener call in order and wakes waiters on each."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.data = bytearray()
        self.lost: list[BaseException | None] = []
        self._changed = asyncio.Event()

    def _note(self, name: str, value: object) -> None:
        self.events.append((name, value))
        self._changed.set()

    def device_data(self, data: bytes) -> None:
        self.data += data
        self._note("data", bytes(data))

    def device_break(self) -> None:
        self._note("break", None)

    def device_line_error(self, kind: str) -> None:
        self._note("line_error", kind)

    def device_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)
        self._note("lost", exc)

    def device_write_drained(self) -> None:
        self._note("drained", None)

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        """Wait (bounded) until ``condition()`` holds after some callback."""
        async with asyncio.timeout(WAIT):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


async def read_master(master: int, count: int) -> bytes:
    """Read exactly ``count`` bytes from a pty master, waiting on readability (bounded)."""
    loop = asyncio.get_running_loop()
    got = bytearray()
    ready = asyncio.Event()
    loop.add_reader(master, ready.set)
    try:
        async with asyncio.timeout(WAIT):
            while len(got) < count:
                await ready.wait()
                ready.clear()
                try:
                    got += os.read(master, 65536)
                except BlockingIOError:
                    pass
    finally:
        loop.remove_reader(master)
    return bytes(got)
