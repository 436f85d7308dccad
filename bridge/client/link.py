"""The network side of `connect`: one TCP connection, raw or Telnet through the project's engine.

Theory of operation
-------------------

A ``Link`` owns the socket's stream writer and, for Telnet targets, a
``TelnetConnection`` in the client role. The console feeds it what the
socket read (:meth:`Link.receive`) and gets back the bytes for the screen;
every reply the engine queued (option answers, TTYPE, NAWS) is written at
once. Keyboard bytes go out through :meth:`Link.send` (IAC doubled, a bare CR
sent as CR NUL outside BINARY, RFC 854).

The opening (client side of RFC 1143): we offer WILL TTYPE (when ``$TERM``
is set) and WILL NAWS (when there is a window), and accept the server's WILL
ECHO, WILL SGA, WILL BINARY, DO BINARY and DO or WILL COM-PORT-OPTION. We
offer WILL COM-PORT-OPTION ourselves (RFC 2217: the client offers) at once
only when asked to (an ``rfc2217://`` target, line settings on the command
line); otherwise on the first command that needs it (:meth:`Link.ensure_comport`),
because a serial-bridge port sends an RFC 2217 session no bracketed notices
and no AYT answer, keeping its data stream exact for pyserial. Once COM-PORT
is in force we ask for BINARY both ways, as pyserial's server expects, and
for the current line settings. In a pipe (``binary=True``) BINARY is asked
at once, so bytes pass untouched.

COM-PORT answers arrive as ``ComPortReply`` events; :meth:`Link.comport`
sends one request and waits for the answer with the same command code
(answers come in request order, so waiters are first in, first out). Every
answer and notification also updates :attr:`Link.line`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import ssl
import time
from collections.abc import Callable

from bridge.client.rfc2217 import LineView
from bridge.client.target import Target
from bridge.telnet import (
    Cmd,
    CommandReceived,
    ComPortCmd,
    ComPortReply,
    DataReceived,
    Event,
    Opt,
    OptionDisabled,
    OptionEnabled,
    OptionPolicy,
    OptionRefused,
    Side,
    TelnetConnection,
    TerminalTypeRequested,
    TimingMarkReceived,
    TimingMarkRequested,
)

CLIENT_POLICY = OptionPolicy(
    us=frozenset({Opt.BINARY, Opt.SGA, Opt.TTYPE, Opt.NAWS, Opt.COM_PORT}),
    him=frozenset({Opt.BINARY, Opt.ECHO, Opt.SGA, Opt.STATUS, Opt.COM_PORT}),
)
"""What the client agrees to: ours BINARY, SGA, TTYPE, NAWS, COM-PORT; the server's BINARY, ECHO, SGA, STATUS, COM-PORT."""

WRITE_HIGH_WATER = 256 * 1024
REPLY_TIMEOUT = 3.0  # seconds to wait for a COM-PORT answer


class Link:
    """One connection to the target.

    Args:
        target: where it goes (its ``kind`` picks raw or Telnet).
        writer: the connected stream's writer.
        terminal_type: the name sent for TTYPE (RFC 1091), or None not to offer it.
        window: returns (columns, rows) for NAWS (RFC 1073), or None not to offer it.
        binary: ask for BINARY both ways at once (a pipe: bytes pass untouched).
        comport: offer COM-PORT-OPTION at once rather than on first need.
    """

    def __init__(self, target: Target, writer: asyncio.StreamWriter, *, terminal_type: str | None,
                 window: Callable[[], tuple[int, int]] | None, binary: bool = False,
                 comport: bool = False) -> None:
        self.target = target
        self.writer = writer
        self.terminal_type = terminal_type
        self.window = window
        self.line = LineView()
        self.conn = TelnetConnection(server=False, policy=CLIENT_POLICY) if target.kind != "tcp" else None
        self.bytes_in = 0
        self.bytes_out = 0
        self.connected_at = time.time()
        self.breaks_from_device = 0
        self.data_in = 0  # data bytes received (after Telnet decoding)
        self._marks: collections.deque[asyncio.Future[bool]] = collections.deque()
        self.comport_settled = asyncio.Event()
        self.on_change: Callable[[], None] = lambda: None  # told when the echo/line mode may have changed
        self._waiters: dict[ComPortCmd, collections.deque[asyncio.Future[bytes]]] = (
            collections.defaultdict(collections.deque))
        if self.conn is None:
            self.comport_settled.set()
        self._binary = binary
        self.binary_settled = asyncio.Event()  # both ends of BINARY answered (or not asked for)
        self._binary_answered: set[Side] = set()
        if self.conn is None or not binary:
            self.binary_settled.set()
        self._comport_at_open = comport
        self._comport_asked = comport
        self._comport_refused = False

    # ----------------------------------------------------------------- state
    @property
    def telnet(self) -> bool:
        """True for a Telnet target (False: raw TCP)."""
        return self.conn is not None

    @property
    def comport_active(self) -> bool:
        """True when RFC 2217 is in force."""
        return self.conn is not None and self.conn.comport_active

    @property
    def remote_echo(self) -> bool:
        """True when the server echoes (RFC 857 WILL ECHO in force)."""
        return self.conn is not None and self.conn.is_enabled(Opt.ECHO, Side.HIM)

    @property
    def line_mode(self) -> bool:
        """True for local line mode: Telnet with neither ECHO nor SGA from the server (RFC 858)."""
        conn = self.conn
        return conn is not None and not (conn.is_enabled(Opt.ECHO, Side.HIM) or conn.is_enabled(Opt.SGA, Side.HIM))

    def options_text(self) -> str:
        """The options in force, as ``ours: BINARY NAWS; server's: ECHO SGA``."""
        if self.conn is None:
            return "none (raw TCP)"
        parts = []
        for side, label in ((Side.US, "ours"), (Side.HIM, "server's")):
            names = [opt.name for opt in Opt
                     if opt not in (Opt.EXOPL, Opt.TIMING_MARK) and self.conn.is_enabled(opt, side)]
            parts.append(f"{label}: {' '.join(names) or '-'}")
        return "; ".join(parts)

    # --------------------------------------------------------------- opening
    def open(self) -> None:
        """Send the client's opening negotiation (nothing for raw TCP)."""
        conn = self.conn
        if conn is None:
            return
        if self.terminal_type:
            conn.request_enable(Opt.TTYPE, Side.US)
        if self.window is not None:
            conn.request_enable(Opt.NAWS, Side.US)
        if self._comport_at_open:
            conn.request_enable(Opt.COM_PORT, Side.US)
        if self._binary:
            conn.request_enable(Opt.BINARY, Side.US)
            conn.request_enable(Opt.BINARY, Side.HIM)
        self._flush()

    # ------------------------------------------------------------- receiving
    def receive(self, data: bytes) -> bytes:
        """Take bytes read from the socket; returns what the device said (for the screen)."""
        self.bytes_in += len(data)
        if self.conn is None:
            self.data_in += len(data)
            return data
        out: list[bytes] = []
        for event in self.conn.receive_data(data):
            if type(event) is DataReceived:
                out.append(event.data)
                self.data_in += len(event.data)
            else:
                self._on_event(event)
        self._flush()
        return b"".join(out)

    def _on_event(self, event: Event) -> None:
        conn = self.conn
        assert conn is not None
        if isinstance(event, ComPortReply):
            self.line.update(event.command, event.value)
            waiters = self._waiters.get(event.command)
            while waiters:
                future = waiters.popleft()
                if not future.done():
                    future.set_result(event.value)
                    break
        elif isinstance(event, OptionEnabled):
            self._on_enabled(event.option, event.side)
        elif isinstance(event, (OptionRefused, OptionDisabled)):
            self._binary_answer(event.option, event.side)
            if event.option == Opt.COM_PORT and not conn.comport_active:
                self._comport_refused = True
                self.comport_settled.set()
            self.on_change()
        elif isinstance(event, TerminalTypeRequested) and self.terminal_type:
            conn.send_terminal_type(self.terminal_type)
        elif isinstance(event, TimingMarkReceived):
            while self._marks:
                mark = self._marks.popleft()
                if not mark.done():
                    mark.set_result(event.accepted)
                    break
        elif isinstance(event, TimingMarkRequested):
            conn.answer_timing_mark()  # data before it is on the screen already (RFC 860)
        elif isinstance(event, CommandReceived) and event.command == Cmd.BRK:
            self.breaks_from_device += 1

    def _binary_answer(self, option: int, side: Side) -> None:
        if option == Opt.BINARY:
            self._binary_answered.add(side)
            if len(self._binary_answered) == 2:
                self.binary_settled.set()

    def _on_enabled(self, option: int, side: Side) -> None:
        conn = self.conn
        assert conn is not None
        self._binary_answer(option, side)
        if option == Opt.NAWS and side is Side.US:
            self.send_window_size()
        elif option == Opt.COM_PORT and not self.comport_settled.is_set():
            conn.request_enable(Opt.BINARY, Side.US)
            conn.request_enable(Opt.BINARY, Side.HIM)
            for cmd in (ComPortCmd.SET_BAUDRATE, ComPortCmd.SET_DATASIZE, ComPortCmd.SET_PARITY,
                        ComPortCmd.SET_STOPSIZE):
                self._query(cmd, bytes(4 if cmd is ComPortCmd.SET_BAUDRATE else 1))
            self._query(ComPortCmd.SET_CONTROL, bytes((0,)))  # the flow setting
            self._query(ComPortCmd.SET_MODEMSTATE_MASK, bytes((0xFF,)))
            self.comport_settled.set()
        self.on_change()

    def _query(self, cmd: ComPortCmd, value: bytes) -> None:
        """A request whose answer only updates :attr:`line`; it holds its place among the waiters,
        so that a later request's waiter gets its own answer."""
        assert self.conn is not None
        self._waiters[cmd].append(asyncio.get_running_loop().create_future())
        self.conn.comport_request(cmd, value)

    def send_window_size(self) -> None:
        """Send NAWS with the current window size, when NAWS is in force (RFC 1073)."""
        conn = self.conn
        if conn is None or self.window is None or not conn.is_enabled(Opt.NAWS, Side.US):
            return
        cols, rows = self.window()
        conn.send_window_size(min(cols, 0xFFFF), min(rows, 0xFFFF))
        self._flush()

    # --------------------------------------------------------------- sending
    def send(self, data: bytes) -> None:
        """Send keyboard or file bytes to the device."""
        if not data:
            return
        if self.conn is None:
            self._write(data)
            return
        self.conn.send_data(data)
        self._flush()

    def send_command(self, command: Cmd) -> None:
        """Send a Telnet command (BRK, AYT, IP).

        Raises:
            ValueError: the target is raw TCP, which has no commands.
        """
        if self.conn is None:
            raise ValueError("raw TCP has no Telnet commands")
        self.conn.send_command(command)
        self._flush()

    async def timing_mark(self, timeout: float = REPLY_TIMEOUT) -> bool | None:
        """Send DO TIMING-MARK and wait for the answer (RFC 860): everything the server sent before
        it, in answer to what we sent before it, has then arrived.

        Returns:
            True (WILL) or False (WONT), or None when no answer came within ``timeout`` seconds.

        Raises:
            ValueError: the target is raw TCP.
        """
        if self.conn is None:
            raise ValueError("raw TCP has no Telnet commands")
        mark: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._marks.append(mark)
        self.conn.request_timing_mark()
        self._flush()
        try:
            return await asyncio.wait_for(mark, timeout)
        except TimeoutError:
            return None
        finally:
            with contextlib.suppress(ValueError):
                self._marks.remove(mark)

    def tls_text(self) -> str | None:
        """``TLSv1.3, TLS_AES_256_GCM_SHA384, server CN=...`` over TLS, else None."""
        ssl_object = self.writer.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        cipher = ssl_object.cipher()
        subject = dict(item[0] for item in (ssl_object.getpeercert() or {}).get("subject", ()))
        parts = [str(ssl_object.version()), cipher[0] if cipher else "?"]
        if subject.get("commonName"):
            parts.append(f"server CN={subject['commonName']}")
        return ", ".join(parts)

    async def ensure_comport(self, timeout: float = REPLY_TIMEOUT) -> bool:
        """Offer COM-PORT-OPTION unless it is in force or was refused, and wait for the answer.

        Returns:
            True when RFC 2217 is in force.
        """
        conn = self.conn
        if conn is None:
            return False
        if conn.comport_active or self._comport_refused:
            return conn.comport_active
        if not self._comport_asked:
            self._comport_asked = True
            conn.request_enable(Opt.COM_PORT, Side.US)
            self._flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.comport_settled.wait(), timeout)
        return conn.comport_active

    async def comport(self, cmd: ComPortCmd, value: bytes, timeout: float = REPLY_TIMEOUT) -> bytes | None:
        """Send an RFC 2217 request and wait for its answer.

        Returns:
            The answer's value, or None when none came within ``timeout`` seconds.

        Raises:
            ValueError: RFC 2217 is not in force.
        """
        if self.conn is None or not self.conn.comport_active:
            raise ValueError("RFC 2217 is not in force")
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiters[cmd].append(future)
        self.conn.comport_request(cmd, value)
        self._flush()
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters[cmd].remove(future)

    @property
    def congested(self) -> bool:
        """True while more than the high-water mark waits in the socket's buffer."""
        transport = self.writer.transport
        return bool(transport.get_write_buffer_size() > WRITE_HIGH_WATER)

    def _flush(self) -> None:
        if self.conn is not None:
            out = self.conn.data_to_send()
            if out:
                self._write(out)

    def _write(self, data: bytes) -> None:
        if self.writer.is_closing():
            return
        self.bytes_out += len(data)
        self.writer.write(data)


def tls_reason(exc: ssl.SSLError) -> str:
    """OpenSSL's reason, readable: ``wrong version number``, ``the server's alert: certificate required``."""
    reason = str(exc.reason or exc).replace("_", " ").lower()
    alert = re.match(r"(sslv3|tlsv1\d*) alert ", reason)  # OpenSSL names the alert by the version that added it
    if alert:
        reason = "the server's alert: " + reason[alert.end():]
    return reason
