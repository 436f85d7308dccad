"""Events: the facts :meth:`TelnetConnection.receive_data` reports.

Each event is a frozen, slotted, keyword-only dataclass on the empty
:class:`Event` base; no concrete event is subclassed.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.telnet.constants import Cmd, ComPortCmd, Side


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base class of every event."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataReceived(Event):
    """Application data, unescaped; NVT end-of-line already applied outside BINARY."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandReceived(Event):
    """A bare command: NOP, DM, BRK, IP, AO, AYT, EC, EL or GA."""

    command: Cmd


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionEnabled(Event):
    """An option came into force on one side."""

    option: int
    side: Side


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionDisabled(Event):
    """An option that was in force on one side is not any more."""

    option: int
    side: Side


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionRefused(Event):
    """The peer refused our own request to enable an option."""

    option: int
    side: Side


@dataclass(frozen=True, slots=True, kw_only=True)
class TimingMarkRequested(Event):
    """The peer sent DO TIMING-MARK: handle the data before it, then call answer_timing_mark()."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TimingMarkReceived(Event):
    """The peer answered our TIMING-MARK request (``accepted`` is False for WONT)."""

    accepted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminalTypeReceived(Event):
    """The peer told its terminal type (RFC 1091 IS)."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminalTypeRequested(Event):
    """The peer asked for our terminal type (RFC 1091 SEND); answer with send_terminal_type()."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowSizeChanged(Event):
    """The peer's window size (RFC 1073); 0 means unknown."""

    width: int
    height: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReceived(Event):
    """The peer's view of the options (RFC 859 IS): what it WILL do, and what it asks us to DO."""

    will: frozenset[int]
    do: frozenset[int]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureReceived(Event):
    """RFC 2217 SIGNATURE from the client; empty ``text`` asks for ours."""

    text: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class BaudRateRequested(Event):
    """RFC 2217 SET-BAUDRATE; 0 asks for the current rate."""

    baud: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSizeRequested(Event):
    """RFC 2217 SET-DATASIZE (5..8); 0 asks for the current size."""

    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ParityRequested(Event):
    """RFC 2217 SET-PARITY (1 none, 2 odd, 3 even, 4 mark, 5 space); 0 asks."""

    parity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StopSizeRequested(Event):
    """RFC 2217 SET-STOPSIZE (1 one, 2 two, 3 one and a half); 0 asks."""

    stopsize: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlRequested(Event):
    """RFC 2217 SET-CONTROL: flow control, break, DTR or RTS, or a query of one."""

    value: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LineStateMaskRequested(Event):
    """RFC 2217 SET-LINESTATE-MASK."""

    mask: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModemStateMaskRequested(Event):
    """RFC 2217 SET-MODEMSTATE-MASK."""

    mask: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PurgeRequested(Event):
    """RFC 2217 PURGE-DATA (1 receive buffer, 2 transmit buffer, 3 both)."""

    value: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowControlSuspended(Event):
    """RFC 2217 FLOWCONTROL-SUSPEND: the client asks us to stop sending data."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowControlResumed(Event):
    """RFC 2217 FLOWCONTROL-RESUME: the client is ready for data again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineStateNotified(Event):
    """RFC 2217 NOTIFY-LINESTATE from the client (pyserial sends it empty, as a poll: state 0)."""

    state: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModemStateNotified(Event):
    """RFC 2217 NOTIFY-MODEMSTATE from the client (pyserial sends it empty, as a poll: state 0)."""

    state: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ComPortReply(Event):
    """Client role: a server's COM-PORT answer; ``command`` is given without the +100."""

    command: ComPortCmd
    value: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolViolation(Event):
    """Bad input that was ignored (and counted); the engine carries on."""

    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed(Event):
    """The peer closed its side of the stream (``receive_data(b"")``)."""
