"""One client connection of a port: framing, its own option state, back-pressure.

A ``ClientSession`` is the asyncio protocol of an accepted socket. It only
moves bytes and events: everything that touches the device or other sessions
is asked of its ``PortWorker``.

Slow-client policy (INTERFACE.md "Slow clients", docs/sessions.md):

* A client that stops reading (its socket past the high-water mark, an RFC
  2217 FLOWCONTROL-SUSPEND) never delays another client. Its output waits in
  a queue of at most ``OUTPUT_QUEUE_BYTES`` (``OPENING_QUEUE_BYTES`` while
  its opening holds its output); past it the oldest output is
  dropped, counted, and the client is told ``[serial-bridge: N bytes
  dropped]`` once it reads again. After ``stall_timeout`` seconds of not
  reading it is disconnected.
* The session tells its worker when it stops and starts reading (a session
  still in its opening counts as not reading); the worker stops reading the
  device only when every client has stopped and the line can hold the data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from bridge.port.direct import ClientEnds, DirectPath
from bridge.port.inband import InbandBreak
from bridge.port.status import SessionStatus
from bridge.telnet import (
    Cmd,
    ConnectionClosed,
    DataReceived,
    Event,
    Opt,
    OptionDisabled,
    OptionEnabled,
    CR_CODE,
    DEFAULT_SERVER_POLICY,
    IAC_CODE,
    Side,
    TelnetConnection,
    TerminalTypeReceived,
    TimingMarkRequested,
    WindowSizeChanged,
)

if TYPE_CHECKING:
    from bridge.leanloop import DirectSocket
    from bridge.port.linecontrol import ComPortState
    from bridge.port.roles import SessionPort

log = logging.getLogger("bridge.session")

_ids = itertools.count(1)

SOCKET_HIGH_WATER = 256 * 1024
OUTPUT_QUEUE_BYTES = 256 * 1024   # output waiting for one client, at most
# ... and while its opening holds it (an RFC 2217 client's requests take up to
# a few seconds; a device that cannot be paused sends on meanwhile)
OPENING_QUEUE_BYTES = 4 * 1024 * 1024
READ_SIZE = 64 * 1024    # one socket read at most
CR = b"\r"
CR_LF = b"\r\n"
MAX_TTYPES = 8           # terminal types kept per session
WORK_LIMIT = 64          # queued requests past which the client's socket is not read

# What the server agrees to (INTERFACE.md, "Wire behaviour"): it offers
# character mode (WILL ECHO, WILL SGA, DO SGA) and accepts BINARY each way and
# COM-PORT-OPTION when the client asks.
SERVER_POLICY = dataclasses.replace(DEFAULT_SERVER_POLICY, ask_terminal_type=True)  # RFC 1091 (issue 10)

WRITER = "writer"
WATCHER = "watcher"


@dataclasses.dataclass(frozen=True)
class _Answer:
    """A Telnet answer that waits in a client's output queue at its place in the stream."""

    wire: bytes


class _ReadBuffer(threading.local):
    """One socket read buffer (``READ_SIZE`` bytes) per thread: the importing thread's at import, others' on first use.

    Every session of an event loop reads into its thread's one buffer:
    asyncio asks ``get_buffer``, fills it and calls ``buffer_updated`` in one
    synchronous step (the selector, SSL and uvloop transports alike), and
    ``buffer_updated`` copies the bytes out before anything else runs. One
    buffer a thread instead of one a client: 64 clients held 4 MiB of read
    buffers, every page touched by the zero fill, for the few bytes a
    keystroke brings (issue 10: 64 ports under 32 MB).
    """

    def __init__(self) -> None:
        self.view = memoryview(bytearray(READ_SIZE))


_read_buffer = _ReadBuffer()


class ClientSession(asyncio.BufferedProtocol):
    """A client of one port, in telnet or raw framing.

    A buffered protocol: the socket is read into one buffer kept for the
    thread's life (``_ReadBuffer``), instead of a fresh 256 KiB allocation per
    read (which glibc serves with mmap and munmap: two system calls per keystroke).
    """

    lean_reads = True   # data_received(bytes) is how the lean loop's transport reads (bridge/leanloop.py)

    def __init__(self, worker: SessionPort, *, readonly: bool = False, raw: bool = False,
                 peer: str | None = None, on_close: Callable[[], None] | None = None,
                 kind: str | None = None, user: str | None = None) -> None:
        """A session of ``worker``'s port.

        Args:
            readonly: a client of ``listen_readonly`` (always a watcher).
            raw: raw framing whatever the port's mode (an attached console).
            peer: the name shown for the client (default: its address).
            on_close: called once the session has left the port.
            kind: "telnet" or "raw" (default: the port's mode), or "ssh" (raw framing; issue 11).
            user: who the access layer vouches for (SSH login, TLS client certificate).
        """
        self.worker = worker
        self.readonly = readonly
        self.id = next(_ids)
        self.kind = kind or ("telnet" if worker.config.mode == "telnet" and not raw else "raw")
        self.telnet = self.kind == "telnet"
        self.user = user
        self.conn: TelnetConnection | None = None
        self._read_view = _read_buffer.view   # shared by the thread's sessions (issue 10: RSS)
        self.transport: asyncio.Transport | None = None
        self.peer = peer or "?"
        self._named = peer is not None
        self._on_close = on_close
        self._access = WATCHER
        self.connected_at = time.time()
        self._last_input = time.monotonic()   # last_input, bytes_in, bytes_out: with the direct path's
        self._bytes_in = 0                    # counts while it lasts (start_direct)
        self._bytes_out = 0
        self.dropped = 0
        self.terminal: str | None = None
        self.terminal_types: list[str] = []   # RFC 1091: each type the client named, at most MAX_TTYPES
        self.window: tuple[int, int] | None = None   # RFC 1073 NAWS: (columns, rows)
        self.closed = False
        self.blocked = False            # our socket is past its high-water mark
        self._stopped = False           # the worker knows this client is not reading
        self.spoke_telnet = False       # the client has sent a Telnet command (it will answer DO TIMING-MARK)
        self.suspended = False          # RFC 2217 FLOWCONTROL-SUSPEND
        # Device output waiting for this client, oldest first, and Telnet answers
        # that must keep their place in it (_Answer: RFC 860's TIMING-MARK).
        self._pending: deque[bytes | _Answer] = deque()
        self._pending_size = 0          # bytes of device output in _pending
        self._pending_answers = 0       # bytes of answers in _pending (never dropped)
        self._dropped_unreported = 0
        self._told_watcher = False
        self._stall_handle: asyncio.TimerHandle | None = None
        self.welcomed = False           # output is held until the banner and history are out
        # Client input is handled in order; async device operations (settings,
        # break) queue the input that follows them until they are done.
        self.work: deque[Callable[[], object]] = deque()   # waiting requests, in order (the direct path reads it)
        self._work_task: asyncio.Task[None] | None = None
        # Why reading this client is paused: "socket" (it does not read what we
        # send), "device" (the device's write buffer is full), "work" (too many
        # queued requests). Reading resumes when no reason is left.
        self._read_pauses: set[str] = set()
        self._comport: ComPortState | None = None  # once the client speaks RFC 2217
        sequence = worker.config.break_sequence
        # The port's break_sequence detector, if any (its state is this client's typing).
        self.inband: InbandBreak | None = InbandBreak(sequence.encode("latin-1")) if sequence else None
        self._path: DirectPath | None = None   # the port's direct path, while it takes it (start_direct)
        self._newline = worker.config.newline   # what this client's CR LF becomes at the device
        self._cr_passed = False   # the last byte passed on was a CR that a LF may complete

    # ----------------------------------------------------------- who owns what
    @property
    def access(self) -> str:
        """"writer" or "watcher"; changed only through grant_write / revoke_write."""
        return self._access

    def grant_write(self, tell: bool = False) -> None:
        """Make this client a writer (``tell``: say so to it)."""
        self._access = WRITER
        if tell:
            self.message("you now have write access")

    def revoke_write(self) -> None:
        """Make this client a watcher."""
        self._access = WATCHER

    @property
    def comport(self) -> ComPortState | None:
        """What the client negotiated of RFC 2217, once it speaks it (None before)."""
        return self._comport

    def start_comport(self, modem_lines: bool) -> ComPortState:
        """The client speaks RFC 2217: give it a clean 8-bit stream and a first modem state.

        RFC 2217 clients (pyserial, esptool) send and expect raw bytes without
        ever asking for BINARY, so the server asks for it both ways; and
        pyserial's ``cts``/``dsr`` fail until a NOTIFY-MODEMSTATE has arrived
        (``modem_lines`` False: one saying all lines are low, as on unwired lines).
        """
        from bridge.port.linecontrol import ComPortState
        if self._comport is not None:
            return self._comport
        self._comport = ComPortState()
        conn = self.conn
        if conn is not None:
            conn.request_enable(Opt.BINARY, Side.US)
            conn.request_enable(Opt.BINARY, Side.HIM)
            if not modem_lines:
                conn.notify_modemstate(0)
            self.flush()
        return self._comport

    def set_linestate_mask(self, mask: int) -> None:
        """RFC 2217 SET-LINESTATE-MASK: keep it and answer it."""
        self._comport = self.start_comport(modem_lines=True)
        self._comport.linestate_mask = mask & 0xFF
        if self.conn is not None:
            self.conn.ack_linestate_mask(self._comport.linestate_mask)

    def set_modemstate_mask(self, mask: int) -> None:
        """RFC 2217 SET-MODEMSTATE-MASK: keep it and answer it."""
        self._comport = self.start_comport(modem_lines=True)
        self._comport.modemstate_mask = mask & 0xFF
        if self.conn is not None:
            self.conn.ack_modemstate_mask(self._comport.modemstate_mask)

    def hold_break(self, on: bool) -> None:
        """This client holds (or released) a break with SET-CONTROL BREAK-ON."""
        if self._comport is not None:
            self._comport.holds_break = on

    def notify_linestate(self, bit: int) -> None:
        """NOTIFY-LINESTATE ``bit`` (RFC 2217), if this client's mask asks for it."""
        comport, conn = self._comport, self.conn
        if comport is not None and conn is not None and comport.linestate_mask & bit and not self.closed:
            conn.notify_linestate(bit)
            self.flush()

    def notify_modemstate(self, value: int) -> None:
        """NOTIFY-MODEMSTATE, masked by this client's mask (RFC 2217)."""
        comport, conn = self._comport, self.conn
        if comport is not None and conn is not None and comport.modemstate_mask and not self.closed:
            conn.notify_modemstate(value & comport.modemstate_mask)
            self.flush()

    def request_timing_mark(self) -> None:
        """Send DO TIMING-MARK (the opening's question, RFC 860)."""
        if self.conn is not None:
            self.conn.request_timing_mark()
            self.flush()

    # ----------------------------------------------------------------- asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Set up the socket, negotiate, and join the port."""
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                # Urgent data in band (RFC 854 Synch): the IAC or DM a client
                # sends as urgent data stays in its place in the stream, where
                # the engine sees IAC DM as a command instead of a lone 0xF2.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
            except OSError:
                pass
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and not self._named:
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
            self.flush()
        self.worker.session_opened(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        """Where asyncio reads the socket into."""
        return self._read_view

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` arrived in the read buffer."""
        self.data_received(self._read_view[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        """Bytes from the client: decode, then hand data and commands to the worker."""
        self._last_input = time.monotonic()
        # The keystroke path: data goes straight to the worker unless earlier
        # requests still wait in the work queue (then it queues behind them).
        if self.conn is None:
            if self.work:
                self._queue_work(lambda: self.worker.client_data(self, data))
            else:
                self.worker.client_data(self, data)
            return
        run = self.conn.receive_app_data(data)   # the keystroke path: no IAC, nothing pending
        if run is not None:
            if run:
                self._submit_data(run)
            return
        if not self.spoke_telnet and IAC_CODE in data:
            self.spoke_telnet = True
        try:
            events = self.conn.receive_data(data)
        except Exception as exc:  # RemoteProtocolError: the stream is unusable
            log.warning("port %s: session %d (%s): bad telnet stream: %s",
                        self.worker.name, self.id, self.peer, exc)
            self.close("bad telnet stream")
            return
        for event in events:
            if type(event) is DataReceived and not self.work:
                self.worker.client_data(self, event.data)
            else:
                self._dispatch(event)
        self.flush()

    # ------------------------------------------------------- the direct path
    def direct_ends(self) -> tuple[ClientEnds, DirectSocket] | None:
        """This client's part of a direct path (bridge.port.direct), or None when
        its transport has none (TLS, SSH, a loop other than the lean one:
        bridge.leanloop)."""
        transport: Any = self.transport
        if not hasattr(transport, "direct_socket") or self.closed:
            return None
        return ClientEnds(self.data_received, self.work, self.conn, self._input_plain), transport.direct_socket()

    def _input_plain(self) -> bool:
        """Whether a read with no IAC and no CR goes to the device exactly as it is:
        raw framing, or nothing pending in the engine (TelnetConnection.input_plain)
        and no CR passed that a LF may complete (end_of_line)."""
        return self.conn is None or (self.conn.input_plain and not self._cr_passed)

    def start_direct(self, path: DirectPath) -> bool:
        """Have ``path`` read this client's socket (and count its traffic) until
        ``stop_direct``. Returns False, changing nothing, when the transport
        cannot lend its reads.

        The port calls it only while this is its one client and a writer that
        reads, with nothing queued and no break sequence
        (PortWorker._update_direct_path), and ``stop_direct`` as soon as that
        ends.
        """
        transport: Any = self.transport
        if self._path is not None or not transport.lend_reads(path.socket_readable):
            return False
        self._path = path
        return True

    def stop_direct(self) -> None:
        """Back to ``data_received``; what the path carried is added to this
        client's counters."""
        path, self._path = self._path, None
        if path is None:
            return
        carried = path.counts()
        self._bytes_in += carried.bytes_in
        self._bytes_out += carried.bytes_out
        self._last_input = max(self._last_input, carried.input_at)
        transport: Any = self.transport
        if transport is not None:
            transport.lend_reads(None)

    @property
    def bytes_in(self) -> int:
        """Bytes of this client's input that reached the device."""
        path = self._path
        return self._bytes_in if path is None else self._bytes_in + path.counts().bytes_in

    @property
    def bytes_out(self) -> int:
        """Bytes of device output passed to this client (before Telnet encoding)."""
        path = self._path
        return self._bytes_out if path is None else self._bytes_out + path.counts().bytes_out

    @property
    def last_input(self) -> float:
        """time.monotonic() of this client's last input (its connection at first)."""
        path = self._path
        return self._last_input if path is None else max(self._last_input, path.counts().input_at)

    def end_of_line(self, data: bytes) -> bytes:
        """This client's input with its end of line as the port's ``newline``
        ("crlf", "cr" or "lf"; INTERFACE.md), for NVT text only (RFC 854: a
        client outside BINARY ends a line with CR LF, or CR NUL, which the
        engine has already made a bare CR).

        A CR is passed on at once (never held for what may follow), as CR
        with ``newline = "cr"`` and as LF with ``newline = "lf"`` (a CR LF
        is one LF, and Enter sent as CR NUL still ends the line for a device
        that reads up to LF); the LF that completes it is dropped when it
        comes, in the same read or the next. Raw clients and BINARY input
        are returned unchanged. May return ``b""`` (a lone LF dropped).
        """
        conn = self.conn
        if self._newline == "crlf" or conn is None or conn.peer_binary:
            self._cr_passed = False
            return data
        if self._cr_passed and data[:1] == b"\n":
            data = data[1:]   # the LF of a CR LF split across two reads
        self._cr_passed = data[-1:] == b"\r"
        if CR_CODE in data:
            data = data.replace(CR_LF, CR)
            if self._newline == "lf":
                data = data.replace(CR, b"\n")
        return data

    def eof_received(self) -> bool | None:
        """The client closed its side: end the session."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """The socket is gone: leave the port."""
        self.closed = True
        self._cancel_stall()
        if self._work_task is not None:
            self._work_task.cancel()
        self.worker.session_closed(self)
        if self._on_close is not None:
            self._on_close()

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
        either (its requests would pile up answers)."""
        self.blocked = True
        self.pause_input("socket")
        self.report_reading()

    def resume_writing(self) -> None:
        """Our socket buffer drained: what waits goes out, and the client is read
        again unless that filled the buffer at once (pause_writing again)."""
        self.blocked = False
        self._drain_pending()
        self.report_reading()
        if not self.blocked:
            self.resume_input("socket")

    @property
    def pending_output(self) -> int:
        """Bytes of output queued for this client, not yet sent (device output and
        Telnet answers that wait behind it)."""
        return self._pending_size + self._pending_answers

    @property
    def reading(self) -> bool:
        """Whether the client takes output now (not blocked, suspended, or in its opening)."""
        return self.welcomed and not (self.blocked or self.suspended) and not self.closed

    def report_reading(self) -> None:
        """Tell the worker when this client stops or starts reading; a client
        that does not read for ``stall_timeout`` seconds is disconnected."""
        stopped = not self.reading and not self.closed
        stalled = (self.blocked or self.suspended) and not self.closed
        if stalled and self._stall_handle is None:
            loop = asyncio.get_running_loop()
            self._stall_handle = loop.call_later(self.worker.config.stall_timeout, self._stalled)
        elif not stalled:
            self._cancel_stall()
        if stopped != self._stopped:
            self._stopped = stopped
            self.worker.client_reading(self, not stopped)

    # ------------------------------------------------------------ the output
    def deliver(self, data: bytes) -> None:
        """Device output for this client (already in history and log)."""
        if self.closed:
            return
        if self._holds_output:
            self._queue(data)
            return
        self._write_out(data)

    @property
    def _holds_output(self) -> bool:
        """Output for this client waits in its queue: something already waits, the
        opening is not over, its socket is full, or RFC 2217 suspended it."""
        return bool(self._pending) or not self.welcomed or self.blocked or self.suspended

    def _write_out(self, data: bytes) -> None:
        assert self.transport is not None
        self._bytes_out += len(data)
        if self.conn is None:
            self.transport.write(data)
            return
        wire = self.conn.encode(data)   # send_data and data_to_send in one engine call
        if wire:
            self.transport.write(wire)

    def _queue(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        limit = OUTPUT_QUEUE_BYTES if self.welcomed else OPENING_QUEUE_BYTES
        if self._pending_size <= limit:
            return
        kept: list[_Answer] = []   # answers keep their place at the front; only output is dropped
        while self._pending_size > limit and self._pending:
            old = self._pending.popleft()
            if isinstance(old, _Answer):
                kept.append(old)
                continue
            self._pending_size -= len(old)
            self.dropped += len(old)
            self._dropped_unreported += len(old)
        self._pending.extendleft(reversed(kept))

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
        self.report_reading()

    def hold_output(self) -> None:
        """Hold output again as in the opening, until the next ``welcome`` (a
        client welcomed as silent turned out to be an RFC 2217 client in its
        opening: bridge.port.telnetside)."""
        if self.closed or not self.welcomed:
            return
        self.welcomed = False
        self.report_reading()

    def _drain_pending(self) -> None:
        if self.suspended or self.closed or not self.welcomed:
            return
        if self._dropped_unreported:
            self.message(f"{self._dropped_unreported} bytes dropped")
            self._dropped_unreported = 0
        while self._pending and not self.blocked:
            chunk = self._pending.popleft()
            if isinstance(chunk, _Answer):
                self._pending_answers -= len(chunk.wire)
                assert self.transport is not None
                self.transport.write(chunk.wire)
                continue
            self._pending_size -= len(chunk)
            self._write_out(chunk)

    def abort_output(self) -> None:
        """IAC AO: drop what is queued for this client and answer with a Synch
        (RFC 854: IAC DM, the DM sent as TCP urgent data). Answers that wait
        in the queue (TIMING-MARK) are not output: they stay."""
        self.discard_output()
        self.send_synch()

    def discard_output(self) -> None:
        """Drop the device output queued for this client, not yet sent (IAC AO;
        RFC 2217's PURGE of the access server's receive buffer). Answers that
        wait in the queue (TIMING-MARK) stay; nothing is counted as dropped."""
        answers = [item for item in self._pending if isinstance(item, _Answer)]
        self._pending = deque(answers)
        self._pending_size = 0

    def send_synch(self) -> None:
        """A Synch to the client: IAC DM with the DM as urgent data (RFC 854).

        Urgent data cannot pass through the transport's buffer, so when
        output is still buffered the DM goes in band (the client then reads
        an ordinary IAC DM, which it ignores).
        """
        if self.conn is None or self.transport is None or self.closed:
            return
        self.flush()
        sock = self.transport.get_extra_info("socket")
        wire = bytes((Cmd.IAC, Cmd.DM))
        plain = self.transport.get_extra_info("ssl_object") is None   # never beside TLS's own stream
        if sock is not None and plain and self.transport.get_write_buffer_size() == 0:
            try:
                with socket.socket(fileno=os.dup(sock.fileno())) as dup:
                    dup.send(wire[:1])
                    wire = wire[1:]
                    dup.send(wire, socket.MSG_OOB)
                return
            except OSError:
                pass   # a full socket: the rest in band below
        self.transport.write(wire)

    def set_suspended(self, suspended: bool) -> None:
        """RFC 2217 flow control from the client: hold its output, losing nothing
        (a writer holds the device meanwhile, as when its socket is full)."""
        self.suspended = suspended
        if not suspended:
            self._drain_pending()
        self.report_reading()

    def message(self, text: str) -> None:
        """A short bracketed notice, for telnet clients and SSH terminals only.

        Raw streams, SSH sessions without a terminal (scripts) and RFC 2217
        clients (esptool, pyserial) get none: their data stream must stay
        exactly what the device sent.
        """
        if self.closed or self.transport is None:
            return
        if self.conn is None:   # issue 11: a person at an SSH terminal (a pty was requested)
            if self.kind == "ssh" and (self.terminal is not None or self.window is not None):
                self.transport.write(f"\r\n[serial-bridge: {text}]\r\n".encode())
            return
        if self.comport is not None:
            return
        self.conn.send_data(f"\r\n[serial-bridge: {text}]\r\n".encode())
        self.flush()

    def send_raw_line(self, text: str) -> None:
        """A line of text without brackets (banner, AYT answer), telnet only."""
        if self.conn is None or self.comport is not None or self.closed:
            return
        self.conn.send_data(text.encode() + b"\r\n")
        self.flush()

    def answer_ayt(self, text: str) -> None:
        """The answer to the client's IAC AYT (RFC 854): one line, to every Telnet client,
        RFC 2217 ones included, since the client asked for it."""
        if self.conn is None or self.closed:
            return
        self.conn.send_data(text.encode() + b"\r\n")
        self.flush()

    def send_command(self, cmd: Cmd) -> None:
        """A Telnet command to the client (IAC BRK for a break from the device)."""
        if self.conn is None or self.closed:
            return
        self.conn.send_command(cmd)
        self.flush()

    def flush(self) -> None:
        """Send what the engine has queued for the wire."""
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
        log.warning("port %s: session %d (%s): not reading for %.0f s, disconnecting",
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
        if self.work:
            self._queue_work(lambda: self.worker.client_data(self, data))
        else:
            self.worker.client_data(self, data)

    def _queue_work(self, job: Callable[[], object]) -> None:
        self.work.append(job)
        if len(self.work) > WORK_LIMIT:
            self.pause_input("work")

    def submit(self, job: Callable[[], object]) -> None:
        """Run ``job`` (sync, or returning an awaitable) after the input before it."""
        self._queue_work(job)
        if self._work_task is None or self._work_task.done():
            self._work_task = asyncio.get_running_loop().create_task(self._run_work())

    async def _run_work(self) -> None:
        while self.work and not self.closed:
            job = self.work[0]
            try:
                result = job()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("port %s: session %d: request failed", self.worker.name, self.id)
            self.work.popleft()
            self.flush()
            if len(self.work) <= WORK_LIMIT // 2:
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
        self.submit(self._answer_timing_mark)

    def _answer_timing_mark(self) -> None:
        """WILL TIMING-MARK at its place in the output (RFC 860: "at the point
        in the return stream" the mark was received): behind the device output
        already queued for this client, which a client flushing output until
        the mark (IAC IP, IAC DO TIMING-MARK) discards; never dropped with it."""
        conn = self.conn
        if conn is None or self.closed or self.transport is None:
            return
        self.flush()   # what the engine holds before the mark goes as before
        conn.answer_timing_mark()
        wire = conn.data_to_send()
        if not wire:
            return
        if self._holds_output:
            self._pending.append(_Answer(wire))
            self._pending_answers += len(wire)
            return
        self.transport.write(wire)

    def set_terminal(self, name: str | None, window: tuple[int, int] | None) -> None:
        """The client's terminal type and size (columns, rows), from an SSH pty request."""
        if name:
            self.terminal = name
        if window is not None:
            self.window = window

    def _on_ttype(self, event: Event) -> None:
        assert isinstance(event, TerminalTypeReceived)
        self.terminal = event.name   # RFC 1091: the type sent last is the one in use
        if event.name not in self.terminal_types and len(self.terminal_types) < MAX_TTYPES:
            self.terminal_types.append(event.name)

    def _on_window(self, event: Event) -> None:
        assert isinstance(event, WindowSizeChanged)
        self.window = (event.width, event.height)

    def _on_closed(self, event: Event) -> None:
        pass

    # ---------------------------------------------------------------- status
    def count_input(self, nbytes: int) -> None:
        """``nbytes`` of this client's input reached the device."""
        self._bytes_in += nbytes

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
            terminal_types=tuple(self.terminal_types), user=self.user, window=self.window,
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
    WindowSizeChanged: ClientSession._on_window,
    ConnectionClosed: ClientSession._on_closed,
}
