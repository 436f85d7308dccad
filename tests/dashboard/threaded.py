"""A fake bridge's control server on its own event loop, in its own thread.

pytest-textual-snapshot's ``snap_compare`` runs the app with ``App.run()``,
which owns its event loop from start to end, so the control server the app
talks to cannot share that loop: it runs beside it, as a daemon would in
another process, and the app reaches it over its real Unix socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from tests.control.fake_target import FakeTarget
from tests.control.helpers import running_server

TIMEOUT = 5.0


class ThreadedBridge:
    """A control server over a FakeTarget, served by a thread of its own."""

    def __init__(self) -> None:
        self.address = ""
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._target: FakeTarget | None = None
        self._done: asyncio.Event | None = None

    def output(self, port: str, data: bytes) -> None:
        """Device output on ``port``, handed to the fake on the server's loop (thread-safe)."""
        assert self._loop is not None and self._target is not None
        self._loop.call_soon_threadsafe(self._target.output, port, data)

    def stop(self) -> None:
        """Ask the server to close (thread-safe; a no-op once its loop has ended)."""
        if self._loop is not None and self._done is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._loop.call_soon_threadsafe(self._done.set)

    async def serve(self) -> None:
        """Serve until :meth:`stop`, then close the server."""
        async with running_server(counters_interval=3600) as (server, target):
            self._done = asyncio.Event()
            self._loop, self._target, self.address = asyncio.get_running_loop(), target, server.address
            self.ready.set()
            await self._done.wait()

    def run(self) -> None:
        """The thread's body: the server's own event loop; a failure is kept for the test."""
        try:
            asyncio.run(self.serve())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread, not lost here
            self.error = exc
            self.ready.set()


@contextlib.contextmanager
def threaded_bridge() -> Iterator[ThreadedBridge]:
    """A fake bridge serving its control API from another thread, closed on exit."""
    bridge = ThreadedBridge()
    thread = threading.Thread(target=bridge.run, name="fake-bridge", daemon=True)
    thread.start()
    try:
        assert bridge.ready.wait(TIMEOUT), "the fake bridge did not start"
        if bridge.error is not None:
            raise bridge.error
        yield bridge
    finally:
        bridge.stop()
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the fake bridge did not stop"
