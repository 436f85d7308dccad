"""One worker per port: its device, its listeners, its sessions.

Theory of operation
-------------------
A worker is a small state machine (``bridge.port.status``)::

    starting ──► up ◄──► waiting-for-device
        │         │            │
        └─────────┴──► disabled ┴──► stopped

``run()`` owns the device's life: open it, serve until it is lost, wait for
it to come back (``wait_for_device`` costs nothing while waiting), open it
again. Listeners and sessions live independently of the device: clients stay
connected while the device is away and are told when it goes and returns.

Data paths:

* device → clients: every read (``device_data``) goes to the history ring,
  the session log and each session's ``deliver``; one bytes object is shared
  by all sessions, each encodes for its own wire.
* clients → device: ``client_data`` checks write access, maps the end of line
  and writes. When the device's write buffer passes its high-water mark the
  worker stops reading every client socket until ``device_write_drained``.
* a writer whose socket is full pauses device reading (lossless writers);
  the worker resumes it when no writer is blocked.
* the direct path (``_update_direct_path``, bridge.port.direct): while one
  client needs nothing else of the port, one closure reads its socket and
  writes the device, another reads the device and sends to the socket,
  skipping the routing above; any read they do not fully handle takes the
  full path.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from bridge.device.backend import Device, DeviceError, DeviceMissing, OpenOptions
from bridge.device.settings import LineSettings
from bridge.port.history import History
from bridge.port.inband import BREAK
from bridge.port.admission import Admission
from bridge.port.counters import PortCounters
from bridge.port.direct import DirectPath, open_direct_path
from bridge.port.linecontrol import LINE_ERROR_BITS, LS_BREAK, LineControl, ModemPoller
from bridge.port.session import WRITER, ClientSession
from bridge.port.telnetside import TelnetSide
from bridge.port.status import (
    DISABLED,
    STARTING,
    STOPPED,
    UP,
    WAITING,
    PortEvent,
    PortStateChanged,
    PortStatus,
    SessionClosed,
    SessionOpened,
    SettingsChanged,
)
from bridge.telnet import Cmd, Event

if TYPE_CHECKING:
    from bridge.config.model import PortConfig

log = logging.getLogger("bridge.port")

DeviceOpener = Callable[[str, LineSettings, OpenOptions], Awaitable[Device]]
DeviceWaiter = Callable[[str], Awaitable[None]]
# The protocol an accepted connection starts with (issue 11): given the worker
# and whether the listener is read-only, the access layer's gate (allow list,
# TLS), which hands the connection on with PortWorker.accept.
Guard = Callable[["PortWorker", bool], asyncio.BaseProtocol]

OPEN_HOLD_BYTES = 64 * 1024   # client input held while the device opens
RETRY_MIN = 0.5
RETRY_MAX = 30.0


class SessionLog(Protocol):
    """Where a port's traffic is logged (bridge.port.sessionlog)."""

    def device_output(self, data: bytes) -> None: ...
    def client_input(self, data: bytes, peer: str = "") -> None: ...
    def close(self) -> None: ...


def _default_opener() -> tuple[DeviceOpener, DeviceWaiter]:
    from bridge.device.backend import open_device, wait_for_device
    return open_device, wait_for_device


class PortWorker:
    """Bridges one serial device to its TCP listeners."""

    def __init__(self, config: PortConfig, emit: Callable[[PortEvent], None] | None = None,
                 opener: DeviceOpener | None = None, waiter: DeviceWaiter | None = None,
                 guard: Guard | None = None) -> None:
        self.config = config
        self._guard = guard
        self.name = config.name
        self._emit_cb = emit
        default_opener, default_waiter = _default_opener()
        self._opener = opener or default_opener
        self._waiter = waiter or default_waiter
        self.state = STARTING
        self.error: str | None = None
        self.since = time.time()
        self.enabled = config.enabled
        self.settings: LineSettings = config.settings
        # What the port returns to when the last client that asked for settings leaves:
        # the configured settings, or those the operator set last (ctl set, the dashboard).
        self._restore_to: LineSettings = config.settings
        self.device: Device | None = None
        self.sessions: list[ClientSession] = []
        self.history = History(config.history)
        self._rx_bytes = 0   # rx_bytes, tx_bytes, last_activity: with the direct path's counts while it lasts
        self._tx_bytes = 0
        self.counters = PortCounters()   # issue 14: metrics
        self._last_activity: float | None = None
        self.dtr = config.dtr_on_open != "off"
        self.rts = config.rts_on_open != "off"
        self.break_on = False
        self._settings_askers: set[int] = set()   # sessions that asked for the settings in force
        self._told_no_device = False
        self.on_demand = False   # closed only because no client needs it (hold_open = false)
        self._held_input: list[bytes] = []   # client input while the device opens (bounded)
        self._held_size = 0
        self._dtr_set = False   # a client set DTR/RTS: re-apply them when the device returns
        self._rts_set = False
        self.line = LineControl(self)
        self.session_log: SessionLog | None = None
        self.first_open: asyncio.Future[str | None] | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._bound = 0        # the TCP port really bound (differs from the config for listen = 0)
        self._bound_ro = 0
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._wake = asyncio.Event()
        self._not_reading: set[int] = set()   # sessions that take no output now
        self._clients_paused = False
        self.modem = ModemPoller(self)
        self._tails: list[Callable[[bytes], None]] = []
        self.admission = Admission(self)
        self.telnet = TelnetSide(self)
        self._stopping = False
        # The direct path (_update_direct_path): the client it serves and the device.
        self._direct_session: ClientSession | None = None
        self._direct_device: Device | None = None
        self._path: DirectPath | None = None

    # ============================================================ lifecycle
    async def start(self) -> None:
        """Bind the listeners and start the device loop. Raises OSError if a port cannot bind."""
        loop = asyncio.get_running_loop()
        self.first_open = loop.create_future()
        cfg = self.config
        main = await loop.create_server(
            lambda: self._protocol(False), cfg.listen_host, cfg.listen_port,
            backlog=128, reuse_address=True)
        self._servers.append(main)
        _urgent_inline(main)
        self._bound = _bound_port(main, cfg.listen_port)
        if cfg.listen_readonly is not None:
            try:
                ro = await loop.create_server(
                    lambda: self._protocol(True), cfg.listen_readonly_host,
                    cfg.listen_readonly_port or 0, backlog=128, reuse_address=True)
            except OSError:
                main.close()
                self._servers.remove(main)
                raise
            self._servers.append(ro)
            _urgent_inline(ro)
            self._bound_ro = _bound_port(ro, cfg.listen_readonly_port or 0)
        # The session log (a thread) only once listening: a start that fails leaves nothing behind.
        if cfg.log_dir and cfg.log != "off" and self.session_log is None:
            from bridge.port.sessionlog import SessionLogWriter
            self.session_log = SessionLogWriter(cfg.log_dir, cfg.name, mode=cfg.log,
                                                timestamps=cfg.log_timestamps,
                                                max_bytes=cfg.log_max_bytes, keep=cfg.log_keep)
        log.info("port %s: listening on %s (%s%s)%s", self.name, self.listen_address, cfg.mode,
                 ", TLS" if cfg.tls else "",
                 f", read-only on {self.readonly_address}" if cfg.listen_readonly is not None else "")
        self._task = loop.create_task(self._run(), name=f"port-{self.name}")

    def _protocol(self, readonly: bool) -> asyncio.BaseProtocol:
        if self._guard is not None:
            return self._guard(self, readonly)
        return ClientSession(self, readonly=readonly)

    def accept(self, transport: asyncio.Transport, *, kind: str | None = None,
               user: str | None = None, can_write: bool = True) -> ClientSession:
        """Make a session of this port on a connection accepted elsewhere (issue 11).

        ``transport`` is a connected asyncio transport, or anything with its
        methods (an SSH channel's adapter); it gets the session as protocol.
        ``kind`` is the framing and the name in status: None for the port's
        mode ("telnet" or "raw"), "ssh" for raw framing shown as ssh.
        ``user`` is who the access layer vouches for (SSH login, TLS client
        certificate). ``can_write=False`` makes a watcher, as the read-only
        listener does. Admission applies as to any client: the session may be
        closed at once (port full, in use, port stopping): then
        ``transport.is_closing()`` is true.
        """
        session = ClientSession(self, readonly=not can_write, kind=kind, user=user)
        transport.set_protocol(session)
        if self._stopping:   # a TLS handshake that ended after stop(): never joins
            transport.close()
            return session
        session.connection_made(transport)
        return session

    @property
    def listen_address(self) -> str:
        """host:port of the listener (the port the system chose, for ``listen = 0``)."""
        return _address(self.config.listen_host, self._bound or self.config.listen_port)

    @property
    def readonly_address(self) -> str | None:
        if self.config.listen_readonly is None:
            return None
        host = self.config.listen_readonly_host or self.config.listen_host
        return _address(host, self._bound_ro or self.config.listen_readonly_port or 0)

    async def stop(self, reason: str = "the bridge is shutting down") -> None:
        """Close listeners and sessions (telling clients why) and release the device."""
        self._stopping = True
        self._wake.set()
        self._lost.set()
        for server in self._servers:
            server.close()
        for session in list(self.sessions):
            session.close(reason)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self._close_device()
        if self.session_log is not None:
            self.session_log.close()
        self._set_state(STOPPED)

    async def _run(self) -> None:
        """The device's life, until stop(). An unexpected error is logged and
        retried like a failed open: it never ends the port (or touches another)."""
        delay = RETRY_MIN
        while not self._stopping:
            try:
                delay = await self._cycle(delay)
            except Exception as exc:  # a bug or an unforeseen device error: keep the port alive
                log.exception("port %s: unexpected error", self.name)
                self._report_open_failure(f"internal error: {exc}")
                await self._close_device()
                await self._wait_for(self._wake.wait(), delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _cycle(self, delay: float) -> float:
        """One turn of the state machine; returns the next retry delay."""
        if not self.enabled:
            self._set_state(DISABLED)
            await self._wait_wake()
            return delay
        if not self.config.hold_open and not self.sessions:
            self.on_demand = True
            # Ready to serve: the device opens when a client connects. Not "waiting for the
            # device", which the dashboard and monitoring show as a fault (UAT).
            self._set_state(UP)
            await self._wait_wake()
            return delay
        if await self._open():
            opened = time.monotonic()
            traffic = self.rx_bytes + self.tx_bytes
            await self._lost.wait()
            await self._close_device()
            if self._stopping or not self.enabled or self.state != WAITING:
                return delay
            # Lost: a device that worked (stayed up a while, or carried
            # data) is retried at once (unplugged, it will be missing and
            # waited for); one that keeps failing right after opening backs off.
            worked = time.monotonic() - opened > 10 or self.rx_bytes + self.tx_bytes > traffic
            delay = RETRY_MIN if worked else min(delay * 2, RETRY_MAX)
            await self._wait_for(self._wake.wait(), delay if delay > RETRY_MIN else 0)
            return delay
        if isinstance(self._last_open_error, DeviceMissing):
            await self._wait_for(self._waiter(self.config.device), RETRY_MAX)
            return delay
        await self._wait_for(self._wake.wait(), delay)
        return min(delay * 2, RETRY_MAX)

    async def _wait_wake(self) -> None:
        await self._wake.wait()
        self._wake.clear()

    async def _wait_for(self, aw: Awaitable[Any], timeout: float) -> None:
        """Wait for ``aw``, a wake-up (enable, disable, stop, a client) or the timeout."""
        waiter = asyncio.ensure_future(aw)
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((waiter, woken), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, woken):
                task.cancel()
            await asyncio.gather(waiter, woken, return_exceptions=True)
        self._wake.clear()

    _last_open_error: DeviceError | None = None

    async def _open(self) -> bool:
        cfg = self.config
        options = OpenOptions(exclusive=cfg.exclusive, lock_files=cfg.lock_files, lock_dir=cfg.lock_dir,
                              dtr_on_open=cfg.dtr_on_open, rts_on_open=cfg.rts_on_open, hupcl=cfg.hupcl)
        try:
            device = await self._opener(cfg.device, self.settings, options)
        except DeviceError as exc:
            self._last_open_error = exc
            self._report_open_failure(str(exc))
            return False
        except (OSError, ValueError) as exc:
            self._last_open_error = DeviceError(str(exc))
            self._report_open_failure(f"cannot open {cfg.device}: {exc}")
            return False
        self._last_open_error = None
        self.device = device
        self.counters.device_opens += 1
        self._lost.clear()
        self.settings = device.settings
        device.start(self)
        self._update_device_reading()
        await self._reapply_lines(device)
        was_waiting = self.state == WAITING and not self.on_demand
        self.on_demand = False
        self._set_state(UP)
        log.info("port %s: device %s open (%s)", self.name, device.path, self.settings.short())
        self._release_held_input()
        self._update_direct_path()
        if was_waiting:
            self._tell_all("device is back")
        if self.first_open is not None and not self.first_open.done():
            self.first_open.set_result(None)
        self.update_modem_polling()
        return True

    async def _reapply_lines(self, device: Device) -> None:
        """After a replug, DTR/RTS as a client last set them (not as the profile opens them)."""
        try:
            if self._dtr_set:
                await device.set_dtr(self.dtr)
            if self._rts_set:
                await device.set_rts(self.rts)
        except DeviceError as exc:
            log.debug("port %s: re-applying DTR/RTS: %s", self.name, exc)

    def _report_open_failure(self, message: str) -> None:
        self.on_demand = False
        if self.state != WAITING or self.error != message:
            log.warning("port %s: waiting for device: %s", self.name, message)
        self._set_state(WAITING, message)
        self._release_held_input()
        if self.first_open is not None and not self.first_open.done():
            self.first_open.set_result(message)

    async def _close_device(self) -> None:
        self._leave_direct_path()
        device, self.device = self.device, None
        self.modem.stop()
        if device is not None:
            try:
                await device.close(self.config.dtr_on_close, self.config.rts_on_close)
            except (DeviceError, OSError) as exc:
                log.debug("port %s: close: %s", self.name, exc)

    def _set_state(self, state: str, error: str | None = None) -> None:
        if state == self.state and error == self.error:
            return
        self.state = state
        self.error = error
        self.since = time.time()
        self.emit(PortStateChanged(port=self.name, state=state, error=error))

    def emit(self, event: PortEvent) -> None:
        """Push an event to the control API's subscribers."""
        if self._emit_cb is not None:
            self._emit_cb(event)

    async def set_enabled(self, enabled: bool) -> None:
        """Enable or disable the port. Disabling tells every client and disconnects
        it, and closes the device; the listener stays, and tells each new client
        the port is disabled before closing its connection."""
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if not enabled:
            for session in list(self.sessions):
                session.close("port disabled by the operator")
            self._lost.set()
        self._wake.set()

    # ======================================================== device events
    def device_data(self, data: bytes) -> None:
        """A read from the device: history, log, every session."""
        self._rx_bytes += len(data)
        self._last_activity = time.time()
        self.history.append(data)
        if self.session_log is not None:
            self.session_log.device_output(data)
        for session in self.sessions:
            session.deliver(data)
        for tail in self._tails:
            tail(data)

    def device_break(self) -> None:
        """A break from the device: IAC BRK to telnet clients, NOTIFY-LINESTATE to RFC 2217 ones."""
        log.info("port %s: break received from the device", self.name)
        self.counters.breaks_from_device += 1
        for session in self.sessions:
            session.send_command(Cmd.BRK)
            session.notify_linestate(LS_BREAK)

    def device_line_error(self, kind: str) -> None:
        """Parity, framing or overrun error reported by the line."""
        bit = LINE_ERROR_BITS.get(kind, 0)
        for session in self.sessions:
            session.notify_linestate(bit)

    def device_lost(self, exc: BaseException | None) -> None:
        """The device vanished: clients stay, and are told."""
        self._leave_direct_path()
        if self._stopping or not self.enabled:
            self._lost.set()
            return
        message = f"device lost: {exc}" if exc else "device lost"
        self.counters.device_losses += 1
        log.warning("port %s: %s", self.name, message)
        self._set_state(WAITING, message)
        self._tell_all("device disconnected; waiting for it to come back")
        self._lost.set()

    def device_write_drained(self) -> None:
        """The device's write buffer drained: read clients again."""
        if self._clients_paused:
            self._clients_paused = False
            for session in self.sessions:
                session.resume_input("device")

    # ====================================================== session events
    def session_opened(self, session: ClientSession) -> None:
        """A client connected: apply limits and the access policy, greet it."""
        cfg = self.config
        if not self.enabled:
            session.close(f"port {self.name} is disabled")
            return
        if not self.admission.rate_ok(session):
            return
        if not self.admission.room_ok(session):
            return
        if not self.admission.grant_access(session):
            return
        self.sessions.append(session)
        log.info("port %s: client %s connected (session %d, %s)", self.name, session.peer,
                 session.id, session.access)
        self.emit(SessionOpened(port=self.name, id=session.id, peer=session.peer, access=session.access))
        if not cfg.hold_open:
            self._wake.set()
        if self._clients_paused:
            session.pause_input("device")
        if cfg.idle_timeout > 0:
            self.admission.arm_idle(session, cfg.idle_timeout)
        self.telnet.greet(session)
        session.report_reading()
        self._update_direct_path()

    def session_closed(self, session: ClientSession) -> None:
        """A client left: hand over write access, restore what it changed."""
        if session not in self.sessions:
            return
        self.sessions.remove(session)
        self.counters.session_left(session.status())
        self.telnet.forget(session)
        self._not_reading.discard(session.id)
        self._update_device_reading()
        log.info("port %s: client %s disconnected (session %d)", self.name, session.peer, session.id)
        self.emit(SessionClosed(port=self.name, id=session.id, peer=session.peer, access=session.access))
        if session.access == WRITER and self.config.access == "first":
            self.admission.promote_watcher()
        comport = session.comport
        if comport is not None:
            if comport.holds_break and self.break_on:
                asyncio.get_running_loop().create_task(self.set_break(False, by=None))
            self.update_modem_polling()
        # Settings asked for by clients last while any client that asked for
        # them is connected; the configured ones (or the operator's) return when the last leaves.
        if session.id in self._settings_askers:
            self._settings_askers.discard(session.id)
            if not self._settings_askers and self.config.restore_settings:
                asyncio.get_running_loop().create_task(self._restore_settings())
        if not self.config.hold_open and not self.sessions:
            if self.device is not None:
                log.info("port %s: device %s closed: no client (hold_open = false)",
                         self.name, self.config.device)
            self._lost.set()
        self._update_direct_path()

    async def _restore_settings(self) -> None:
        """The last client that asked for settings left: back to the configured ones,
        or to the operator's last change."""
        if self._settings_askers or self.settings == self._restore_to:
            return
        await self._apply_settings(self._restore_to, by=None, restore=True)

    def may_write(self, session: ClientSession | None) -> bool:
        """Whether this session may change the device."""
        return session is None or (session.access == WRITER and not session.closed)

    def client_reading(self, session: ClientSession, reading: bool) -> None:
        """A client stopped (``reading`` False) or started taking output again."""
        if reading:
            self._not_reading.discard(session.id)
        else:
            self._not_reading.add(session.id)
        self._update_device_reading()
        self._update_direct_path()

    @property
    def direct_path(self) -> bool:
        """Whether the port relays its one client directly now (``_update_direct_path``)."""
        return self._direct_session is not None

    def _update_direct_path(self) -> None:
        """Take the direct path while the port has one client that needs nothing
        else of it, and the full path otherwise (docs/architecture.md, "Data
        paths").

        Direct: the client is the only one, a writer, reading, with nothing
        queued and no break sequence; no tail and no session log want the
        bytes; the device is open. Then ``open_direct_path``'s two closures
        read the client's socket (``ClientSession.start_direct``) and the
        device (``lend_reads``), one frame each way; anything else in a read
        sends that read the full way. Called at every change of what this
        depends on.
        """
        session = self.sessions[0] if len(self.sessions) == 1 else None
        device = self.device
        if (session is None or device is None or self._stopping or self._tails
                or self.session_log is not None
                or session.access != WRITER or not session.reading or session.inband is not None
                or session.pending_output):
            self._leave_direct_path()
            return
        if self._direct_session is session and self._direct_device is device:
            return
        self._leave_direct_path()
        fd_device: Any = device
        client = session.direct_ends()
        if client is None or not hasattr(fd_device, "lend_reads"):
            return   # TLS, SSH, another event loop; a device not on a tty fd (loop://, a socket): the full path
        history = self.history.append if self.history.capacity > 0 else None
        path = open_direct_path(client[0], client[1], fd_device.direct_ends(), self.write_device, history)
        if not session.start_direct(path):
            return
        self._told_no_device = False
        self._direct_session, self._direct_device, self._path = session, device, path
        fd_device.lend_reads(path.device_readable)

    def _leave_direct_path(self) -> None:
        """Back to the full path for both directions; what the path carried is
        added to the port's counters (and, by the session, to its own)."""
        session, device, path = self._direct_session, self._direct_device, self._path
        if session is None or path is None:
            return
        self._direct_session = self._direct_device = self._path = None
        lend_reads = getattr(device, "lend_reads", None)
        if lend_reads is not None:
            lend_reads(None)
        session.stop_direct()
        carried = path.counts()
        self._rx_bytes += carried.bytes_out
        self._tx_bytes += carried.written
        self._last_activity = self._wall_time(carried.active_at, self._last_activity)

    @staticmethod
    def _wall_time(at: float, since: float | None) -> float | None:
        """The Unix time of ``at`` (a time.monotonic() reading; 0.0: never), or
        ``since`` when that is later or ``at`` never happened."""
        if not at:
            return since
        wall = time.time() - (time.monotonic() - at)
        return wall if since is None or wall > since else since

    @property
    def rx_bytes(self) -> int:
        """Bytes read from the device since the port started."""
        path = self._path
        return self._rx_bytes if path is None else self._rx_bytes + path.counts().bytes_out

    @property
    def tx_bytes(self) -> int:
        """Bytes written (or buffered) to the device since the port started."""
        path = self._path
        return self._tx_bytes if path is None else self._tx_bytes + path.counts().written

    @property
    def last_activity(self) -> float | None:
        """Unix time of the last byte either way (None: none yet)."""
        path = self._path
        return self._last_activity if path is None else self._wall_time(path.counts().active_at,
                                                                         self._last_activity)

    def _update_device_reading(self) -> None:
        """Stop reading the device only when every client has stopped reading
        and the line can hold the data without loss (flow control, or a
        pseudo-terminal); otherwise read on, so history and log lose nothing
        and each slow client loses its own oldest output."""
        device = self.device
        if device is None:
            return
        ids = {s.id for s in self.sessions}
        if ids and ids <= self._not_reading and _can_hold(device, self.settings):
            device.pause_reading()
        else:
            device.resume_reading()

    def telnet_event(self, session: ClientSession, event: Event) -> None:
        """Commands, option changes and RFC 2217 requests from a telnet client."""
        if self.line.handle(session, event):
            self.telnet.comport_requested(session, event)
        else:
            self.telnet.handle(session, event)

    # ============================================================ client input
    def client_data(self, session: ClientSession, data: bytes) -> None:
        """Keys from a client, for the device."""
        if not data:
            return
        if not session.welcomed:
            self.telnet.client_typed(session)
        if session.access != WRITER:
            session.tell_watcher()
            return
        if session.inband is not None:
            items = session.inband.feed(data)
            if BREAK in items:  # keep the order: data, break, data
                for item in items:
                    if item is BREAK:
                        session.submit(self.send_break)
                    else:
                        session.submit(functools.partial(self._to_device, session, item))
                return
            data = b"".join(items)  # type: ignore[arg-type]
            if not data:
                return
        self._to_device(session, data)

    def _to_device(self, session: ClientSession, data: bytes) -> None:
        data = session.end_of_line(data)
        if not data:
            return
        session.count_input(len(data))
        self.write_device(data)
        if self.session_log is not None:
            self.session_log.client_input(data, session.peer)

    def write_device(self, data: bytes) -> None:
        """Write to the device if it is there; while it is being opened (the
        port starting, or opening on demand) input is held, at most
        ``OPEN_HOLD_BYTES``, and written once it is open; otherwise it is
        dropped (clients are told once)."""
        device = self.device
        if device is None and (self.state == STARTING or self.on_demand) and not self._stopping:
            if self._held_size + len(data) <= OPEN_HOLD_BYTES:
                self._held_input.append(data)
                self._held_size += len(data)
            else:
                log.debug("port %s: %d bytes dropped: the device is still opening", self.name, len(data))
            return
        if device is None:
            log.debug("port %s: %d bytes dropped: no device", self.name, len(data))
            if not self._told_no_device:
                self._told_no_device = True
                self._tell_all(f"the device is not connected ({self.state}); input is dropped")
            return
        self._told_no_device = False
        self._tx_bytes += len(data)
        self._last_activity = time.time()
        device.write(data)
        if device.write_buffer_size > device.write_high_water and not self._clients_paused:
            self._clients_paused = True
            for s in self.sessions:
                s.pause_input("device")

    def _release_held_input(self) -> None:
        """The open ended: write what clients typed meanwhile (or drop it, telling them)."""
        held, self._held_input, self._held_size = self._held_input, [], 0
        if held:
            self.write_device(b"".join(held))

    # ========================================================== line control
    async def send_break(self, ms: int | None = None) -> None:
        """A timed break of ``ms`` milliseconds (None: the port's break_ms)."""
        if self.device is None:
            return
        ms = self.config.break_ms if ms is None else ms
        log.info("port %s: sending break (%d ms)", self.name, ms)
        self.counters.breaks_to_device += 1
        await self._device_call("send a break", self.device.send_break(ms / 1000))

    async def send_ip(self) -> None:
        """What IAC IP does on this port: Ctrl-C or a break."""
        if self.config.ip_action == "break":
            await self.send_break()
        else:
            self.write_device(b"\x03")

    async def set_break(self, on: bool, by: ClientSession | None) -> None:
        """Hold or release a break (RFC 2217 SET-CONTROL BREAK-ON/OFF); ``by`` None:
        the holder left. Logged like every break (uat 8)."""
        if on and not self.break_on:
            self.counters.breaks_to_device += 1
            log.info("port %s: sending break (held by session %s, RFC 2217)", self.name,
                     by.id if by is not None else "?")
        elif not on and self.break_on:
            if by is not None:
                log.info("port %s: break released by session %d", self.name, by.id)
            else:
                log.info("port %s: break released: the session that held it left", self.name)
        self.break_on = on
        if by is not None:
            by.hold_break(on)
        if self.device is not None:
            await self._device_call("set the break", self.device.set_break(on))

    async def set_dtr(self, on: bool) -> None:
        """DTR as a client asks (kept and re-applied after a replug)."""
        self.dtr = on
        self._dtr_set = True
        if self.device is not None:
            await self._device_call("set DTR", self.device.set_dtr(on))

    async def set_rts(self, on: bool) -> None:
        """RTS as a client asks (kept and re-applied after a replug)."""
        self.rts = on
        self._rts_set = True
        if self.device is not None:
            await self._device_call("set RTS", self.device.set_rts(on))

    async def purge(self, receive: bool, transmit: bool) -> None:
        if self.device is not None:
            await self._device_call("purge", self.device.purge(receive=receive, transmit=transmit))

    async def _device_call(self, what: str, call: Awaitable[None]) -> None:
        """A control call on the device; a device that vanished meanwhile is one log line
        (its loss is reported by the device layer), never an error for the client."""
        try:
            await call
        except (DeviceError, OSError) as exc:
            log.warning("port %s: cannot %s: %s", self.name, what, exc)

    async def change_settings(self, changes: dict[str, Any], by: ClientSession | None) -> bool:
        """Apply line settings; returns whether anything changed. Others are told.

        ``by`` is the client that asked (None: the operator). A client that
        asks, even for the value in force, keeps the settings in force while
        it is connected; the operator's change ends every client's claim and
        is what the port returns to when a client that asks later leaves.
        A field the device refuses is one WARNING line naming the port, the
        key, the value asked for and the value in force.
        """
        if by is not None:
            self._settings_askers.add(by.id)
        else:
            self._settings_askers.clear()
        wanted = self.settings.with_changes(**changes)
        changed = wanted != self.settings and await self._apply_settings(wanted, by=by)
        if by is None:
            self._restore_to = self.settings   # what is in force now, refused fields included
        return changed

    async def _apply_settings(self, wanted: LineSettings, by: ClientSession | None,
                              restore: bool = False) -> bool:
        if self.device is not None:
            try:
                actual = await self.device.apply_settings(wanted)
            except (DeviceError, OSError, ValueError, OverflowError) as exc:
                log.warning("port %s: cannot apply %s: %s", self.name, wanted.short(), exc)
                return False
        else:
            actual = wanted
        refused = [f"{key}={getattr(wanted, key)!r} (in force: {getattr(actual, key)!r})"
                   for key in _SETTING_KEYS if getattr(wanted, key) != getattr(actual, key)]
        if refused:
            log.warning("port %s: the device refused %s", self.name, ", ".join(refused))
        if actual == self.settings:
            return False
        self.settings = actual
        if restore:
            who = "restore"
            whose = "the configured" if wanted == self.config.settings else "the operator's"
            log.info("port %s: settings restored to %s %s (the last client that set them left)",
                     self.name, whose, actual.short())
            notice = f"settings restored to {whose} {actual.short()}"
        else:
            who = by.peer if by is not None else "the operator"
            log.info("port %s: settings now %s (by %s)", self.name, actual.short(), who)
            notice = f"settings changed by {who}: {actual.short()}"
        self.emit(SettingsChanged(port=self.name, settings=actual, restored=restore))
        self._update_device_reading()   # flow control decides whether the line can be held
        for session in self.sessions:
            if session is not by:
                session.message(notice)
        return True

    # ======================================================== modem polling
    def update_modem_polling(self) -> None:
        """Poll modem lines only while an RFC 2217 client watches them."""
        self.modem.update()

    # ================================================================ status
    def _tell_all(self, text: str) -> None:
        for session in self.sessions:
            session.message(text)

    def add_tail(self, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Call ``callback`` with every device read; returns the remover."""
        self._tails.append(callback)
        self._leave_direct_path()   # the tail wants every read: the full path

        def remove() -> None:
            if callback in self._tails:
                self._tails.remove(callback)
                self._update_direct_path()
        return remove

    def status(self) -> PortStatus:
        """A frozen snapshot of the port."""
        sessions = tuple(s.status() for s in self.sessions)
        client_bytes, dropped_bytes = self.counters.client_totals(sessions)
        c = self.counters
        return PortStatus(
            name=self.name, device=self.config.device, listen=self.listen_address,
            mode=self.config.mode, state=self.state, settings=self.settings,
            profile=self.config.profile, enabled=self.enabled, error=self.error,
            rx_bytes=self.rx_bytes, tx_bytes=self.tx_bytes, last_activity=self.last_activity,
            since=self.since, sessions=sessions,
            listen_readonly=self.readonly_address, access=self.config.access, tls=self.config.tls,
            client_bytes=client_bytes, dropped_bytes=dropped_bytes,
            breaks_to_device=c.breaks_to_device, breaks_from_device=c.breaks_from_device,
            device_opens=c.device_opens, device_losses=c.device_losses,
        )


_PTY_MAJORS = range(136, 144)   # Unix98 pseudo-terminal slaves (Documentation/admin-guide/devices.txt)


def _can_hold(device: Device, settings: LineSettings) -> bool:
    """Whether the line holds data the bridge does not read, losing none: flow
    control stops the sender, and a pseudo-terminal's writer blocks."""
    if settings.flow != "none":
        return True
    try:
        return os.major(os.stat(device.path).st_rdev) in _PTY_MAJORS
    except (OSError, ValueError):
        return False


def _urgent_inline(server: asyncio.AbstractServer) -> None:
    """SO_OOBINLINE on a listener, inherited by the sockets it accepts (each
    session sets it again): a Synch sent at once is read in band too."""
    for sock in getattr(server, "sockets", None) or ():
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
        except OSError:
            pass


def _bound_port(server: asyncio.AbstractServer, configured: int) -> int:
    sockets = getattr(server, "sockets", None) or ()
    for sock in sockets:
        return int(sock.getsockname()[1])
    return configured


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_SETTING_KEYS = ("baud", "bytesize", "parity", "stopbits", "flow")


def _as_changes(settings: LineSettings) -> dict[str, Any]:
    return {"baud": settings.baud, "bytesize": settings.bytesize, "parity": settings.parity,
            "stopbits": settings.stopbits, "flow": settings.flow}
