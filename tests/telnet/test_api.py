"""The engine's public names, as other parts of the bridge call them."""

from __future__ import annotations

import inspect

import bridge.telnet
from bridge.telnet import Cmd, ComPortCmd, Opt, TelnetConnection

PUBLIC = [
    "Cmd", "Opt", "ComPortCmd", "SERVER_OFFSET", "Side", "OptionPolicy", "Event", "DataReceived",
    "CommandReceived", "OptionEnabled", "OptionDisabled", "OptionRefused", "TimingMarkRequested",
    "TerminalTypeReceived", "WindowSizeChanged", "SignatureReceived", "BaudRateRequested",
    "DataSizeRequested", "ParityRequested", "StopSizeRequested", "ControlRequested",
    "LineStateMaskRequested", "ModemStateMaskRequested", "PurgeRequested", "FlowControlSuspended",
    "FlowControlResumed", "LineStateNotified", "ModemStateNotified", "ComPortReply", "ProtocolViolation",
    "ConnectionClosed", "TelnetConnection", "LocalProtocolError", "RemoteProtocolError",
]

METHODS = [
    "receive_data", "data_to_send", "send_data", "send_command", "request_enable", "request_disable",
    "is_enabled", "answer_timing_mark", "request_terminal_type", "ack_signature", "ack_baud_rate",
    "ack_data_size", "ack_parity", "ack_stop_size", "ack_control", "ack_linestate_mask",
    "ack_modemstate_mask", "ack_purge", "notify_linestate", "notify_modemstate", "suspend_flow",
    "resume_flow", "comport_request",
]


def test_every_public_name_is_exported_in_all() -> None:
    """The package re-exports every name of the engine's API in ``__all__``."""
    for name in PUBLIC:
        assert name in bridge.telnet.__all__, name
        assert hasattr(bridge.telnet, name), name


def test_connection_has_every_method_and_property() -> None:
    """TelnetConnection offers each method and property the bridge calls."""
    for name in METHODS:
        assert callable(getattr(TelnetConnection, name)), name
    for name in ("anomalies", "peer_binary", "our_binary"):
        assert isinstance(inspect.getattr_static(TelnetConnection, name), property), name
    params = inspect.signature(TelnetConnection).parameters
    assert [p for p in params if params[p].kind is inspect.Parameter.KEYWORD_ONLY] == [
        "server", "policy", "subneg_limit"]


def test_codes_have_their_rfc_values() -> None:
    """RFC 854, RFC 2217 and the option RFCs fix these numbers."""
    assert [int(c) for c in Cmd] == list(range(240, 256))
    assert [int(c) for c in ComPortCmd] == list(range(13))
    assert (Opt.BINARY, Opt.ECHO, Opt.SGA, Opt.STATUS, Opt.TIMING_MARK) == (0, 1, 3, 5, 6)
    assert (Opt.TTYPE, Opt.NAWS, Opt.LINEMODE, Opt.COM_PORT, Opt.EXOPL) == (24, 31, 34, 44, 255)
    assert bridge.telnet.SERVER_OFFSET == 100
