"""The control endpoint in the daemon: a Unix socket or a loopback TCP port.

The server subscribes to the bridge (``ControlTarget.subscribe``) only while
some connection wants events (tails hook each port with ``add_tail``), and runs the once-a-second
``counters`` event only while some connection subscribes. The bridge calls
:meth:`ControlServer.on_bridge_event` synchronously on the event loop: it only
builds a dict and puts it in each interested connection's bounded outbox,
so a slow client never slows the bridge (see ``outbox.py`` for the policy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import stat
import time
from collections.abc import Callable

from bridge.control import convert
from bridge.control.address import TcpAddress, UnixAddress, check_endpoint
from bridge.control.connection import ControlConnection
from bridge.control.target import BridgeEvent, ControlTarget
from bridge.errors import RuntimeFailure, UserError

log = logging.getLogger(__name__)

SOCKET_MODE = 0o660
DIR_MODE = 0o750
CLOSE_TIMEOUT = 2.0
TLS_HANDSHAKE_TIMEOUT = 10.0


class ControlServer:
    """Serves the control protocol for one bridge."""

    def __init__(self, target: ControlTarget, address: str, token: str | None = None, *,
                 queue_limit: int = 1000, counters_interval: float = 1.0,
                 permits: Callable[[str, int | None], bool] | None = None,
                 tls: Callable[[], ssl.SSLContext | None] | None = None) -> None:
        """Args:
            target: the bridge.
            address: a Unix socket path or host:port (loopback unless a token is given).
            token: when set, every connection must ``hello`` with it first.
            queue_limit: events that may wait per connection before drops.
            counters_interval: seconds between ``counters`` events.
            permits: the allow list (issue 11): called with each TCP peer's
                (host, port) at accept; a refused peer is closed before any byte is sent.
            tls: for a ``tls://`` address, gives the server's TLS context at each
                accept (so a reloaded certificate serves new connections).

        Raises:
            UserError: a bad address, or a non-loopback TCP address without a token.
        """
        try:
            self.parsed = check_endpoint(address, token)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self.target = target
        self.token = token or None
        self.queue_limit = queue_limit
        self.counters_interval = counters_interval
        self.permits = permits
        self.tls = tls
        if isinstance(self.parsed, TcpAddress) and self.parsed.tls and (tls is None or tls() is None):
            raise UserError(f"control address {address}: tls:// needs [bridge] tls_cert and tls_key")
        self.connections: set[ControlConnection] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._counters_task: asyncio.Task[None] | None = None
        self._socket_ino: int | None = None

    @property
    def address(self) -> str:
        """The address actually served (a TCP port 0 resolved)."""
        if isinstance(self.parsed, TcpAddress) and self._server is not None and self._server.sockets:
            port = self._server.sockets[0].getsockname()[1]
            return str(TcpAddress(self.parsed.host, port, self.parsed.tls))
        return str(self.parsed)

    async def start(self) -> None:
        """Start listening.

        Raises:
            RuntimeFailure: the address cannot be served (in use, no permission).
        """
        try:
            if isinstance(self.parsed, UnixAddress):
                await self._start_unix(self.parsed.path)
            else:
                self._server = await asyncio.start_server(
                    self._accept, self.parsed.host, self.parsed.port, backlog=100)
        except OSError as exc:
            raise RuntimeFailure(f"control endpoint {self.parsed}: {exc.strerror or exc}") from None
        log.debug("control endpoint on %s", self.address)

    async def _start_unix(self, path: str) -> None:
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, mode=DIR_MODE, exist_ok=True)
        await _remove_stale_socket(path)
        self._server = await asyncio.start_unix_server(self._accept, path, backlog=100)
        os.chmod(path, SOCKET_MODE)
        self._socket_ino = os.stat(path).st_ino

    async def close(self) -> None:
        """Stop listening, end every connection, and remove the socket file."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            await conn.close()
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=CLOSE_TIMEOUT)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        self._stop_counters()
        self._set_subscribed(False)
        if isinstance(self.parsed, UnixAddress) and self._socket_ino is not None:
            with contextlib.suppress(OSError):
                if os.stat(self.parsed.path).st_ino == self._socket_ino:
                    os.unlink(self.parsed.path)
            self._socket_ino = None

    async def _start_tls(self, writer: asyncio.StreamWriter) -> bool:
        """The TLS handshake of a ``tls://`` endpoint (issue 11); False (closed) when it fails."""
        context = self.tls() if self.tls is not None else None
        try:
            if context is None:
                raise ssl.SSLError("no TLS certificate")
            await writer.start_tls(context, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        except (ssl.SSLError, OSError, TimeoutError, ConnectionError) as exc:
            log.info("control endpoint: TLS handshake with %s failed: %s", _peer_name(writer),
                     getattr(exc, "reason", None) or exc or type(exc).__name__)
            writer.transport.abort()
            return False
        return True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        if self.permits is not None and isinstance(peername, tuple) and not self.permits(
                str(peername[0]), int(peername[1])):
            writer.transport.abort()
            return
        if isinstance(self.parsed, TcpAddress) and self.parsed.tls and not await self._start_tls(writer):
            return
        peer = _peer_name(writer)
        conn = ControlConnection(self, reader, writer, peer)
        self.connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await conn.serve()
        finally:
            self.connections.discard(conn)
            if task is not None:
                self._tasks.discard(task)

    def forget(self, conn: ControlConnection) -> None:
        """A connection is ending: stop sending it anything."""
        conn.subscribed = False
        self.connections.discard(conn)
        self.listeners_changed()

    def listeners_changed(self) -> None:
        """Subscribe to the bridge and run counters only while someone listens."""
        subscribers = any(c.subscribed for c in self.connections)
        self._set_subscribed(subscribers)
        if subscribers and self._counters_task is None:
            self._counters_task = asyncio.create_task(self._counters_loop(), name="control-counters")
        elif not subscribers:
            self._stop_counters()

    def _set_subscribed(self, wanted: bool) -> None:
        if wanted and self._unsubscribe is None:
            self._unsubscribe = self.target.subscribe(self.on_bridge_event)
        elif not wanted and self._unsubscribe is not None:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            unsubscribe()

    def _stop_counters(self) -> None:
        if self._counters_task is not None:
            self._counters_task.cancel()
            self._counters_task = None

    async def _counters_loop(self) -> None:
        while True:
            await asyncio.sleep(self.counters_interval)
            try:
                message = convert.counters_to_json(self.target.port_statuses(), time.time())
            except Exception:  # noqa: BLE001 - counters must not kill the endpoint
                log.exception("control counters failed")
                continue
            for conn in self.connections:
                if conn.subscribed:
                    conn.outbox.put_event(message)

    def on_bridge_event(self, event: BridgeEvent) -> None:
        """The bridge's event callback: fan out without blocking, never raise."""
        try:
            if event.kind == "output":
                return  # output reaches tails through add_tail, never as a broadcast
            message = convert.event_to_json(event)
            for conn in self.connections:
                if conn.subscribed:
                    conn.outbox.put_event(message)
        except Exception:  # noqa: BLE001 - the bridge must never see our failure
            log.exception("control event %s dropped", event.kind)


async def _remove_stale_socket(path: str) -> None:
    """Remove a socket file that nobody listens on; refuse to replace a live one."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise RuntimeFailure(f"control endpoint {path}: exists and is not a socket")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout=1.0)
    except (ConnectionRefusedError, FileNotFoundError, TimeoutError):
        os.unlink(path)
        return
    writer.close()
    raise RuntimeFailure(f"control endpoint {path}: another serial-bridge is listening there")


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family == socket.AF_UNIX:
        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            pid, uid, _ = (int.from_bytes(creds[i:i + 4], "little") for i in (0, 4, 8))
            return f"unix pid {pid} uid {uid}"
        except OSError:
            pass
    return "unix"
