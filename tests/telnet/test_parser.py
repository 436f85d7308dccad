"""RFC 854 command structure: bytes in, events out, for every command and escape."""

from __future__ import annotations

import pytest

from bridge.telnet import (
    Cmd,
    CommandReceived,
    DataReceived,
    Event,
    OptionPolicy,
    ProtocolViolation,
    TelnetConnection,
)
from tests.telnet.helpers import NOTHING, feed_in_pieces, merge_data

BINARY_BOTH = OptionPolicy(us=frozenset({0}), him=frozenset({0}))


def _conn() -> TelnetConnection:
    return TelnetConnection(server=True, policy=NOTHING)


COMMAND_CASES: list[tuple[str, bytes, list[Event]]] = [
    ("plain data passes through", b"hello", [DataReceived(data=b"hello")]),
    ("IAC IAC is one data 0xFF", b"a\xff\xffb", [DataReceived(data=b"a\xffb")]),
    ("many IAC IAC in a row", b"\xff\xff" * 5, [DataReceived(data=b"\xff" * 5)]),
    ("NOP", b"\xff\xf1", [CommandReceived(command=Cmd.NOP)]),
    ("DM", b"\xff\xf2", [CommandReceived(command=Cmd.DM)]),
    ("BRK", b"\xff\xf3", [CommandReceived(command=Cmd.BRK)]),
    ("IP", b"\xff\xf4", [CommandReceived(command=Cmd.IP)]),
    ("AO", b"\xff\xf5", [CommandReceived(command=Cmd.AO)]),
    ("AYT", b"\xff\xf6", [CommandReceived(command=Cmd.AYT)]),
    ("EC", b"\xff\xf7", [CommandReceived(command=Cmd.EC)]),
    ("EL", b"\xff\xf8", [CommandReceived(command=Cmd.EL)]),
    ("GA", b"\xff\xf9", [CommandReceived(command=Cmd.GA)]),
    (
        "a command splits the data around it",
        b"ab\xff\xf3cd",
        [DataReceived(data=b"ab"), CommandReceived(command=Cmd.BRK), DataReceived(data=b"cd")],
    ),
    (
        "IAC IAC then a command",
        b"\xff\xff\xff\xf4",
        [DataReceived(data=b"\xff"), CommandReceived(command=Cmd.IP)],
    ),
    (
        "escaped IACs on both sides of a command",
        b"x\xff\xffy\xff\xf1z\xff\xff",
        [DataReceived(data=b"x\xffy"), CommandReceived(command=Cmd.NOP), DataReceived(data=b"z\xff")],
    ),
    ("refused negotiation yields no event", b"\xff\xfb\x2a", []),
    ("sub-negotiation of an unknown option is dropped", b"x\xff\xfa\x63\x01\x02\xff\xf0y",
     [DataReceived(data=b"x"),
      ProtocolViolation(detail="sub-negotiation for option 99 not in force, ignored"),
      DataReceived(data=b"y")]),
    ("stray SE is ignored", b"a\xff\xf0b",
     [DataReceived(data=b"a"),
      ProtocolViolation(detail="IAC SE outside a sub-negotiation, ignored"),
      DataReceived(data=b"b")]),
    ("unknown command byte is ignored", b"a\xff\x07b",
     [DataReceived(data=b"a"),
      ProtocolViolation(detail="unknown command IAC 7, ignored"),
      DataReceived(data=b"b")]),
]


@pytest.mark.parametrize(("wire", "expected"), [c[1:] for c in COMMAND_CASES],
                         ids=[c[0] for c in COMMAND_CASES])
def test_rfc854_command_table(wire: bytes, expected: list[Event]) -> None:
    """RFC 854: each command sequence gives exactly its event, data around it is kept."""
    assert _conn().receive_data(wire) == expected


@pytest.mark.parametrize(("wire", "expected"), [c[1:] for c in COMMAND_CASES],
                         ids=[c[0] for c in COMMAND_CASES])
def test_rfc854_commands_byte_by_byte_give_the_same_events(wire: bytes, expected: list[Event]) -> None:
    """RFC 854: a sequence cut after every byte waits for the rest and gives the same events."""
    conn = _conn()
    events = feed_in_pieces(conn, wire, range(1, len(wire)))
    assert merge_data(events) == expected


def test_rfc854_iac_iac_cut_between_reads_is_one_data_byte() -> None:
    """RFC 854: IAC at the end of a read and IAC at the start of the next is one 0xFF."""
    conn = _conn()
    assert conn.receive_data(b"a\xff") == [DataReceived(data=b"a")]
    assert conn.receive_data(b"\xffb") == [DataReceived(data=b"\xffb")]


def test_rfc854_read_ending_inside_a_pair_after_escaped_data() -> None:
    """RFC 854: escaped 0xFF bytes then a read ending on the first IAC of a pair keep their meaning."""
    conn = _conn()
    assert conn.receive_data(b"a\xff\xffb\xff") == [DataReceived(data=b"a\xffb")]
    assert conn.receive_data(b"\xffc\xff") == [DataReceived(data=b"\xffc")]
    assert conn.receive_data(b"\xf3") == [CommandReceived(command=Cmd.BRK)]


def test_rfc854_truncated_negotiation_waits_for_its_option_byte() -> None:
    """RFC 854: IAC WILL at the end of a read is completed by the next read's first byte."""
    conn = TelnetConnection(policy=BINARY_BOTH)
    assert conn.receive_data(b"\xff\xfb") == []
    assert conn.data_to_send() == b""
    conn.receive_data(b"\x00")
    assert conn.data_to_send() == b"\xff\xfd\x00"


def test_plain_read_is_passed_on_as_the_same_object() -> None:
    """Fast path: a read with no IAC and no CR is delivered without a copy."""
    data = bytes(range(0x20, 0x7F)) * 100
    [event] = _conn().receive_data(data)
    assert isinstance(event, DataReceived)
    assert event.data is data


def test_send_command_puts_iac_before_the_command() -> None:
    """RFC 854: an outgoing command is IAC followed by its code."""
    conn = _conn()
    conn.send_command(Cmd.BRK)
    conn.send_command(Cmd.AYT)
    assert conn.data_to_send() == b"\xff\xf3\xff\xf6"
    assert conn.data_to_send() == b""


@pytest.mark.parametrize("cmd", [Cmd.SE, Cmd.SB, Cmd.WILL, Cmd.WONT, Cmd.DO, Cmd.DONT, Cmd.IAC])
def test_send_command_refuses_what_is_not_a_bare_command(cmd: Cmd) -> None:
    """API: negotiation and sub-negotiation verbs are not bare commands and are refused."""
    from bridge.telnet import LocalProtocolError

    with pytest.raises(LocalProtocolError):
        _conn().send_command(cmd)


def test_bytearray_and_memoryview_input_give_bytes_events() -> None:
    """API: a bytearray or memoryview read is accepted and events carry immutable bytes."""
    for data in (bytearray(b"ab\xff\xffc"), memoryview(b"ab\xff\xffc")):
        [event] = _conn().receive_data(data)  # type: ignore[arg-type]
        assert event == DataReceived(data=b"ab\xffc")
        assert type(event.data) is bytes
