"""Helpers for the demo board's tests: a fake clock run of the console, and a pty terminal."""

from __future__ import annotations

import asyncio
import os

from bridge.demo.console import BoardConsole

WALL = 1_700_000_000.0  # Tue Nov 14 22:13:20 UTC 2023
LOGIN_PROMPT = b"demo-board login: "
SHELL_PROMPT = b"root@demo-board:~# "
UBOOT_PROMPT = b"=> "
STEP_LIMIT = 100  # more timed steps than any boot has


def make_console(time_scale: float = 1.0) -> BoardConsole:
    """A console with a frozen wall clock."""
    return BoardConsole("demo-board", time_scale, lambda: WALL)


def run_timeline(console: BoardConsole, now: float) -> tuple[bytes, float]:
    """Tick the console at each of its deadlines until none is left.

    Returns:
        Everything printed, and the time of the last deadline (or now).
    """
    out = bytearray()
    for _ in range(STEP_LIMIT):
        deadline = console.next_deadline()
        if deadline is None:
            return bytes(out), now
        now = deadline
        out += console.tick(now)
    raise AssertionError("the console's timeline did not end")


def timeline(console: BoardConsole) -> list[tuple[float, bytes]]:
    """Each deadline of the console, and what it printed then, until none is left."""
    steps: list[tuple[float, bytes]] = []
    for _ in range(STEP_LIMIT):
        deadline = console.next_deadline()
        if deadline is None:
            return steps
        steps.append((deadline, console.tick(deadline)))
    raise AssertionError("the console's timeline did not end")


def booted(time_scale: float = 1.0) -> tuple[BoardConsole, float]:
    """A console powered on at 0 and run to its login prompt; the time it got there."""
    console = make_console(time_scale)
    console.power_on(0.0)
    _, now = run_timeline(console, 0.0)
    return console, now


def logged_in(time_scale: float = 1.0) -> tuple[BoardConsole, float]:
    """A console at the root shell prompt; the time it got there."""
    console, now = booted(time_scale)
    console.receive_data(b"root\r\n", now)
    console.receive_data(b"bridge\r\n", now)
    return console, now


def at_countdown(time_scale: float = 1.0) -> tuple[BoardConsole, float]:
    """A console that has just printed "Hit any key to stop autoboot: 3"."""
    console = make_console(time_scale)
    console.power_on(0.0)
    for _ in range(STEP_LIMIT):
        deadline = console.next_deadline()
        assert deadline is not None
        if console.tick(deadline).endswith(b"autoboot: 3"):
            return console, deadline
    raise AssertionError("no countdown")


class Terminal:
    """The test's end of the serial line: the pty slave, opened as a bridge opens it.

    Reads with ``loop.add_reader`` into a buffer; ``read_until`` waits on an
    event with a timeout, never with sleep().
    """

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._arrived = asyncio.Event()
        self.closed = False
        self._loop.add_reader(self.fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            self._loop.remove_reader(self.fd)
        self._buffer += data
        self._arrived.set()

    async def read_until(self, marker: bytes, timeout: float = 3.0) -> bytes:
        """Everything up to and including the first marker; it is consumed."""
        try:
            async with asyncio.timeout(timeout):
                while (index := self._buffer.find(marker)) < 0:
                    assert not self.closed, f"the pty closed before {marker!r}: {bytes(self._buffer)!r}"
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise AssertionError(f"no {marker!r} within {timeout} s; read: {bytes(self._buffer)!r}") from None
        end = index + len(marker)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data

    async def read_count(self, count: int, timeout: float = 5.0) -> bytes:
        """Exactly count bytes; they are consumed."""
        async with asyncio.timeout(timeout):
            while len(self._buffer) < count:
                assert not self.closed, "the pty closed"
                self._arrived.clear()
                await self._arrived.wait()
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def pause(self) -> None:
        """Stop reading the device, so what the board prints piles up in the pty."""
        self._loop.remove_reader(self.fd)

    def resume(self) -> None:
        """Read the device again."""
        self._loop.add_reader(self.fd, self._on_readable)

    def pending(self) -> bytes:
        """What was read and not consumed yet."""
        return bytes(self._buffer)

    async def write(self, data: bytes, timeout: float = 5.0) -> None:
        """Write all of data, waiting for room with ``loop.add_writer`` when the pty is full."""
        view = memoryview(data)
        async with asyncio.timeout(timeout):
            while view:
                try:
                    view = view[os.write(self.fd, view):]
                except BlockingIOError:
                    room: asyncio.Future[None] = self._loop.create_future()
                    self._loop.add_writer(self.fd, _resolve, room)
                    try:
                        await room
                    finally:
                        self._loop.remove_writer(self.fd)

    def close(self) -> None:
        """Stop reading and close the descriptor."""
        if not self.closed:
            self._loop.remove_reader(self.fd)
        self.closed = True
        os.close(self.fd)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
