"""Who may connect and who may write: limits, access policy, idle timeout.

Policy (docs/sessions.md): ``access = "shared"`` makes every client a writer;
``"first"`` makes the first client the writer and later ones watchers until
it leaves, when the oldest watcher is promoted and told; ``"exclusive"``
admits one client at a time, and with ``takeover = true`` a newcomer pushes
the holder off (both are told). Clients of ``listen_readonly`` always watch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from bridge.access.allow import RefusalLog
from bridge.port.session import WATCHER, WRITER, ClientSession

if TYPE_CHECKING:
    from bridge.port.roles import AdmissionPort

log = logging.getLogger("bridge.port")

CONNECT_BURST = 5
"""An address's bucket holds this many minutes' worth of ``connect_rate``."""


class ConnectBuckets:
    """Token buckets per source address: ``rate`` tokens a minute flow into each,
    which holds at most ``CONNECT_BURST`` minutes' worth; a connection takes one."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}   # host -> (tokens, time of refill)

    def take(self, host: str, now: float) -> bool:
        """Whether ``host`` may connect at ``now`` (monotonic seconds); a refusal takes nothing."""
        capacity = float(self.rate * CONNECT_BURST)
        tokens, last = self._buckets.get(host, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * self.rate / 60.0)
        if len(self._buckets) > 4096:  # bound the table: forget full buckets
            self._buckets = {h: (t, at) for h, (t, at) in self._buckets.items()
                             if t + (now - at) * self.rate / 60.0 < capacity}
        if tokens < 1.0:
            self._buckets[host] = (tokens, now)
            return False
        self._buckets[host] = (tokens - 1.0, now)
        return True


class Admission:
    """The access rules of one port."""

    def __init__(self, worker: AdmissionPort) -> None:
        self.worker = worker
        self._buckets = ConnectBuckets(worker.config.connect_rate)
        self._refusals = RefusalLog()   # a refused source is logged once a minute, not per attempt

    def rate_ok(self, session: ClientSession) -> bool:
        """A token bucket per source address (docs/sessions.md, "Limits").

        ``connect_rate`` tokens a minute flow into each address's bucket, which
        holds at most ``CONNECT_BURST`` times as many: automation that connects
        once per test (hundreds of quick connects in a minute) is admitted,
        while a source that keeps connecting faster than the rate for minutes
        is refused until its bucket refills. A refused attempt takes no token.
        """
        limit = self.worker.config.connect_rate
        if limit <= 0 or session.transport is None:
            return True
        peer = session.transport.get_extra_info("peername")
        if not isinstance(peer, tuple):
            return True
        host = peer[0]
        if self._buckets.take(host, time.monotonic()):
            return True
        if self._refusals.should_log(host):
            log.warning("port %s: refused %s: more than %d connections a minute (further refusals "
                        "of %s are logged once a minute)", self.worker.name, session.peer, limit, host)
        session.close(f"too many connections from {host}; try again in a minute")
        return False

    def room_ok(self, session: ClientSession) -> bool:
        """``max_connections``: a client past it is told the port is full and closed;
        the log says so once a minute per source address."""
        limit = self.worker.config.max_connections
        if len(self.worker.sessions) < limit:
            return True
        host = _source(session)
        if self._refusals.should_log(host):
            log.info("port %s: refused %s: %d clients already (further refusals of %s are logged "
                     "once a minute)", self.worker.name, session.peer, len(self.worker.sessions), host)
        session.close(f"port {self.worker.name} is full ({limit} clients)")
        return False

    def arm_idle(self, session: ClientSession, delay: float) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(delay, self._check_idle, session)

    def _check_idle(self, session: ClientSession) -> None:
        if session.closed or session not in self.worker.sessions:
            return
        timeout = self.worker.config.idle_timeout
        idle = time.monotonic() - session.last_input
        if idle >= timeout:
            log.info("port %s: session %d (%s) idle for %.0f s, disconnecting",
                     self.worker.name, session.id, session.peer, idle)
            session.close(f"idle for {timeout:.0f} s; disconnected")
        else:
            self.arm_idle(session, timeout - idle)

    def grant_access(self, session: ClientSession) -> bool:
        cfg = self.worker.config
        writers = [s for s in self.worker.sessions if s.access == WRITER]
        if session.readonly:
            session.revoke_write()
        elif cfg.access == "shared":
            session.grant_write()
        elif cfg.access == "first":
            if writers:
                session.revoke_write()
            else:
                session.grant_write()
        else:  # exclusive
            others = [s for s in self.worker.sessions if not s.readonly]
            if others and not cfg.takeover:
                holder = others[0]
                session.close(f"port {self.worker.name} is in use by {holder.peer}")
                return False
            for other in others:
                other.close(f"taken over by {session.peer}")
            session.grant_write()
        return True

    def promote_watcher(self) -> None:
        for other in self.worker.sessions:
            if other.access == WATCHER and not other.readonly:
                other.grant_write(tell=True)
                log.info("port %s: session %d (%s) is now the writer", self.worker.name, other.id, other.peer)
                return


def _source(session: ClientSession) -> str:
    """The client's address without its port (its peer name when it has no socket address)."""
    peer = session.transport.get_extra_info("peername") if session.transport is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else session.peer
