"""TelnetConnection: the one object that glues parser, options and codecs.

Data flow (after h2): ``receive_data(bytes)`` returns a list of events and may
queue automatic replies (option answers, STATUS IS); every outgoing action is
a method; ``data_to_send()`` drains what is queued. Nothing here does I/O.

End of line (RFC 854, "THE NVT PRINTER AND KEYBOARD"): in a direction where
BINARY (RFC 856) is not in force, "the sequence CR NUL must be used where a
carriage return alone is actually desired", and CR is to be followed by LF or
NUL. On receipt CR NUL becomes CR and CR LF stays CR LF. A CR is delivered
at once, even when it ends a read: the engine never holds data bytes waiting
for more input (conserver and many scripts send Enter as a bare CR and wait for
the answer). When the data so far ends in CR, the next data byte is judged by
state: a NUL is dropped, an LF passes on, anything else is counted. A CR
followed by anything else is delivered as received and counted as
``bad_eol``. On sending, a bare CR becomes CR NUL. A CR at the end of one
``send_data`` call and an LF at the start of the next go out as CR NUL LF,
which a receiver decodes back to CR LF.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields

from bridge.telnet import comport, status, terminal
from bridge.telnet.constants import (
    CR,
    CR_CODE,
    CR_LF,
    CR_NUL,
    IAC_BYTE,
    IAC_CODE,
    IAC_IAC,
    IS,
    SEND,
    SERVER_OFFSET,
    SYNCH,
    Cmd,
    ComPortCmd,
    Opt,
    Side,
)
from bridge.telnet.errors import LocalProtocolError
from bridge.telnet.events import (
    CommandReceived,
    ConnectionClosed,
    DataReceived,
    Event,
    OptionDisabled,
    OptionEnabled,
    OptionRefused,
    ProtocolViolation,
    StatusReceived,
    TerminalTypeReceived,
    TerminalTypeRequested,
    TimingMarkReceived,
    TimingMarkRequested,
    WindowSizeChanged,
)
from bridge.telnet.options import REPLY_VERB, VERB_INPUT, Input, Note, OptionTable, Q, Reply
from bridge.telnet.parser import (
    AnomalyToken,
    NegotiationToken,
    Parser,
    SubnegToken,
    Token,
)

_SENDABLE_COMMANDS = frozenset(
    {Cmd.NOP, Cmd.DM, Cmd.BRK, Cmd.IP, Cmd.AO, Cmd.AYT, Cmd.EC, Cmd.EL, Cmd.GA}
)
_CR_NOT_LF = re.compile(b"\r(?=([^\n]))")  # look ahead: in CR CR the second CR is checked too
_BARE_CR = re.compile(b"\r(?!\n)")
_SHORT = 256  # bytes: a keystroke-sized send_data() (see send_data)
_COMPORT_CODES = frozenset(int(c) for c in ComPortCmd)
MAX_TERMINAL_TYPES = 16
"""How many distinct terminal types one connection remembers (RFC 1091 cycling)."""
TERMINAL_TYPE_ASKS = 8
"""The most SEND requests one round of :attr:`OptionPolicy.ask_terminal_type` sends (RFC 1091)."""


@dataclass(frozen=True, slots=True)
class OptionPolicy:
    """Which requests of the peer we agree to; anything else is refused (WONT/DONT).

    Attributes:
        us: options we agree to enable on our side when the peer sends DO.
        him: options we agree to let the peer enable when it sends WILL.
        ask_terminal_type: when the peer's WILL TERMINAL-TYPE comes into force,
            ask for its terminal types (RFC 1091): send SEND, and after each
            IS send SEND again until a name comes back that this round already
            had (the list ended or cycled) or :data:`TERMINAL_TYPE_ASKS` SENDs
            went out. Off by default (the client role never needs it).

    EXOPL (RFC 861) is always refused, whatever the policy says.
    """

    us: frozenset[int]
    him: frozenset[int]
    ask_terminal_type: bool = False


DEFAULT_SERVER_POLICY = OptionPolicy(
    us=frozenset({Opt.BINARY, Opt.ECHO, Opt.SGA, Opt.STATUS, Opt.COM_PORT}),
    him=frozenset({Opt.BINARY, Opt.SGA, Opt.TTYPE, Opt.NAWS, Opt.COM_PORT}),
)
"""What a serial-bridge Telnet listener accepts (INTERFACE.md, "Wire behaviour")."""


@dataclass(frozen=True, slots=True)
class Anomalies:
    """Counters of the peer's bad input, as a frozen snapshot.

    Attributes:
        unknown_commands: IAC followed by a byte that is no command (0..239).
        stray_se: IAC SE outside a sub-negotiation.
        subneg_overflows: sub-negotiations longer than the limit, discarded.
        malformed_subnegs: sub-negotiations cut short or with a bad payload.
        bad_eol: CR followed by neither LF nor NUL in a non-BINARY direction.
        negotiation_errors: RFC 1143 errors ("DONT answered by WILL").
        unsolicited_subnegs: sub-negotiations for an option not in force.
        truncated: the stream ended inside a command or sub-negotiation.
        total: the sum of all the above.
    """

    unknown_commands: int = 0
    stray_se: int = 0
    subneg_overflows: int = 0
    malformed_subnegs: int = 0
    bad_eol: int = 0
    negotiation_errors: int = 0
    unsolicited_subnegs: int = 0
    truncated: int = 0
    total: int = 0


_COUNTERS = tuple(f.name for f in fields(Anomalies) if f.name != "total")


def _check_option(option: int) -> int:
    if not isinstance(option, int) or not 0 <= option <= 0xFF:
        raise LocalProtocolError(f"option code must be 0..255, not {option!r}")
    if option == Opt.EXOPL:
        raise LocalProtocolError("EXOPL (RFC 861) is not supported")
    if option == Opt.TIMING_MARK:
        raise LocalProtocolError("use request_timing_mark() and answer_timing_mark() for TIMING-MARK")
    return option


class TelnetConnection:
    """A sans-IO Telnet endpoint (RFC 854/855, RFC 1143 negotiation).

    Args:
        server: True for the server role (decodes RFC 2217 requests, sends
            answers); False for the client role (decodes answers).
        policy: which options the peer may switch on, on each side.
        subneg_limit: the most bytes one sub-negotiation may carry; a longer one
            is discarded and counted.
    """

    def __init__(self, *, server: bool = True, policy: OptionPolicy, subneg_limit: int = 4096) -> None:
        if subneg_limit < 1:
            raise LocalProtocolError(f"subneg_limit must be at least 1, not {subneg_limit}")
        self._server = server
        self._policy = policy
        self._parser = Parser(subneg_limit)
        self._options = OptionTable()
        self._out: list[bytes] = []
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._after_cr = False  # the data so far ends in a CR already delivered
        # The keystroke path (receive_data, send_data) reads these plain attributes
        # instead of asking the parser and the option table on every call.
        self._idle = True  # no command sequence is pending and the stream is open
        self._peer_binary = False  # BINARY in force from the peer (RFC 856)
        self._our_binary = False  # BINARY in force from us
        self._closed = False
        self._marks_pending = 0
        self._terminal_types: list[str] = []
        self._ttype_round: list[str] | None = None  # names of the RFC 1091 round under way, None when not asking

    # ------------------------------------------------------------------ state

    @property
    def server(self) -> bool:
        """True in the server role."""
        return self._server

    @property
    def input_plain(self) -> bool:
        """True when a read with no IAC and no CR is application data exactly as it
        is: no command sequence pending (RFC 854), no CR waiting for its follower,
        the stream open. :meth:`receive_app_data` would return such a read itself.

        It changes only when input is received (:meth:`receive_data`,
        :meth:`receive_app_data`), so a caller may keep its value from one read
        to the next and pass plain reads on without calling the engine.
        """
        return self._idle and not self._after_cr

    @property
    def output_queue(self) -> list[bytes]:
        """What waits for :meth:`data_to_send`: the same list object for the
        connection's life, empty when nothing waits. Read it, never change it.
        While it is empty, a read with no IAC and no CR is sent as it is
        (:meth:`encode` would return it), so a caller may check it and send such
        reads without calling the engine.
        """
        return self._out

    @property
    def peer_binary(self) -> bool:
        """True when BINARY is in force from the peer to us (RFC 856)."""
        return self._peer_binary

    @property
    def our_binary(self) -> bool:
        """True when BINARY is in force from us to the peer (RFC 856)."""
        return self._our_binary

    @property
    def comport_active(self) -> bool:
        """True when COM-PORT-OPTION (RFC 2217) is in force on either side."""
        return self._options.is_enabled(Opt.COM_PORT, Side.HIM) or self._options.is_enabled(
            Opt.COM_PORT, Side.US
        )

    @property
    def terminal_types(self) -> tuple[str, ...]:
        """The distinct terminal types the peer has named so far (RFC 1091), oldest first."""
        return tuple(self._terminal_types)

    @property
    def anomalies(self) -> Anomalies:
        """A snapshot of the bad-input counters."""
        return Anomalies(**self._counts, total=sum(self._counts.values()))

    def is_enabled(self, option: int, side: Side) -> bool:
        """True when one end of an option is in force.

        Args:
            option: the option code.
            side: ``Side.US`` for our WILL, ``Side.HIM`` for the peer's.
        """
        return self._options.is_enabled(option, side)

    # --------------------------------------------------------------- receiving

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the peer; ``b""`` means the peer closed its side.

        Never raises on any input: bad input becomes ``ProtocolViolation``
        events and counters. Replies it queues are read with :meth:`data_to_send`.

        Args:
            data: the bytes just read.

        Returns:
            The events, in stream order. Data is split into ``DataReceived``
            events only where a non-data event comes between.
        """
        run = self.receive_app_data(data)   # the keystroke path: no parsing needed
        if run is not None:
            return [DataReceived(data=run)] if run else []
        return self._receive(data)

    def receive_app_data(self, data: bytes) -> bytes | None:
        """The keystroke path of :meth:`receive_data`, without an event object.

        When nothing is pending in the parser and ``data`` holds no IAC, the
        read is application data only: it is returned with the receiving
        end-of-line rule applied (RFC 854, "The NVT printer and keyboard": a
        CR NUL gives CR; outside BINARY), and nothing is queued for
        :meth:`data_to_send`. Otherwise nothing is consumed and ``None`` is
        returned: the caller passes the same ``data`` to :meth:`receive_data`.

        Args:
            data: the bytes just read (``bytes``; anything else, and ``b""``,
                gives ``None``).

        Returns:
            The application bytes (possibly ``b""``: a lone NUL after a CR), the
            very object passed in when no rule changed it; or ``None``.
        """
        # No command pending and no IAC in the read: the parser has nothing to
        # do; outside BINARY only a CR needs the EOL rule.
        if self._idle and IAC_CODE not in data and data and type(data) is bytes:
            if self._peer_binary or (CR_CODE not in data and not self._after_cr):
                return data
            return self._inbound(data)
        return None

    def _receive(self, data: bytes) -> list[Event]:
        """``receive_data`` for any input: through the parser, token by token."""
        if self._closed:
            return []
        if not data:
            return self._close()
        if type(data) is not bytes:
            data = bytes(data)  # a bytearray or memoryview from the I/O layer: events carry bytes
        events: list[Event] = []
        pending: list[bytes] = []
        for token in self._parser.feed(data):
            if type(token) is bytes:
                piece = token
                if not self._peer_binary and (self._after_cr or CR_CODE in piece):
                    piece = self._inbound(piece)
                if piece:
                    pending.append(piece)
                continue
            if pending:
                events.append(DataReceived(data=b"".join(pending)))
                pending = []
            _TOKEN_HANDLERS[type(token)](self, token, events)
        if pending:
            events.append(DataReceived(data=b"".join(pending)))
        self._idle = not self._parser.pending
        return events

    def _close(self) -> list[Event]:
        self._closed = True
        self._idle = False
        events: list[Event] = []
        self._after_cr = False
        if self._parser.pending:
            self._counts["truncated"] += 1
            events.append(ProtocolViolation(detail="connection closed inside a command"))
        events.append(ConnectionClosed())
        return events

    def _inbound(self, run: bytes) -> bytes:
        """Apply the receiving end-of-line rule to one data run; nothing is held back."""
        if self._peer_binary:
            return run
        if self._after_cr:
            self._after_cr = False
            first = run[0]
            if first == 0x00:  # the NUL of a CR NUL cut by a read or a command
                run = run[1:]
                if not run:
                    return run
            elif first != 0x0A:
                self._counts["bad_eol"] += 1
        if CR_CODE not in run:
            return run
        followers = _CR_NOT_LF.findall(run)  # the byte after each CR not followed by LF
        if run[-1] == 0x0D:  # delivered now; its follower is judged when it comes
            self._after_cr = True
        if not followers:
            return run
        escaped = followers.count(b"\x00")
        if escaped < len(followers):
            self._counts["bad_eol"] += len(followers) - escaped
        return run.replace(CR_NUL, CR) if escaped else run

    def _on_command(self, token: Cmd, events: list[Event]) -> None:
        events.append(CommandReceived(command=token))

    def _on_anomaly(self, token: AnomalyToken, events: list[Event]) -> None:
        self._counts[token.kind.value] += 1
        events.append(ProtocolViolation(detail=token.detail))

    def _on_negotiation(self, token: NegotiationToken, events: list[Event]) -> None:
        option = token.option
        if option == Opt.TIMING_MARK:
            self._on_timing_mark(token.verb, events)
            return
        side, event = VERB_INPUT[token.verb]
        allowed = option != Opt.EXOPL and option in (
            self._policy.us if side is Side.US else self._policy.him
        )
        before = self._options.is_enabled(option, side)
        step = self._options.step(option, side, event, allowed=allowed)
        if option == Opt.BINARY:
            self._binary_changed()
        if step.reply is not Reply.NONE:
            self._negotiate(REPLY_VERB[(side, step.reply)], option)
        if step.note is Note.REFUSED:
            events.append(OptionRefused(option=option, side=side))
        elif step.note is Note.PEER_ERROR:
            self._counts["negotiation_errors"] += 1
            verb = token.verb.name
            events.append(ProtocolViolation(detail=f"{verb} {option} answered our request to disable"))
        after = self._options.is_enabled(option, side)
        if after and not before:
            events.append(OptionEnabled(option=option, side=side))
            if option == Opt.TTYPE and side is Side.HIM and self._policy.ask_terminal_type:
                self._ttype_round = []  # RFC 1091: SEND only once WILL TERMINAL-TYPE is in force
                self._out.append(terminal.encode_ttype_send())
        elif before and not after:
            events.append(OptionDisabled(option=option, side=side))
            if option == Opt.TTYPE and side is Side.HIM:
                self._ttype_round = None

    def _on_timing_mark(self, verb: Cmd, events: list[Event]) -> None:
        """RFC 860: TIMING-MARK is answered, never kept in force."""
        if verb is Cmd.DO:
            events.append(TimingMarkRequested())
        elif verb is Cmd.DONT:
            return
        elif self._marks_pending:
            self._marks_pending -= 1
            events.append(TimingMarkReceived(accepted=verb is Cmd.WILL))
        elif verb is Cmd.WILL:
            self._negotiate(Cmd.DONT, Opt.TIMING_MARK)  # unasked: refuse, as for any option

    def _on_subneg(self, token: SubnegToken, events: list[Event]) -> None:
        option = token.option
        handler = _SUBNEG_HANDLERS.get(option)
        in_force = self._options.is_enabled(option, Side.HIM) or self._options.is_enabled(option, Side.US)
        if not in_force and handler is not None and self._withdrawing(option):
            return   # the peer sent it before our WONT/DONT reached it (RFC 1143 race): not its fault
        if handler is None or not in_force:
            self._counts["unsolicited_subnegs"] += 1
            why = "not in force" if not in_force else "not supported"
            events.append(ProtocolViolation(detail=f"sub-negotiation for option {option} {why}, ignored"))
            return
        problem = handler(self, token.payload, events)
        if problem:
            self._counts["malformed_subnegs"] += 1
            events.append(ProtocolViolation(detail=problem))

    def _withdrawing(self, option: int) -> bool:
        """We asked to disable ``option`` on either side and wait for the answer (RFC 1143 WANTNO)."""
        return any(self._options.state(option, side) in (Q.WANTNO, Q.WANTNO_OPPOSITE)
                   for side in (Side.US, Side.HIM))

    def _on_ttype(self, payload: bytes, events: list[Event]) -> str | None:
        verb = payload[:1]
        if verb == bytes((SEND,)) and len(payload) == 1 and self._options.is_enabled(Opt.TTYPE, Side.US):
            events.append(TerminalTypeRequested())
            return None
        name = terminal.decode_ttype_is(payload[1:]) if verb == bytes((IS,)) else None
        if name is None or not self._options.is_enabled(Opt.TTYPE, Side.HIM):
            return f"TERMINAL-TYPE sub-negotiation not understood: {payload[:16]!r}"
        if name not in self._terminal_types and len(self._terminal_types) < MAX_TERMINAL_TYPES:
            self._terminal_types.append(name)
        events.append(TerminalTypeReceived(name=name))
        asked = self._ttype_round
        if asked is not None:
            # RFC 1091: the client sends its last type again at the end of its
            # list (and starts over on the next SEND); names are case-insensitive.
            key = name.upper()
            if key in asked or len(asked) + 1 >= TERMINAL_TYPE_ASKS:
                self._ttype_round = None
            else:
                asked.append(key)
                self._out.append(terminal.encode_ttype_send())
        return None

    def _on_naws(self, payload: bytes, events: list[Event]) -> str | None:
        size = terminal.decode_naws(payload)
        if size is None:
            return f"NAWS with {len(payload)} bytes instead of 4"
        events.append(WindowSizeChanged(width=size[0], height=size[1]))
        return None

    def _on_status(self, payload: bytes, events: list[Event]) -> str | None:
        if payload == bytes((SEND,)) and self._options.is_enabled(Opt.STATUS, Side.US):
            # RFC 859: the IS lists what we perform (WILL) and what the peer performs (DO).
            ours = self._options.enabled(Side.US)
            his = self._options.enabled(Side.HIM)
            self._out.append(status.encode_is(ours, his))
            return None
        if payload[:1] == bytes((IS,)) and self._options.is_enabled(Opt.STATUS, Side.HIM):
            decoded = status.decode_is(payload[1:])
            if isinstance(decoded, str):
                return decoded
            events.append(StatusReceived(will=decoded[0], do=decoded[1]))
            return None
        return f"STATUS sub-negotiation not understood: {payload[:16]!r}"

    def _on_comport(self, payload: bytes, events: list[Event]) -> str | None:
        decoded = comport.decode_request(payload) if self._server else comport.decode_reply(payload)
        if isinstance(decoded, str):
            return decoded
        events.append(decoded)
        return None

    # ----------------------------------------------------------------- sending

    def data_to_send(self) -> bytes:
        """Drain and return every byte queued for the peer (``b""`` when none)."""
        out = self._out
        if not out:
            return b""
        wire = out[0] if len(out) == 1 else b"".join(out)
        out.clear()   # the same list: output_queue
        return wire

    def send_data(self, data: bytes) -> None:
        """Queue application data: IAC doubled; a bare CR becomes CR NUL unless our side is BINARY.

        Args:
            data: the bytes to send, as the application means them.
        """
        if not data:
            return
        if type(data) is not bytes:
            data = bytes(data)
        if IAC_CODE in data:
            data = data.replace(IAC_BYTE, IAC_IAC)
        # Outside BINARY a bare CR becomes CR NUL. In a short read whose every CR
        # is part of a CR LF (a device's usual line end), two counts say so
        # cheaper than the regex; in a long one the two-byte count costs more.
        if CR_CODE in data and not self._our_binary:
            if len(data) > _SHORT or data.count(CR) != data.count(CR_LF):
                data = _BARE_CR.sub(CR_NUL, data)
        self._out.append(data)

    def encode(self, data: bytes) -> bytes:
        """``send_data(data)`` then ``data_to_send()``, in one call: the keystroke path for output.

        Args:
            data: application data (for the bridge, a device read), as for :meth:`send_data`.

        Returns:
            Everything queued before (negotiation answers, notifications), then
            ``data`` with IAC doubled and, unless our side is BINARY, a bare CR
            as CR NUL; ``b""`` when there is nothing. Nothing is left queued. A
            read with no IAC and no CR, with nothing queued, comes back as the
            same object.
        """
        if type(data) is not bytes:
            data = bytes(data)
        if IAC_CODE in data:
            data = data.replace(IAC_BYTE, IAC_IAC)
        if CR_CODE in data and not self._our_binary:
            if len(data) > _SHORT or data.count(CR) != data.count(CR_LF):
                data = _BARE_CR.sub(CR_NUL, data)
        out = self._out
        if not out:
            return data
        if data:
            out.append(data)
        wire = out[0] if len(out) == 1 else b"".join(out)
        out.clear()   # the same list: output_queue
        return wire

    def synch(self) -> tuple[bytes, bytes]:
        """Prepare a Synch (RFC 854, "The Synch"), for example to answer IAC AO.

        RFC 854: "the Synch signal ... should be sent" after the server has
        discarded output for an Abort Output; it is the DM command sent with
        the TCP urgent notification, DM being the urgent byte.

        Returns:
            ``(in_band, urgent)``: ``in_band`` is everything queued so far (what
            :meth:`data_to_send` would return, possibly ``b""``), to be sent
            normally first; ``urgent`` is :data:`SYNCH` (``IAC DM``, 2 bytes), to be
            sent after it in one call with ``socket.MSG_OOB``. Nothing is left queued.
        """
        return self.data_to_send(), SYNCH

    def send_command(self, cmd: Cmd) -> None:
        """Queue a bare command (NOP, DM, BRK, IP, AO, AYT, EC, EL or GA).

        Raises:
            LocalProtocolError: for SE, SB, WILL, WONT, DO, DONT or IAC.
        """
        if cmd not in _SENDABLE_COMMANDS:
            raise LocalProtocolError(f"{cmd!r} is not a bare command; use the matching method")
        self._out.append(bytes((Cmd.IAC, cmd)))

    def _negotiate(self, verb: Cmd, option: int) -> None:
        self._out.append(bytes((Cmd.IAC, verb, option)))

    def _binary_changed(self) -> None:
        """Refresh the BINARY flags the keystroke path reads (RFC 856)."""
        self._peer_binary = self._options.is_enabled(Opt.BINARY, Side.HIM)
        self._our_binary = self._options.is_enabled(Opt.BINARY, Side.US)
        if self._peer_binary:
            self._after_cr = False  # a NUL from a BINARY peer is data

    def _request(self, option: int, side: Side, event: Input) -> None:
        step = self._options.step(_check_option(option), side, event, allowed=False)
        if option == Opt.BINARY:
            self._binary_changed()
        if step.reply is not Reply.NONE:
            self._negotiate(REPLY_VERB[(side, step.reply)], option)

    def request_enable(self, option: int, side: Side) -> None:
        """Ask to enable an option: WILL (``Side.US``) or DO (``Side.HIM``), sent only when needed.

        Nothing is sent when the option is already in force or a request is
        already out; a request made while a disable is pending is queued
        (RFC 1143). Success or refusal arrives as an event.

        Raises:
            LocalProtocolError: for an option code out of range, EXOPL or TIMING-MARK.
        """
        self._request(option, side, Input.ASK_YES)

    def request_disable(self, option: int, side: Side) -> None:
        """Ask to disable an option: WONT (``Side.US``) or DONT (``Side.HIM``), sent only when needed.

        The option stops being in force at once (the peer must accept).

        Raises:
            LocalProtocolError: for an option code out of range, EXOPL or TIMING-MARK.
        """
        self._request(option, side, Input.ASK_NO)

    def answer_timing_mark(self) -> None:
        """Answer a :class:`TimingMarkRequested` with WILL TIMING-MARK (RFC 860)."""
        self._negotiate(Cmd.WILL, Opt.TIMING_MARK)

    def request_timing_mark(self) -> None:
        """Send DO TIMING-MARK; the answer arrives as :class:`TimingMarkReceived`."""
        self._marks_pending += 1
        self._negotiate(Cmd.DO, Opt.TIMING_MARK)

    def request_terminal_type(self) -> None:
        """Send ``IAC SB TTYPE SEND IAC SE`` (RFC 1091).

        Raises:
            LocalProtocolError: unless the peer has agreed to WILL TTYPE.
        """
        self._require(Opt.TTYPE, Side.HIM)
        self._out.append(terminal.encode_ttype_send())

    def send_terminal_type(self, name: str) -> None:
        """Answer a :class:`TerminalTypeRequested` with ``IS name`` (RFC 1091).

        Raises:
            LocalProtocolError: unless TTYPE is in force on our side, or for a bad name.
        """
        self._require(Opt.TTYPE, Side.US)
        self._out.append(terminal.encode_ttype_is(name))

    def send_window_size(self, width: int, height: int) -> None:
        """Send our window size (RFC 1073).

        Raises:
            LocalProtocolError: unless NAWS is in force on our side, or for sizes out of 0..65535.
        """
        self._require(Opt.NAWS, Side.US)
        self._out.append(terminal.encode_naws(width, height))

    def request_status(self) -> None:
        """Send ``IAC SB STATUS SEND IAC SE`` (RFC 859); the answer is a :class:`StatusReceived`.

        Raises:
            LocalProtocolError: unless the peer has agreed to WILL STATUS.
        """
        self._require(Opt.STATUS, Side.HIM)
        self._out.append(bytes((Cmd.IAC, Cmd.SB, Opt.STATUS, SEND, Cmd.IAC, Cmd.SE)))

    def _require(self, option: Opt, side: Side) -> None:
        if not self._options.is_enabled(option, side):
            verb = "WILL" if side is Side.US else "DO"
            raise LocalProtocolError(f"{option.name} is not in force ({verb} {option.name} not agreed)")

    # ------------------------------------------------------ RFC 2217 (server)

    def _answer(self, cmd: ComPortCmd, value: bytes) -> None:
        if not self._server:
            raise LocalProtocolError("COM-PORT answers are for the server role")
        self._out.append(comport.encode(cmd + SERVER_OFFSET, value))

    def ack_signature(self, text: bytes) -> None:
        """Answer SIGNATURE (code 100) with our signature text."""
        self._answer(ComPortCmd.SIGNATURE, bytes(text))

    def ack_baud_rate(self, baud: int) -> None:
        """Answer SET-BAUDRATE (101) with the rate in force, four bytes big-endian."""
        self._answer(ComPortCmd.SET_BAUDRATE, comport.baud_value(baud))

    def ack_data_size(self, size: int) -> None:
        """Answer SET-DATASIZE (102) with the data size in force."""
        self._answer(ComPortCmd.SET_DATASIZE, comport.one_byte("data size", size))

    def ack_parity(self, parity: int) -> None:
        """Answer SET-PARITY (103) with the parity in force."""
        self._answer(ComPortCmd.SET_PARITY, comport.one_byte("parity", parity))

    def ack_stop_size(self, stopsize: int) -> None:
        """Answer SET-STOPSIZE (104) with the stop size in force."""
        self._answer(ComPortCmd.SET_STOPSIZE, comport.one_byte("stop size", stopsize))

    def ack_control(self, value: int) -> None:
        """Answer SET-CONTROL (105) with the state in force."""
        self._answer(ComPortCmd.SET_CONTROL, comport.one_byte("control value", value))

    def ack_linestate_mask(self, mask: int) -> None:
        """Answer SET-LINESTATE-MASK (110) with the mask in force."""
        self._answer(ComPortCmd.SET_LINESTATE_MASK, comport.one_byte("line state mask", mask))

    def ack_modemstate_mask(self, mask: int) -> None:
        """Answer SET-MODEMSTATE-MASK (111) with the mask in force."""
        self._answer(ComPortCmd.SET_MODEMSTATE_MASK, comport.one_byte("modem state mask", mask))

    def ack_purge(self, value: int) -> None:
        """Answer PURGE-DATA (112) with the buffers purged."""
        self._answer(ComPortCmd.PURGE_DATA, comport.one_byte("purge value", value))

    def notify_linestate(self, state: int) -> None:
        """Send NOTIFY-LINESTATE (106) with the line state bits."""
        self._answer(ComPortCmd.NOTIFY_LINESTATE, comport.one_byte("line state", state))

    def notify_modemstate(self, state: int) -> None:
        """Send NOTIFY-MODEMSTATE (107) with the modem state bits."""
        self._answer(ComPortCmd.NOTIFY_MODEMSTATE, comport.one_byte("modem state", state))

    def suspend_flow(self) -> None:
        """Send FLOWCONTROL-SUSPEND (108): ask the client to stop sending data."""
        self._answer(ComPortCmd.FLOWCONTROL_SUSPEND, b"")

    def resume_flow(self) -> None:
        """Send FLOWCONTROL-RESUME (109): the client may send data again."""
        self._answer(ComPortCmd.FLOWCONTROL_RESUME, b"")

    def comport_request(self, cmd: ComPortCmd, value: bytes) -> None:
        """Client role: send a COM-PORT request (code 0..12) with a raw value.

        Raises:
            LocalProtocolError: in the server role.
        """
        if self._server:
            raise LocalProtocolError("COM-PORT requests are for the client role")
        if cmd not in _COMPORT_CODES:
            raise LocalProtocolError(f"COM-PORT request code must be 0..12, not {cmd!r}")
        self._out.append(comport.encode(cmd, bytes(value)))


_TokenHandler = Callable[[TelnetConnection, Token, list[Event]], None]
_TOKEN_HANDLERS: dict[type, _TokenHandler] = {
    Cmd: TelnetConnection._on_command,  # type: ignore[dict-item]
    AnomalyToken: TelnetConnection._on_anomaly,  # type: ignore[dict-item]
    NegotiationToken: TelnetConnection._on_negotiation,  # type: ignore[dict-item]
    SubnegToken: TelnetConnection._on_subneg,  # type: ignore[dict-item]
}

_SubnegHandler = Callable[[TelnetConnection, bytes, list[Event]], "str | None"]
_SUBNEG_HANDLERS: dict[int, _SubnegHandler] = {
    Opt.TTYPE: TelnetConnection._on_ttype,
    Opt.NAWS: TelnetConnection._on_naws,
    Opt.STATUS: TelnetConnection._on_status,
    Opt.COM_PORT: TelnetConnection._on_comport,
}
