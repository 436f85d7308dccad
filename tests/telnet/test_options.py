"""Options with behaviour of their own: STATUS, TIMING-MARK, TTYPE, NAWS, ECHO and SGA."""

from __future__ import annotations

import pytest

from bridge.telnet import (
    DataReceived,
    LocalProtocolError,
    Opt,
    OptionEnabled,
    OptionPolicy,
    ProtocolViolation,
    Side,
    StatusReceived,
    TelnetConnection,
    TerminalTypeReceived,
    TerminalTypeRequested,
    TimingMarkReceived,
    TimingMarkRequested,
    WindowSizeChanged,
)
from tests.telnet.helpers import NOTHING, TelnetPair

SERVER = OptionPolicy(us=frozenset({Opt.ECHO, Opt.SGA, Opt.STATUS, Opt.BINARY}),
                      him=frozenset({Opt.SGA, Opt.TTYPE, Opt.NAWS, Opt.STATUS}))
CLIENT = OptionPolicy(us=frozenset({Opt.SGA, Opt.TTYPE, Opt.NAWS, Opt.STATUS}),
                      him=frozenset({Opt.ECHO, Opt.SGA, Opt.STATUS, Opt.BINARY}))


def _enabled_pair() -> TelnetPair:
    pair = TelnetPair(server_policy=SERVER, client_policy=CLIENT)
    for option in (Opt.ECHO, Opt.SGA, Opt.STATUS):
        pair.server.request_enable(option, Side.US)
    for option in (Opt.SGA, Opt.TTYPE, Opt.NAWS):
        pair.server.request_enable(option, Side.HIM)
    pair.pump()
    pair.take_events()
    return pair


def test_rfc857_rfc858_character_mode_opening_is_agreed() -> None:
    """RFC 857/858: WILL ECHO, WILL SGA, DO SGA from the server are accepted by a willing client."""
    pair = TelnetPair(server_policy=SERVER, client_policy=CLIENT)
    pair.server.request_enable(Opt.ECHO, Side.US)
    pair.server.request_enable(Opt.SGA, Side.US)
    pair.server.request_enable(Opt.SGA, Side.HIM)
    assert pair.server.data_to_send() == b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x03"
    pair.client.receive_data(b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x03")
    assert pair.client.data_to_send() == b"\xff\xfd\x01\xff\xfd\x03\xff\xfb\x03"


def test_rfc859_status_send_is_answered_with_our_options_and_his() -> None:
    """RFC 859: SEND is answered IS with WILL for our options and DO for the peer's."""
    pair = _enabled_pair()
    pair.client.request_status()
    assert pair.client.data_to_send() == b"\xff\xfa\x05\x01\xff\xf0"
    pair.server.receive_data(b"\xff\xfa\x05\x01\xff\xf0")
    assert pair.server.data_to_send() == (
        b"\xff\xfa\x05\x00"
        b"\xfb\x01\xfb\x03\xfb\x05"
        b"\xfd\x03\xfd\x18\xfd\x1f"
        b"\xff\xf0"
    )


def test_rfc859_status_is_is_decoded_by_the_asking_side() -> None:
    """RFC 859: the IS list arrives at the asker as the peer's WILL and DO sets."""
    pair = _enabled_pair()
    pair.client.request_status()
    pair.pump()
    _, client_events = pair.take_events()
    assert client_events == [StatusReceived(will=frozenset({1, 3, 5}), do=frozenset({3, 24, 31}))]


def test_rfc859_status_doubles_se_and_iac_option_codes() -> None:
    """RFC 859: an option code equal to SE goes out as SE SE inside IS."""
    policy = OptionPolicy(us=frozenset({Opt.STATUS, 240}), him=frozenset({Opt.STATUS}))
    conn = TelnetConnection(policy=policy)
    conn.receive_data(b"\xff\xfd\x05\xff\xfd\xf0")
    conn.data_to_send()
    conn.receive_data(b"\xff\xfa\x05\x01\xff\xf0")
    assert conn.data_to_send() == b"\xff\xfa\x05\x00\xfb\x05\xfb\xf0\xf0\xff\xf0"


def test_rfc859_status_send_without_status_in_force_is_ignored() -> None:
    """RFC 859: only a party that agreed to WILL STATUS answers SEND."""
    conn = TelnetConnection(policy=NOTHING)
    [event] = conn.receive_data(b"\xff\xfa\x05\x01\xff\xf0")
    assert isinstance(event, ProtocolViolation)
    assert conn.data_to_send() == b""
    assert conn.anomalies.unsolicited_subnegs == 1


def test_rfc860_timing_mark_is_an_event_answered_by_the_caller() -> None:
    """RFC 860: DO TIMING-MARK comes after the data before it, and the caller's answer is WILL TM."""
    conn = TelnetConnection(policy=NOTHING)
    assert conn.receive_data(b"abc\xff\xfd\x06def") == [
        DataReceived(data=b"abc"), TimingMarkRequested(), DataReceived(data=b"def")]
    assert conn.data_to_send() == b""
    conn.answer_timing_mark()
    assert conn.data_to_send() == b"\xff\xfb\x06"
    assert not conn.is_enabled(Opt.TIMING_MARK, Side.US)


def test_rfc860_timing_mark_round_trip_between_engines() -> None:
    """RFC 860: our DO TIMING-MARK is reported answered when the peer's WILL TM arrives."""
    pair = TelnetPair()
    pair.client.request_timing_mark()
    pair.pump()
    server_events, _ = pair.take_events()
    assert server_events == [TimingMarkRequested()]
    pair.server.answer_timing_mark()
    pair.pump()
    _, client_events = pair.take_events()
    assert client_events == [TimingMarkReceived(accepted=True)]


def test_rfc860_unasked_will_timing_mark_is_refused_once() -> None:
    """RFC 860/1143: a WILL TIMING-MARK nobody asked for gets DONT, and DONT gets nothing."""
    conn = TelnetConnection(policy=NOTHING)
    assert conn.receive_data(b"\xff\xfb\x06\xff\xfe\x06") == []
    assert conn.data_to_send() == b"\xff\xfe\x06"


def test_rfc1091_terminal_type_is_asked_for_and_collected() -> None:
    """RFC 1091: SEND is answered IS <name>; each name is reported and remembered once."""
    pair = _enabled_pair()
    for name in ("XTERM-256COLOR", "XTERM", "XTERM"):
        pair.server.request_terminal_type()
        assert pair.server.data_to_send() == b"\xff\xfa\x18\x01\xff\xf0"
        assert pair.client.receive_data(b"\xff\xfa\x18\x01\xff\xf0") == [TerminalTypeRequested()]
        pair.client.send_terminal_type(name)
        assert pair.server.receive_data(pair.client.data_to_send()) == [TerminalTypeReceived(name=name)]
    assert pair.server.terminal_types == ("XTERM-256COLOR", "XTERM")


def test_rfc1091_terminal_type_request_needs_the_peers_will() -> None:
    """RFC 1091: SEND may only be sent once the peer agreed to WILL TERMINAL-TYPE."""
    with pytest.raises(LocalProtocolError):
        TelnetConnection(policy=SERVER).request_terminal_type()


def test_rfc1073_window_size_is_reported() -> None:
    """RFC 1073: SB NAWS gives the width and height as 16-bit numbers."""
    pair = _enabled_pair()
    pair.client.send_window_size(80, 24)
    wire = pair.client.data_to_send()
    assert wire == b"\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0"
    assert pair.server.receive_data(wire) == [WindowSizeChanged(width=80, height=24)]


def test_rfc1073_a_255_in_the_size_is_doubled_and_undoubled() -> None:
    """RFC 1073: a size byte of 255 goes out as IAC IAC and is read back as 255."""
    pair = _enabled_pair()
    pair.client.send_window_size(255, 0xFFFF)
    wire = pair.client.data_to_send()
    assert wire == b"\xff\xfa\x1f\x00\xff\xff\xff\xff\xff\xff\xff\xf0"
    assert pair.server.receive_data(wire) == [WindowSizeChanged(width=255, height=65535)]


def test_rfc1073_short_window_size_is_malformed() -> None:
    """RFC 1073: a NAWS payload that is not four bytes is dropped and counted."""
    pair = _enabled_pair()
    [event] = pair.server.receive_data(b"\xff\xfa\x1f\x00\x50\x00\xff\xf0")
    assert isinstance(event, ProtocolViolation)
    assert pair.server.anomalies.malformed_subnegs == 1


def test_rfc1073_naws_before_agreement_is_ignored() -> None:
    """RFC 855: a sub-negotiation for an option not in force is ignored and counted."""
    conn = TelnetConnection(policy=SERVER)
    [event] = conn.receive_data(b"\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0")
    assert isinstance(event, ProtocolViolation)
    assert conn.anomalies.unsolicited_subnegs == 1


def test_option_enabled_events_name_the_side() -> None:
    """RFC 855: the peer's WILL concerns its side (HIM), its DO concerns ours (US)."""
    conn = TelnetConnection(policy=SERVER)
    assert conn.receive_data(b"\xff\xfb\x03\xff\xfd\x03") == [
        OptionEnabled(option=Opt.SGA, side=Side.HIM), OptionEnabled(option=Opt.SGA, side=Side.US)]


def test_subnegotiation_for_an_accepted_option_without_support_is_ignored() -> None:
    """RFC 855: an option the policy accepts but the engine cannot sub-negotiate (LINEMODE) drops its SB."""
    conn = TelnetConnection(policy=OptionPolicy(us=frozenset(), him=frozenset({Opt.LINEMODE})))
    conn.receive_data(b"\xff\xfb\x22")
    assert conn.data_to_send() == b"\xff\xfd\x22"
    assert conn.receive_data(b"\xff\xfa\x22\x01\x03\xff\xf0") == [
        ProtocolViolation(detail="sub-negotiation for option 34 not supported, ignored")]
    assert conn.anomalies.unsolicited_subnegs == 1
