"""The first protocol of every accepted port connection (issue 11).

``PortGate`` is what a port's listeners create for each connection (through
the worker's ``guard``). In ``connection_made`` it checks the source against
the port's allow list and closes a refused connection before any byte is
sent; for a port with ``tls = true`` it runs the TLS handshake (bounded by
``HANDSHAKE_TIMEOUT``), taking the client certificate's name as the user;
then it hands the connection to the port with ``PortWorker.accept``, and
never sees it again. Bytes that arrive between the handshake and the hand-over
are passed on in order.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING, cast

from bridge.access.allow import AllowList, RefusalLog, peer_host
from bridge.access.tls import peer_user

if TYPE_CHECKING:
    from bridge.access.tls import TlsContext
    from bridge.port.worker import PortWorker

log = logging.getLogger("bridge.access")

HANDSHAKE_TIMEOUT = 10.0     # seconds for a TLS client to finish its handshake
EARLY_LIMIT = 256 * 1024     # bytes held between handshake and hand-over at most


class PortGate(asyncio.Protocol):
    """Allow list and TLS in front of one connection of ``worker``."""

    def __init__(self, worker: PortWorker, readonly: bool, allow: AllowList,
                 tls: TlsContext | None, refusals: RefusalLog, handshakes: set[asyncio.Task[None]]) -> None:
        self.worker = worker
        self.readonly = readonly
        self.allow = allow
        self.tls = tls
        self.refusals = refusals
        self.handshakes = handshakes
        self._early: list[bytes] = []
        self._early_size = 0
        self._eof = False
        self._lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Refuse, hand over, or start TLS."""
        # Not an isinstance check: uvloop's transports are no asyncio.Transport subclass (issue 10).
        transport = cast(asyncio.Transport, transport)
        host, port = peer_host(transport.get_extra_info("peername"))
        if not self.allow.permits(host):
            self.refusals.refused(f"port {self.worker.name}", host, port)
            transport.abort()
            return
        if self.tls is None:
            self.worker.accept(transport, can_write=not self.readonly)
            return
        task = asyncio.get_running_loop().create_task(self._handshake(transport, host, port))
        self.handshakes.add(task)
        task.add_done_callback(self.handshakes.discard)

    async def _handshake(self, transport: asyncio.Transport, host: str, port: int | None) -> None:
        assert self.tls is not None
        loop = asyncio.get_running_loop()
        try:
            secure = await loop.start_tls(transport, self, self.tls.context, server_side=True,
                                          ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
        except (ssl.SSLError, OSError, TimeoutError, ConnectionError, asyncio.CancelledError) as exc:
            if self.refusals.should_log(f"tls {self.worker.name} {host}"):   # once a minute per port and source
                log.warning("port %s: TLS handshake with %s:%s failed: %s", self.worker.name, host, port,
                            _why(exc))
            transport.abort()
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        if secure is None or self._lost or secure.is_closing():
            transport.abort()
            return
        user = peer_user(secure.get_extra_info("peercert"))
        session = self.worker.accept(secure, user=user, can_write=not self.readonly)
        if user is not None:
            log.info("port %s: session %d (%s:%s) is TLS client %s", self.worker.name, session.id, host, port, user)
        for chunk in self._early:
            if session.closed:
                break
            session.data_received(chunk)
        self._early.clear()
        if self._eof and not session.closed:
            session.eof_received()

    def data_received(self, data: bytes) -> None:
        """Bytes after the handshake, before the hand-over: kept, in order (bounded)."""
        self._early_size += len(data)
        if self._early_size <= EARLY_LIMIT:
            self._early.append(data)

    def eof_received(self) -> bool | None:
        self._eof = True
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True


# SSL reasons that mean the client did not speak TLS at all.
_NOT_TLS = ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL", "UNSUPPORTED_PROTOCOL")


def _why(exc: BaseException) -> str:
    """The reason a TLS handshake failed, in words a person reading the log can act on."""
    if isinstance(exc, ssl.SSLError):
        reason = str(exc.reason or exc)
        if reason in _NOT_TLS:
            return f"not TLS (a plain Telnet or TCP client?): {reason.lower().replace('_', ' ')}"
        return reason.lower().replace("_", " ")
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    if isinstance(exc, TimeoutError) or "handshake is taking longer" in str(exc):
        return f"no TLS ClientHello within {HANDSHAKE_TIMEOUT:g} s (a client without TLS?)"
    return str(exc) or type(exc).__name__
