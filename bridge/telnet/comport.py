"""COM-PORT-OPTION (RFC 2217): decoding requests and answers, encoding them.

Theory of operation
-------------------

A COM-PORT sub-negotiation is ``IAC SB COM-PORT-OPTION <command> <value>
IAC SE``. The client sends commands 0..12; the server answers each with the
same command plus 100 (:data:`SERVER_OFFSET`) and the value it actually
applied, and sends NOTIFY-LINESTATE (106), NOTIFY-MODEMSTATE (107) and
FLOWCONTROL-SUSPEND/RESUME (108/109) on its own. Values are one byte, except
SET-BAUDRATE's four bytes in network order, SIGNATURE's free text and the two
FLOWCONTROL commands, which carry none. A value of 0 in a SET command asks
for the current setting (RFC 2217: "the access server will respond with the
current ... value").

The engine only translates: a server engine turns each request into a typed
event and never touches a device (pyserial's ``PortManager`` changes the port
inside its parser; we leave that to the port worker, which then calls the
matching ``ack_*`` method with the value it applied).

Leniency: pyserial's client polls with NOTIFY-LINESTATE and NOTIFY-MODEMSTATE
carrying no value; those decode with state 0. Anything else with a value of
the wrong length is malformed and reported, never guessed at.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from bridge.telnet.constants import IAC_BYTE, IAC_IAC, SERVER_OFFSET, Cmd, ComPortCmd, Opt
from bridge.telnet.errors import LocalProtocolError
from bridge.telnet.events import (
    BaudRateRequested,
    ComPortReply,
    ControlRequested,
    DataSizeRequested,
    Event,
    FlowControlResumed,
    FlowControlSuspended,
    LineStateMaskRequested,
    LineStateNotified,
    ModemStateMaskRequested,
    ModemStateNotified,
    ParityRequested,
    PurgeRequested,
    SignatureReceived,
    StopSizeRequested,
)

_PREFIX = bytes((Cmd.IAC, Cmd.SB, Opt.COM_PORT))
_SUFFIX = bytes((Cmd.IAC, Cmd.SE))

# For each request: the value lengths it may have (None: any) and how to build its event.
_Decoder = tuple[frozenset[int] | None, Callable[[bytes], Event]]


def _byte(value: bytes) -> int:
    return value[0] if value else 0


_ONE = frozenset({1})
_OPTIONAL_ONE = frozenset({0, 1})
_NONE = frozenset({0})

REQUEST_DECODERS: dict[ComPortCmd, _Decoder] = {
    ComPortCmd.SIGNATURE: (None, lambda v: SignatureReceived(text=v)),
    ComPortCmd.SET_BAUDRATE: (frozenset({4}), lambda v: BaudRateRequested(baud=int.from_bytes(v, "big"))),
    ComPortCmd.SET_DATASIZE: (_ONE, lambda v: DataSizeRequested(size=v[0])),
    ComPortCmd.SET_PARITY: (_ONE, lambda v: ParityRequested(parity=v[0])),
    ComPortCmd.SET_STOPSIZE: (_ONE, lambda v: StopSizeRequested(stopsize=v[0])),
    ComPortCmd.SET_CONTROL: (_ONE, lambda v: ControlRequested(value=v[0])),
    ComPortCmd.NOTIFY_LINESTATE: (_OPTIONAL_ONE, lambda v: LineStateNotified(state=_byte(v))),
    ComPortCmd.NOTIFY_MODEMSTATE: (_OPTIONAL_ONE, lambda v: ModemStateNotified(state=_byte(v))),
    ComPortCmd.FLOWCONTROL_SUSPEND: (_NONE, lambda v: FlowControlSuspended()),
    ComPortCmd.FLOWCONTROL_RESUME: (_NONE, lambda v: FlowControlResumed()),
    ComPortCmd.SET_LINESTATE_MASK: (_ONE, lambda v: LineStateMaskRequested(mask=v[0])),
    ComPortCmd.SET_MODEMSTATE_MASK: (_ONE, lambda v: ModemStateMaskRequested(mask=v[0])),
    ComPortCmd.PURGE_DATA: (_ONE, lambda v: PurgeRequested(value=v[0])),
}

_COMMANDS = {int(c): c for c in ComPortCmd}


def decode_request(payload: bytes) -> Event | str:
    """Decode a client's COM-PORT sub-negotiation (server role).

    Args:
        payload: the bytes after the option code, IAC escapes already removed.

    Returns:
        The event, or a one-line description of what is wrong with it.
    """
    if not payload:
        return "COM-PORT-OPTION sub-negotiation without a command"
    command = _COMMANDS.get(payload[0])
    if command is None:
        return f"unknown COM-PORT-OPTION request {payload[0]}"
    lengths, build = REQUEST_DECODERS[command]
    value = payload[1:]
    if lengths is not None and len(value) not in lengths:
        return f"COM-PORT-OPTION {command.name} with a {len(value)}-byte value"
    return build(value)


def decode_reply(payload: bytes) -> Event | str:
    """Decode a server's COM-PORT sub-negotiation (client role) into a :class:`ComPortReply`.

    Args:
        payload: the bytes after the option code, IAC escapes already removed.

    Returns:
        The event, or a one-line description of what is wrong with it.
    """
    if not payload:
        return "COM-PORT-OPTION sub-negotiation without a command"
    command = _COMMANDS.get(payload[0] - SERVER_OFFSET)
    if command is None:
        return f"unknown COM-PORT-OPTION answer {payload[0]}"
    return ComPortReply(command=command, value=payload[1:])


def encode(code: int, value: bytes) -> bytes:
    """The wire form of one COM-PORT sub-negotiation, IAC doubled inside the value.

    Args:
        code: the command code as sent (add :data:`SERVER_OFFSET` for a server's answer).
        value: the raw value bytes.
    """
    return _PREFIX + bytes((code,)) + value.replace(IAC_BYTE, IAC_IAC) + _SUFFIX


def one_byte(name: str, value: int) -> bytes:
    """A one-byte value, checked.

    Raises:
        LocalProtocolError: when the value does not fit in a byte.
    """
    if not 0 <= value <= 0xFF:
        raise LocalProtocolError(f"{name} must be 0..255, not {value}")
    return bytes((value,))


def baud_value(baud: int) -> bytes:
    """SET-BAUDRATE's four bytes in network order, checked.

    Raises:
        LocalProtocolError: when the rate does not fit in 32 bits.
    """
    if not 0 <= baud < 1 << 32:
        raise LocalProtocolError(f"baud rate must be 0..4294967295, not {baud}")
    return baud.to_bytes(4, "big")


# ---------------------------------------------------------------------------
# What the values of the SET commands mean (RFC 2217, section "Com Port
# Configuration Commands"), decoded once into typed values. The engine's
# events carry the raw codes; the port layer calls these to learn what a
# client asked for and to encode the answer, "the value actually in use".
# A code outside a table decodes to None: the answer is then the value in
# force, unchanged (as for the query value 0).

PARITY_BY_CODE: dict[int, str] = {1: "none", 2: "odd", 3: "even", 4: "mark", 5: "space"}
"""SET-PARITY codes -> parity names (LineSettings.parity)."""
PARITY_CODE: dict[str, int] = {name: code for code, name in PARITY_BY_CODE.items()}

STOPBITS_BY_CODE: dict[int, float] = {1: 1, 2: 2, 3: 1.5}
"""SET-STOPSIZE codes -> stop bits."""
STOPBITS_CODE: dict[float, int] = {bits: code for code, bits in STOPBITS_BY_CODE.items()}

DATASIZES = frozenset({5, 6, 7, 8})
"""SET-DATASIZE values that name a data size (the code is the size in bits)."""


def decode_parity(code: int) -> str | None:
    """The parity a SET-PARITY value asks for; None for 0 (a query) or a code outside the table."""
    return PARITY_BY_CODE.get(code)


def decode_stopsize(code: int) -> float | None:
    """The stop bits a SET-STOPSIZE value asks for (1, 2 or 1.5); None for a query or an unknown code."""
    return STOPBITS_BY_CODE.get(code)


def decode_datasize(code: int) -> int | None:
    """The data size in bits a SET-DATASIZE value asks for; None for a query or an unknown size."""
    return code if code in DATASIZES else None


def parity_code(parity: str) -> int:
    """The SET-PARITY answer for a parity in force."""
    return PARITY_CODE.get(parity, 1)


def stopsize_code(stopbits: float) -> int:
    """The SET-STOPSIZE answer for the stop bits in force."""
    return STOPBITS_CODE.get(stopbits, 1)


class ControlGroup(enum.Enum):
    """The setting a SET-CONTROL value is about."""

    OUTBOUND_FLOW = "outbound flow control"
    INBOUND_FLOW = "inbound flow control"
    BREAK = "break"
    DTR = "DTR"
    RTS = "RTS"


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """One SET-CONTROL value, decoded.

    Attributes:
        group: what it is about.
        wanted: the state asked for: a flow name (``"none"``, ``"xonxoff"``,
            ``"rtscts"``) for the flow groups, True/False for BREAK, DTR and
            RTS; None when the value only asks for the state in force (a
            query, or a setting the port does not implement).
    """

    group: ControlGroup
    wanted: str | bool | None


_OUT, _IN = ControlGroup.OUTBOUND_FLOW, ControlGroup.INBOUND_FLOW
SET_CONTROL: dict[int, ControlRequest] = {
    0: ControlRequest(_OUT, None),
    1: ControlRequest(_OUT, "none"),
    2: ControlRequest(_OUT, "xonxoff"),
    3: ControlRequest(_OUT, "rtscts"),
    4: ControlRequest(ControlGroup.BREAK, None),
    5: ControlRequest(ControlGroup.BREAK, True),
    6: ControlRequest(ControlGroup.BREAK, False),
    7: ControlRequest(ControlGroup.DTR, None),
    8: ControlRequest(ControlGroup.DTR, True),
    9: ControlRequest(ControlGroup.DTR, False),
    10: ControlRequest(ControlGroup.RTS, None),
    11: ControlRequest(ControlGroup.RTS, True),
    12: ControlRequest(ControlGroup.RTS, False),
    13: ControlRequest(_IN, None),
    14: ControlRequest(_IN, "none"),
    15: ControlRequest(_IN, "xonxoff"),
    16: ControlRequest(_IN, "rtscts"),
    # DCD (outbound), DTR (inbound) and DSR (outbound) flow control: not
    # implemented by the port; answered with the flow control in force.
    17: ControlRequest(_OUT, None),
    18: ControlRequest(_IN, None),
    19: ControlRequest(_OUT, None),
}
"""SET-CONTROL values 0..19 of RFC 2217's table."""


def decode_control(value: int) -> ControlRequest:
    """What a SET-CONTROL value asks for.

    A value above 19 (not in RFC 2217) is taken as a query of the outbound
    flow control, so that it too is answered with a value in force.
    """
    return SET_CONTROL.get(value, ControlRequest(_OUT, None))


_FLOW_ANSWERS: dict[ControlGroup, dict[str, int]] = {
    _OUT: {"none": 1, "xonxoff": 2, "rtscts": 3, "dsrdtr": 19},
    _IN: {"none": 14, "xonxoff": 15, "rtscts": 16, "dsrdtr": 18},
}
_ON_OFF_ANSWERS: dict[ControlGroup, tuple[int, int]] = {
    ControlGroup.BREAK: (5, 6), ControlGroup.DTR: (8, 9), ControlGroup.RTS: (11, 12),
}


def control_answer(group: ControlGroup, state: str | bool) -> int:
    """The SET-CONTROL answer for a state in force.

    Args:
        group: what the answer is about.
        state: a flow name (LineSettings.flow) for the flow groups, the
            line's state (True: on) for BREAK, DTR and RTS.
    """
    if group in _FLOW_ANSWERS:
        return _FLOW_ANSWERS[group].get(str(state), _FLOW_ANSWERS[group]["none"])
    on, off = _ON_OFF_ANSWERS[group]
    return on if state else off


@dataclass(frozen=True, slots=True)
class Purge:
    """A PURGE-DATA request: which of the device's buffers to discard."""

    receive: bool
    transmit: bool


PURGE_BY_CODE: dict[int, Purge] = {
    1: Purge(receive=True, transmit=False),
    2: Purge(receive=False, transmit=True),
    3: Purge(receive=True, transmit=True),
}
"""PURGE-DATA values 1..3; anything else purges nothing (and is echoed back)."""
