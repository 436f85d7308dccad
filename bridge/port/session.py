"""One client connection of a port: framing, its own option state, back-pressure.

A ``ClientSession`` is the asyncio protocol of an accepted socket. It only
moves bytes and events: everything that touches the device or other sessions
is asked of its ``PortWorker``.

Back-pressure policy (docs/sessions.md):

* A **writer** is lossless. When its socket's buffer passes the high-water
  mark, the worker pauses reading the device until every writer drains (the
  kernel and the line's flow control hold the data meanwhile); a writer that
  stays blocked longer than ``stall_timeout`` is disconnected with a message.
* A **watcher** is lossy. While its socket is blocked, output waits in a
  queue of at most ``WATCHER_QUEUE_BYTES``; past it the oldest output is
  dropped, counted, and the client is told ``[serial-bridge: N bytes dropped]``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from bridge.port.status import SessionStatus
from bridge.telnet import (
    Cmd,
    ConnectionClosed,
    DataReceived,
    Event,
    Opt,
    OptionDisabled,
    OptionEnabled,
    DEFAULT_SERVER_POLICY,
    Side,
    TelnetConnection,
    TerminalTypeReceived,
    TimingMarkRequested,
)

if TYPE_CHECKING:
    from bridge.port.inband import InbandBreak
    from bridge.port.linecontrol import ComPortState
    from bridge.port.worker import PortWorker

log = logging.getLogger("bridge.session")

_ids = itertools.count(1)

SOCKET_HIGH_WATER = 256 * 1024
WATCHER_QUEUE_BYTES = 256 * 1024
READ_SIZE = 64 * 1024    # one socket read at most
WORK_LIMIT = 64          # queued requests past which the client's socket is not read

# What the server agrees to (INTERFACE.md, "Wire behaviour"): it offers
# character mode (WILL ECHO, WILL SGA, DO SGA) and accepts BINARY each way and
# COM-PORT-OPTION when the client asks.
SERVER_POLICY = dataclasses.replace(DEFAULT_SERVER_POLICY, ask_terminal_type=True)  # RFC 1091 (issue 10)

WRITER = "writer"
WATCHER = "watcher"


class ClientSession(asyncio.BufferedProtocol):
    """A client of one port, in telnet or raw framing.

    A buffered protocol: the socket is read into one buffer kept for the
    session's life, instead of a fresh 256 KiB allocation per read (which
    glibc serves with mmap and munmap: two system calls per keystroke).
    """

    def __init__(self, worker: PortWorker, *, readonly: bool = False, kind: str | None = None,
                 user: str | None = None) -> None:
        self.worker = worker
        self.readonly = readonly
        self.id = next(_ids)
        # kind: "telnet" or "raw" (the port's mode), or "ssh" (raw framing; issue 11)
        self.kind = kind or ("telnet" if worker.config.mode == "telnet" else "raw")
        self.telnet = self.kind == "telnet"
        self.user = user                # who the access layer vouches for (SSH, TLS client cert)
        self.window: tuple[int, int] | None = None   # columns, rows (SSH pty request)
        self.conn: TelnetConnection | None = None
        self._read_view = memoryview(bytearray(READ_SIZE))
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.access = WATCHER
        self.connected_at = time.time()
        self.last_input = time.monotonic()
        self.bytes_in = 0
        self.bytes_out = 0
        self.dropped = 0
        self.terminal: str | None = None
        self.closed = False
        self.blocked = False            # our socket is past its high-water mark
        self._holding = False           # this writer holds the device's reading
        self.suspended = False          # RFC 2217 FLOWCONTROL-SUSPEND
        self._pending: deque[bytes] = deque()
        self._pending_size = 0
        self._dropped_unreported = 0
        self._told_watcher = False
        self._stall_handle: asyncio.TimerHandle | None = None
        self.welcome_timer: asyncio.TimerHandle | None = None  # banner + history once negotiation settles
        self.welcomed = False           # output is held until the banner and history are out
        # Client input is handled in order; async device operations (settings,
        # break) queue the input that follows them until they are done.
        self._work: deque[Callable[[], object]] = deque()
        self._work_task: asyncio.Task[None] | None = None
        self.break_queued = False
        # Why reading this client is paused: "socket" (it does not read what we
        # send), "device" (the device's write buffer is full), "work" (too many
        # queued requests). Reading resumes when no reason is left.
        self._read_pauses: set[str] = set()
        self.comport: ComPortState | None = None  # set when the client speaks RFC 2217
        self.inband: InbandBreak | None = None    # the port's break_sequence detector, if any

    # ----------------------------------------------------------------- asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Set up the socket, negotiate, and join the port."""
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            except OSError:
                pass
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            host = peer[0]
            self.peer = f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
        self.transport.set_write_buffer_limits(high=SOCKET_HIGH_WATER)
        if self.telnet:
            self.conn = TelnetConnection(server=True, policy=SERVER_POLICY)
            self.conn.request_enable(Opt.ECHO, Side.US)
            self.conn.request_enable(Opt.SGA, Side.US)
            self.conn.request_enable(Opt.SGA, Side.HIM)
            self.conn.request_enable(Opt.TTYPE, Side.HIM)  # RFC 1091, asked by SERVER_POLICY (issue 10)
            self.conn.request_enable(Opt.NAWS, Side.HIM)   # RFC 1073 (issue 10)
            self._flush_conn()
        self.worker.session_opened(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        """Where asyncio reads the socket into."""
        return self._read_view

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` arrived in the read buffer."""
        self.data_received(self._read_view[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        """Bytes from the client: decode, then hand data and commands to the worker."""
        self.last_input = time.monotonic()
        if self.conn is None:
            self._submit_data(data)
            return
        try:
            events = self.conn.receive_data(data)
        except Exception as exc:  # RemoteProtocolError: the stream is unusable
            log.warning("port %s: session %d (%s): bad telnet stream: %s",
                        self.worker.name, self.id, self.peer, exc)
            self.close("bad telnet stream")
            return
        for event in events:
            self._dispatch(event)
        self._flush_conn()

    def eof_received(self) -> bool | None:
        """The client closed its side: end the session."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """The socket is gone: leave the port."""
        self.closed = True
        self._cancel_stall()
        if self.welcome_timer is not None:
            self.welcome_timer.cancel()
        if self._work_task is not None:
            self._work_task.cancel()
        self.worker.session_closed(self)

    def pause_input(self, reason: str) -> None:
        """Stop reading this client (for ``reason``) until resume_input(reason)."""
        if not self._read_pauses and self.transport is not None and not self.closed:
            self.transport.pause_reading()
        self._read_pauses.add(reason)

    def resume_input(self, reason: str) -> None:
        """Drop one reason to pause; read again when none is left."""
        if reason not in self._read_pauses:
            return
        self._read_pauses.discard(reason)
        if not self._read_pauses and self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        """Our socket buffer is full: a client that does not read is not read
        either (its requests would pile up answers), and a writer holds the device."""
        self.blocked = True
        self.pause_input("socket")
        self._update_hold()

    def resume_writing(self) -> None:
        """Our socket buffer drained."""
        self.blocked = False
        self._drain_pending()
        self._update_hold()
        self.resume_input("socket")

    def _update_hold(self) -> None:
        """A writer that cannot take output (socket full, or RFC 2217 suspend)
        holds the device's reading, for at most ``stall_timeout`` seconds."""
        holding = self.access == WRITER and (self.blocked or self.suspended) and not self.closed
        if holding == self._holding:
            return
        self._holding = holding
        if holding:
            self.worker.writer_blocked(self)
            loop = asyncio.get_running_loop()
            self._stall_handle = loop.call_later(self.worker.config.stall_timeout, self._stalled)
        else:
            self._cancel_stall()
            self.worker.writer_unblocked(self)

    # ------------------------------------------------------------ the output
    def deliver(self, data: bytes) -> None:
        """Device output for this client (already in history and log)."""
        if self.closed:
            return
        if not self.welcomed or self.blocked and self.access == WATCHER or self.suspended or self._pending:
            self._queue(data)
            return
        self._write_out(data)

    def _write_out(self, data: bytes) -> None:
        assert self.transport is not None
        self.bytes_out += len(data)
        if self.conn is None:
            self.transport.write(data)
            return
        self.conn.send_data(data)
        self._flush_conn()

    def _queue(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        if self.access == WRITER:
            return  # lossless: the worker pauses the device instead
        while self._pending_size > WATCHER_QUEUE_BYTES and self._pending:
            old = self._pending.popleft()
            self._pending_size -= len(old)
            self.dropped += len(old)
            self._dropped_unreported += len(old)

    def welcome(self, banner: str | None, backlog: bytes) -> None:
        """Send the banner and the history kept at connect, then release held output."""
        if self.welcomed or self.closed:
            return
        self.welcomed = True
        if banner:
            self.send_raw_line(banner)
        if backlog:
            self._write_out(backlog)
        self._drain_pending()

    def _drain_pending(self) -> None:
        if self.suspended or self.closed or not self.welcomed:
            return
        if self._dropped_unreported:
            self.message(f"{self._dropped_unreported} bytes dropped")
            self._dropped_unreported = 0
        while self._pending and not (self.blocked and self.access == WATCHER):
            chunk = self._pending.popleft()
            self._pending_size -= len(chunk)
            self._write_out(chunk)

    def abort_output(self) -> None:
        """IAC AO: drop what is queued for this client."""
        self._pending.clear()
        self._pending_size = 0

    def set_suspended(self, suspended: bool) -> None:
        """RFC 2217 flow control from the client: hold its output, losing nothing
        (a writer holds the device meanwhile, as when its socket is full)."""
        self.suspended = suspended
        if not suspended:
            self._drain_pending()
        self._update_hold()

    def message(self, text: str) -> None:
        """A short bracketed notice, for telnet clients only.

        Raw streams and RFC 2217 clients (esptool, pyserial) get none: their
        data stream must stay exactly what the device sent.
        """
        if self.conn is None or self.comport is not None or self.closed or self.transport is None:
            return
        self.conn.send_data(f"\r\n[serial-bridge: {text}]\r\n".encode())
        self._flush_conn()

    def send_raw_line(self, text: str) -> None:
        """A line of text without brackets (banner, AYT answer), telnet only."""
        if self.conn is None or self.comport is not None or self.closed:
            return
        self.conn.send_data(text.encode() + b"\r\n")
        self._flush_conn()

    def send_command(self, cmd: Cmd) -> None:
        """A Telnet command to the client (IAC BRK for a break from the device)."""
        if self.conn is None or self.closed:
            return
        self.conn.send_command(cmd)
        self._flush_conn()

    def _flush_conn(self) -> None:
        if self.conn is None or self.transport is None or self.closed:
            return
        wire = self.conn.data_to_send()
        if wire:
            self.transport.write(wire)

    def close(self, reason: str | None = None) -> None:
        """End the session, telling the client why."""
        if self.closed or self.transport is None:
            return
        if reason:
            self.message(reason)
        self.transport.close()

    def _stalled(self) -> None:
        self._stall_handle = None
        log.warning("port %s: session %d (%s): writer stalled %.0f s, disconnecting",
                    self.worker.name, self.id, self.peer, self.worker.config.stall_timeout)
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _cancel_stall(self) -> None:
        if self._stall_handle is not None:
            self._stall_handle.cancel()
            self._stall_handle = None

    # ------------------------------------------------------------- the input
    def _dispatch(self, event: Event) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
        else:
            self.worker.telnet_event(self, event)

    def _on_data(self, event: Event) -> None:
        assert isinstance(event, DataReceived)
        self._submit_data(event.data)

    def _submit_data(self, data: bytes) -> None:
        if self._work:
            self._queue_work(lambda: self.worker.client_data(self, data))
        else:
            self.worker.client_data(self, data)

    def _queue_work(self, job: Callable[[], object]) -> None:
        self._work.append(job)
        if len(self._work) > WORK_LIMIT:
            self.pause_input("work")

    def submit(self, job: Callable[[], object]) -> None:
        """Run ``job`` (sync, or returning an awaitable) after the input before it."""
        self._queue_work(job)
        if self._work_task is None or self._work_task.done():
            self._work_task = asyncio.get_running_loop().create_task(self._run_work())

    async def _run_work(self) -> None:
        while self._work and not self.closed:
            job = self._work[0]
            try:
                result = job()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("port %s: session %d: request failed", self.worker.name, self.id)
            self._work.popleft()
            self._flush_conn()
            if len(self._work) <= WORK_LIMIT // 2:
                self.resume_input("work")

    def _on_option_enabled(self, event: Event) -> None:
        assert isinstance(event, OptionEnabled)
        log.debug("port %s: session %d: %s %s on", self.worker.name, self.id,
                  _opt_name(event.option), event.side.value)
        self.worker.telnet_event(self, event)

    def _on_option_disabled(self, event: Event) -> None:
        assert isinstance(event, OptionDisabled)
        self.worker.telnet_event(self, event)

    def _on_timing_mark(self, event: Event) -> None:
        # RFC 860: answer once the data before the mark has been handled.
        conn = self.conn
        assert conn is not None
        self.submit(conn.answer_timing_mark)

    def set_terminal(self, name: str | None, window: tuple[int, int] | None) -> None:
        """The client's terminal type and size (columns, rows), from an SSH pty request."""
        if name:
            self.terminal = name
        if window is not None:
            self.window = window

    def _on_ttype(self, event: Event) -> None:
        assert isinstance(event, TerminalTypeReceived)
        self.terminal = event.name

    def _on_closed(self, event: Event) -> None:
        pass

    # ---------------------------------------------------------------- status
    def tell_watcher(self) -> None:
        """Say once why a watcher's keys go nowhere."""
        if not self._told_watcher:
            self._told_watcher = True
            self.message("you are watching: your input does not reach the device")

    def status(self) -> SessionStatus:
        """A frozen snapshot for the control API."""
        return SessionStatus(
            id=self.id, peer=self.peer, kind=self.kind,
            access=self.access, connected_at=self.connected_at,
            bytes_in=self.bytes_in, bytes_out=self.bytes_out, dropped=self.dropped,
            rfc2217=self.comport is not None, terminal=self.terminal,
            user=self.user, window=self.window,
        )


def _opt_name(option: int) -> str:
    try:
        return Opt(option).name
    except ValueError:
        return str(option)


_HANDLERS: dict[type, Callable[[ClientSession, Event], None]] = {
    DataReceived: ClientSession._on_data,
    OptionEnabled: ClientSession._on_option_enabled,
    OptionDisabled: ClientSession._on_option_disabled,
    TimingMarkRequested: ClientSession._on_timing_mark,
    TerminalTypeReceived: ClientSession._on_ttype,
    ConnectionClosed: ClientSession._on_closed,
}
