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

from collections.abc import Callable

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
