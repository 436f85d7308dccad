"""COM-PORT-OPTION (RFC 2217): every request decoded, every answer encoded, byte for byte."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bridge.telnet import (
    BaudRateRequested,
    ComPortCmd,
    ComPortReply,
    ControlRequested,
    DataSizeRequested,
    Event,
    FlowControlResumed,
    FlowControlSuspended,
    LineStateMaskRequested,
    LineStateNotified,
    LocalProtocolError,
    ModemStateMaskRequested,
    ModemStateNotified,
    Opt,
    OptionPolicy,
    ParityRequested,
    ProtocolViolation,
    PurgeRequested,
    Side,
    SignatureReceived,
    StopSizeRequested,
    TelnetConnection,
)
from tests.telnet.helpers import TelnetPair

COMPORT = OptionPolicy(us=frozenset({Opt.COM_PORT}), him=frozenset({Opt.COM_PORT}))
SB = b"\xff\xfa\x2c"
SE = b"\xff\xf0"


def _server() -> TelnetConnection:
    conn = TelnetConnection(server=True, policy=COMPORT)
    conn.receive_data(b"\xff\xfb\x2c")  # the client's WILL COM-PORT-OPTION (RFC 2217)
    assert conn.data_to_send() == b"\xff\xfd\x2c"
    return conn


def _client() -> TelnetConnection:
    conn = TelnetConnection(server=False, policy=COMPORT)
    conn.receive_data(b"\xff\xfd\x2c")
    assert conn.data_to_send() == b"\xff\xfb\x2c"
    return conn


REQUESTS: list[tuple[str, bytes, Event]] = [
    ("SIGNATURE query", b"\x00", SignatureReceived(text=b"")),
    ("SIGNATURE text", b"\x00pyserial", SignatureReceived(text=b"pyserial")),
    ("SET-BAUDRATE 115200", b"\x01\x00\x01\xc2\x00", BaudRateRequested(baud=115200)),
    ("SET-BAUDRATE query", b"\x01\x00\x00\x00\x00", BaudRateRequested(baud=0)),
    ("SET-BAUDRATE with IAC in the value", b"\x01\x00\x00\xff\xff\xff\xff", BaudRateRequested(baud=0xFFFF)),
    ("SET-DATASIZE 7", b"\x02\x07", DataSizeRequested(size=7)),
    ("SET-PARITY even", b"\x03\x03", ParityRequested(parity=3)),
    ("SET-STOPSIZE 2", b"\x04\x02", StopSizeRequested(stopsize=2)),
    ("SET-CONTROL DTR on", b"\x05\x08", ControlRequested(value=8)),
    ("NOTIFY-LINESTATE", b"\x06\x60", LineStateNotified(state=0x60)),
    ("NOTIFY-LINESTATE poll (pyserial)", b"\x06", LineStateNotified(state=0)),
    ("NOTIFY-MODEMSTATE poll (pyserial)", b"\x07", ModemStateNotified(state=0)),
    ("FLOWCONTROL-SUSPEND", b"\x08", FlowControlSuspended()),
    ("FLOWCONTROL-RESUME", b"\x09", FlowControlResumed()),
    ("SET-LINESTATE-MASK", b"\x0a\x00", LineStateMaskRequested(mask=0)),
    ("SET-MODEMSTATE-MASK", b"\x0b\xff\xff", ModemStateMaskRequested(mask=255)),
    ("PURGE-DATA both", b"\x0c\x03", PurgeRequested(value=3)),
]


@pytest.mark.parametrize(("body", "event"), [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS])
def test_rfc2217_server_decodes_every_client_request(body: bytes, event: Event) -> None:
    """RFC 2217: each client-to-server command arrives as its typed event, IAC undoubled."""
    assert _server().receive_data(SB + body + SE) == [event]


MALFORMED = [
    ("no command", b""),
    ("unknown command 13", b"\x0d\x00"),
    ("answer code sent to a server", b"\x65\x00\x00\x25\x80"),
    ("baud rate of 3 bytes", b"\x01\x00\x25\x80"),
    ("baud rate of 8 bytes", b"\x01\x00\x00\x25\x80\x00\x00\x00\x00"),
    ("data size without value", b"\x02"),
    ("parity with two bytes", b"\x03\x01\x02"),
    ("suspend with a value", b"\x08\x01"),
]


@pytest.mark.parametrize("body", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_rfc2217_malformed_request_is_dropped_and_counted(body: bytes) -> None:
    """RFC 2217: a request with a bad command or value length is ignored, counted, not guessed."""
    conn = _server()
    [event] = conn.receive_data(SB + body + SE + b"ok")[:1]
    assert isinstance(event, ProtocolViolation)
    assert conn.anomalies.malformed_subnegs == 1
    assert conn.data_to_send() == b""


ANSWERS: list[tuple[str, Callable[[TelnetConnection], None], bytes]] = [
    ("SIGNATURE", lambda c: c.ack_signature(b"serial-bridge"), b"\x64serial-bridge"),
    ("SET-BAUDRATE", lambda c: c.ack_baud_rate(9600), b"\x65\x00\x00\x25\x80"),
    ("SET-BAUDRATE IAC doubled", lambda c: c.ack_baud_rate(0xFF00FF), b"\x65\x00\xff\xff\x00\xff\xff"),
    ("SET-DATASIZE", lambda c: c.ack_data_size(8), b"\x66\x08"),
    ("SET-PARITY", lambda c: c.ack_parity(1), b"\x67\x01"),
    ("SET-STOPSIZE", lambda c: c.ack_stop_size(1), b"\x68\x01"),
    ("SET-CONTROL", lambda c: c.ack_control(1), b"\x69\x01"),
    ("NOTIFY-LINESTATE", lambda c: c.notify_linestate(0x60), b"\x6a\x60"),
    ("NOTIFY-MODEMSTATE", lambda c: c.notify_modemstate(0xB0), b"\x6b\xb0"),
    ("FLOWCONTROL-SUSPEND", lambda c: c.suspend_flow(), b"\x6c"),
    ("FLOWCONTROL-RESUME", lambda c: c.resume_flow(), b"\x6d"),
    ("SET-LINESTATE-MASK", lambda c: c.ack_linestate_mask(0xFF), b"\x6e\xff\xff"),
    ("SET-MODEMSTATE-MASK", lambda c: c.ack_modemstate_mask(0xFF), b"\x6f\xff\xff"),
    ("PURGE-DATA", lambda c: c.ack_purge(3), b"\x70\x03"),
]


@pytest.mark.parametrize(("call", "body"), [a[1:] for a in ANSWERS], ids=[a[0] for a in ANSWERS])
def test_rfc2217_server_encodes_every_answer_with_code_plus_100(
        call: Callable[[TelnetConnection], None], body: bytes) -> None:
    """RFC 2217: each server answer is the command code + 100 and its value, IAC doubled."""
    conn = _server()
    call(conn)
    assert conn.data_to_send() == SB + body + SE


@pytest.mark.parametrize(("call", "body"), [a[1:] for a in ANSWERS], ids=[a[0] for a in ANSWERS])
def test_rfc2217_client_decodes_every_answer(call: Callable[[TelnetConnection], None], body: bytes) -> None:
    """RFC 2217: the client role reports each answer with the command code minus 100 and the raw value."""
    server = _server()
    call(server)
    [event] = _client().receive_data(server.data_to_send())
    assert event == ComPortReply(command=ComPortCmd(body[0] - 100), value=body[1:].replace(b"\xff\xff", b"\xff"))


@pytest.mark.parametrize("call", [
    lambda c: c.ack_baud_rate(-1), lambda c: c.ack_baud_rate(1 << 32), lambda c: c.ack_data_size(256),
    lambda c: c.notify_modemstate(-1), lambda c: c.ack_purge(300)])
def test_rfc2217_answer_values_out_of_range_are_refused(call: Callable[[TelnetConnection], None]) -> None:
    """API: a value that does not fit its field raises LocalProtocolError and sends nothing."""
    conn = _server()
    with pytest.raises(LocalProtocolError):
        call(conn)
    assert conn.data_to_send() == b""


def test_rfc2217_roles_are_enforced() -> None:
    """API: only a server sends answers and only a client sends requests."""
    with pytest.raises(LocalProtocolError):
        _client().ack_baud_rate(9600)
    with pytest.raises(LocalProtocolError):
        _server().comport_request(ComPortCmd.SET_BAUDRATE, b"\x00\x00\x25\x80")
    with pytest.raises(LocalProtocolError):
        _client().comport_request(99, b"")  # type: ignore[arg-type]


def test_rfc2217_request_before_negotiation_is_ignored() -> None:
    """RFC 2217/855: COM-PORT sub-negotiation before WILL/DO COM-PORT-OPTION is ignored and counted."""
    conn = TelnetConnection(server=True, policy=COMPORT)
    [event] = conn.receive_data(SB + b"\x01\x00\x00\x25\x80" + SE)
    assert isinstance(event, ProtocolViolation)
    assert conn.anomalies.unsolicited_subnegs == 1


def test_rfc2217_set_baudrate_query_round_trip_between_engines() -> None:
    """RFC 2217: a client's SET-BAUDRATE 0 reaches the server as a query; the ack carries the rate."""
    pair = TelnetPair(server_policy=COMPORT, client_policy=COMPORT)
    pair.client.request_enable(Opt.COM_PORT, Side.US)
    pair.pump()
    pair.take_events()
    pair.client.comport_request(ComPortCmd.SET_BAUDRATE, (0).to_bytes(4, "big"))
    pair.pump()
    server_events, _ = pair.take_events()
    assert server_events == [BaudRateRequested(baud=0)]
    pair.server.ack_baud_rate(115200)
    pair.pump()
    _, client_events = pair.take_events()
    assert client_events == [ComPortReply(command=ComPortCmd.SET_BAUDRATE, value=b"\x00\x01\xc2\x00")]
