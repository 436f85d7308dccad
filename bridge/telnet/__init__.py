"""The sans-IO Telnet engine: RFC 854/855 with RFC 1143 negotiation and RFC 2217.

Bytes in, events out; method calls in, bytes out (see docs/telnet.md)::

    conn = TelnetConnection(server=True, policy=DEFAULT_SERVER_POLICY)
    events = conn.receive_data(chunk)    # b"" means EOF
    conn.send_data(payload)
    wire = conn.data_to_send()

Nothing here imports asyncio, socket, serial or any other part of ``bridge``.
"""

from __future__ import annotations

from bridge.telnet.connection import (
    DEFAULT_SERVER_POLICY,
    TERMINAL_TYPE_ASKS,
    Anomalies,
    OptionPolicy,
    TelnetConnection,
)
from bridge.telnet.constants import CR_CODE, IAC_BYTE, IAC_CODE, SERVER_OFFSET, SYNCH, Cmd, ComPortCmd, Opt, Side
from bridge.telnet.errors import LocalProtocolError, RemoteProtocolError, TelnetError
from bridge.telnet.events import (
    BaudRateRequested,
    CommandReceived,
    ComPortReply,
    ConnectionClosed,
    ControlRequested,
    DataReceived,
    DataSizeRequested,
    Event,
    FlowControlResumed,
    FlowControlSuspended,
    LineStateMaskRequested,
    LineStateNotified,
    ModemStateMaskRequested,
    ModemStateNotified,
    OptionDisabled,
    OptionEnabled,
    OptionRefused,
    ParityRequested,
    ProtocolViolation,
    PurgeRequested,
    SignatureReceived,
    StatusReceived,
    StopSizeRequested,
    TerminalTypeReceived,
    TerminalTypeRequested,
    TimingMarkReceived,
    TimingMarkRequested,
    WindowSizeChanged,
)

__all__ = [
    "DEFAULT_SERVER_POLICY",
    "IAC_BYTE",
    "IAC_CODE",
    "CR_CODE",
    "SERVER_OFFSET",
    "SYNCH",
    "TERMINAL_TYPE_ASKS",
    "Anomalies",
    "BaudRateRequested",
    "Cmd",
    "ComPortCmd",
    "ComPortReply",
    "CommandReceived",
    "ConnectionClosed",
    "ControlRequested",
    "DataReceived",
    "DataSizeRequested",
    "Event",
    "FlowControlResumed",
    "FlowControlSuspended",
    "LineStateMaskRequested",
    "LineStateNotified",
    "LocalProtocolError",
    "ModemStateMaskRequested",
    "ModemStateNotified",
    "Opt",
    "OptionDisabled",
    "OptionEnabled",
    "OptionPolicy",
    "OptionRefused",
    "ParityRequested",
    "ProtocolViolation",
    "PurgeRequested",
    "RemoteProtocolError",
    "Side",
    "SignatureReceived",
    "StatusReceived",
    "StopSizeRequested",
    "TelnetConnection",
    "TelnetError",
    "TerminalTypeReceived",
    "TerminalTypeRequested",
    "TimingMarkReceived",
    "TimingMarkRequested",
    "WindowSizeChanged",
]
