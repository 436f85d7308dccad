"""Sessions opened through the control API (the dashboard's console pane).

An attached console is a ``ClientSession`` in raw framing whose transport is
in-process: what the port sends goes to a callback, what the operator types
comes in through ``write``. It is therefore a session like any other: it
counts against ``max_connections`` and obeys the port's access policy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bridge.port.session import WRITER, ClientSession
from bridge.port.worker import PortWorker


class _CallbackTransport(asyncio.Transport):
    """A transport whose writes go to a function."""

    def __init__(self, on_output: Callable[[bytes], None], peer: str) -> None:
        super().__init__()
        self._on_output = on_output
        self._peer = peer
        self._closing = False
        self._protocol: ClientSession | None = None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": None, "attached": self._peer}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing:
            self._on_output(bytes(data))

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        protocol = self._protocol
        if protocol is not None:
            asyncio.get_running_loop().call_soon(protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return True

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


class AttachedConsole:
    """The handle the control API holds for an attached console."""

    def __init__(self, session: ClientSession, worker: PortWorker) -> None:
        self._session = session
        self._worker = worker
        self.id = session.id

    @property
    def access(self) -> str:
        return self._session.access

    def write(self, data: bytes) -> None:
        """Keys typed by the operator (a watcher's are refused, and it is told once)."""
        if not self._session.closed:
            self._session.data_received(data)

    async def send_break(self) -> None:
        if self._session.access == WRITER:
            await self._worker.send_break()

    async def close(self) -> None:
        if self._session.transport is not None:
            self._session.transport.close()


def attach_session(worker: PortWorker, peer: str, on_output: Callable[[bytes], None],
                   on_close: Callable[[str], None]) -> AttachedConsole:
    """Join ``worker``'s port as a console session named after ``peer``."""
    transport = _CallbackTransport(on_output, peer)
    session = ClientSession(worker, raw=True, peer=peer, on_close=lambda: on_close("session ended"))
    transport._protocol = session
    session.connection_made(transport)
    if session not in worker.sessions:
        raise ValueError(f"port {worker.name} refused the console session")
    return AttachedConsole(session, worker)
