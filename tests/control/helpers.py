"""Helpers for control tests: a running server on a temp Unix socket, a raw line client."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from bridge.control.server import ControlServer
from tests.control.fake_target import FakeTarget

TIMEOUT = 5.0


def async_test(func: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test function in a fresh event loop, bounded in time."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        async def bounded() -> None:
            async with asyncio.timeout(30):
                await func(*args, **kwargs)
        asyncio.run(bounded())
    return wrapper


@contextlib.contextmanager
def short_tmpdir() -> Any:
    """A temp dir with a short path (Unix socket paths are limited to 107 bytes)."""
    path = tempfile.mkdtemp(prefix="sbctl-", dir="/tmp")
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.asynccontextmanager
async def running_server(target: FakeTarget | None = None, token: str | None = None,
                         address: str | None = None, **kwargs: Any
                         ) -> AsyncIterator[tuple[ControlServer, FakeTarget]]:
    """A started ControlServer over a FakeTarget, on a fresh Unix socket unless told."""
    target = target or FakeTarget()
    with short_tmpdir() as tmp:
        server = ControlServer(target, address or str(tmp / "run" / "control.sock"), token, **kwargs)
        await server.start()
        try:
            yield server, target
        finally:
            await server.close()


async def eventually(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Wait until ``condition()`` holds, checking each time the loop has run; fail after ``timeout``."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


class LineClient:
    """A raw protocol client: JSON lines in, JSON lines out, no checking."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.next_id = 1

    @classmethod
    async def open(cls, server: ControlServer) -> LineClient:
        """Connect to the server's address."""
        path = server.address
        if path.startswith("/"):
            reader, writer = await asyncio.open_unix_connection(path, limit=4 << 20)
        else:
            host, _, port = path.rpartition(":")
            reader, writer = await asyncio.open_connection(host.strip("[]"), int(port), limit=4 << 20)
        return cls(reader, writer)

    async def send_raw(self, data: bytes) -> None:
        """Send bytes as they are."""
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, op: str, **args: Any) -> int:
        """Send a version-1 request; returns its id."""
        request_id = self.next_id
        self.next_id += 1
        await self.send_raw(json.dumps({"v": 1, "id": request_id, "op": op, **args}).encode() + b"\n")
        return request_id

    async def recv(self) -> dict[str, Any]:
        """The next message."""
        async with asyncio.timeout(TIMEOUT):
            line = await self.reader.readline()
        assert line.endswith(b"\n"), f"connection ended: {line!r}"
        message: dict[str, Any] = json.loads(line)
        return message

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        """Send a request and return its reply (events before it are skipped)."""
        request_id = await self.send(op, **args)
        for _ in range(10_000):
            message = await self.recv()
            if message.get("id") == request_id and "event" not in message:
                return message
        raise AssertionError("no reply")

    async def close(self) -> None:
        """Close."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
