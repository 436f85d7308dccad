"""Hostile input: bounded memory, nothing raised, every anomaly counted, the stream carries on."""

from __future__ import annotations

import pytest

from bridge.telnet import (
    Anomalies,
    Cmd,
    CommandReceived,
    ConnectionClosed,
    DataReceived,
    LocalProtocolError,
    Opt,
    OptionPolicy,
    ProtocolViolation,
    TelnetConnection,
    WindowSizeChanged,
)
from bridge.telnet.parser import Parser

NAWS = OptionPolicy(us=frozenset(), him=frozenset({Opt.NAWS}))


def _naws_server(limit: int = 4096) -> TelnetConnection:
    conn = TelnetConnection(policy=NAWS, subneg_limit=limit)
    conn.receive_data(b"\xff\xfb\x1f")
    conn.data_to_send()
    return conn


def test_subnegotiation_past_the_limit_is_discarded_and_the_stream_goes_on() -> None:
    """RFC 855 hardening: an over-long sub-negotiation is dropped and counted; later input still works."""
    conn = _naws_server(limit=16)
    events = conn.receive_data(b"\xff\xfa\x1f" + b"A" * 17 + b"\xff\xf0after")
    assert events == [ProtocolViolation(detail="sub-negotiation longer than 16 bytes, discarded"),
                      DataReceived(data=b"after")]
    assert conn.anomalies.subneg_overflows == 1
    assert conn.receive_data(b"\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0") == [WindowSizeChanged(width=80, height=24)]


def test_subnegotiation_exactly_at_the_limit_is_kept() -> None:
    """The limit counts payload bytes: a payload of exactly the limit is accepted."""
    conn = _naws_server(limit=4)
    assert conn.receive_data(b"\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0") == [WindowSizeChanged(width=80, height=24)]


def test_unterminated_subnegotiation_never_holds_more_than_the_limit() -> None:
    """An endless sub-negotiation, read in many pieces, keeps at most the limit in memory."""
    parser = Parser(subneg_limit=1024)
    parser.feed(b"\xff\xfa\x18")
    for _ in range(200):
        assert parser.feed(b"x\xff\xff" * 1000) == []
        assert parser.buffered <= 1025
    assert parser.pending


def test_missing_se_ends_the_subnegotiation_and_the_command_is_kept() -> None:
    """BSD telnetd recovery: IAC <command> inside SB ends it as malformed; the command is honoured."""
    conn = _naws_server()
    events = conn.receive_data(b"\xff\xfa\x1f\x00\x50\xff\xf3tail")
    assert events == [
        ProtocolViolation(detail="sub-negotiation ended by IAC 243 instead of IAC SE, discarded"),
        CommandReceived(command=Cmd.BRK),
        DataReceived(data=b"tail"),
    ]
    assert conn.anomalies.malformed_subnegs == 1


def test_empty_subnegotiation_is_malformed() -> None:
    """IAC SB IAC SE carries no option code and is dropped and counted."""
    conn = _naws_server()
    [event] = conn.receive_data(b"\xff\xfa\xff\xf0")
    assert isinstance(event, ProtocolViolation)
    assert conn.anomalies.malformed_subnegs == 1


def test_every_unknown_command_byte_is_counted() -> None:
    """RFC 854: IAC followed by a byte below 240 is no command; each is ignored and counted."""
    conn = TelnetConnection(policy=NAWS)
    wire = b"".join(b"\xff" + bytes((b,)) for b in range(240))
    events = conn.receive_data(wire + b"z")
    assert events[-1] == DataReceived(data=b"z")
    assert len(events) == 241
    assert conn.anomalies.unknown_commands == 240


def test_truncated_command_at_eof_is_counted() -> None:
    """A stream that ends inside IAC SB ... is reported and counted, then closed."""
    conn = _naws_server()
    events = conn.receive_data(b"\xff\xfa\x1f\x00") + conn.receive_data(b"")
    assert events == [ProtocolViolation(detail="connection closed inside a command"), ConnectionClosed()]
    assert conn.anomalies.truncated == 1


def test_input_after_eof_is_ignored() -> None:
    """After receive_data(b"") nothing more is reported."""
    conn = TelnetConnection(policy=NAWS)
    assert conn.receive_data(b"") == [ConnectionClosed()]
    assert conn.receive_data(b"more") == []
    assert conn.receive_data(b"") == []


def test_anomalies_total_is_the_sum_of_the_counters() -> None:
    """The anomaly snapshot's total adds up every counter."""
    conn = TelnetConnection(policy=NAWS)
    conn.receive_data(b"\xff\xf0\xff\x01a\rb\xff\xfa\x05\x01\xff\xf0")
    counts = conn.anomalies
    assert counts == Anomalies(unknown_commands=1, stray_se=1, bad_eol=1, unsolicited_subnegs=1, total=4)


def test_anomalies_snapshot_does_not_change_afterwards() -> None:
    """The snapshot is frozen: later input changes the next snapshot, not the old one."""
    conn = TelnetConnection(policy=NAWS)
    before = conn.anomalies
    conn.receive_data(b"\xff\xf0")
    assert before.total == 0 and conn.anomalies.total == 1


def test_subneg_limit_below_one_is_refused() -> None:
    """API: a sub-negotiation limit must be at least one byte."""
    with pytest.raises(LocalProtocolError):
        TelnetConnection(policy=NAWS, subneg_limit=0)
