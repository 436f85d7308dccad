"""NVT end of line (RFC 854) in each direction, and its absence under BINARY (RFC 856)."""

from __future__ import annotations

import pytest

from bridge.telnet import (
    Cmd,
    CommandReceived,
    ConnectionClosed,
    DataReceived,
    Opt,
    OptionPolicy,
    Side,
    TelnetConnection,
)
from tests.telnet.helpers import NOTHING, TelnetPair, merge_data

BINARY = OptionPolicy(us=frozenset({Opt.BINARY}), him=frozenset({Opt.BINARY}))

RECEIVE_CASES = [
    ("CR LF stays CR LF", b"ls\r\n", b"ls\r\n", 0),
    ("CR NUL becomes a bare CR", b"a\r\x00b", b"a\rb", 0),
    ("CR NUL NUL keeps the second NUL", b"\r\x00\x00", b"\r\x00", 0),
    ("bare LF is kept", b"a\nb", b"a\nb", 0),
    ("CR followed by a letter is kept and counted", b"a\rb", b"a\rb", 1),
    ("CR CR LF: the first CR is counted", b"\r\r\n", b"\r\r\n", 1),
    ("mixed line", b"x\r\ny\r\x00z\rw", b"x\r\ny\rz\rw", 1),
    ("CR CR CR LF: two CRs are counted", b"\r\r\r\n", b"\r\r\r\n", 2),
    ("CR CR NUL: one counted, then a bare CR", b"\r\r\x00", b"\r\r", 1),
]


@pytest.mark.parametrize(("wire", "data", "bad"), [c[1:] for c in RECEIVE_CASES],
                         ids=[c[0] for c in RECEIVE_CASES])
def test_rfc854_receive_end_of_line(wire: bytes, data: bytes, bad: int) -> None:
    """RFC 854 NVT: CR NUL is a bare CR, CR LF a newline, anything else after CR is counted."""
    conn = TelnetConnection(policy=NOTHING)
    assert conn.receive_data(wire) == [DataReceived(data=data)]
    assert conn.anomalies.bad_eol == bad


@pytest.mark.parametrize(("second", "data", "bad"),
                         [(b"\x00x", b"x", 0), (b"\nx", b"\nx", 0), (b"y", b"y", 1), (b"\x00", b"", 0)])
def test_rfc854_cr_at_the_end_of_a_read_is_delivered_at_once(second: bytes, data: bytes, bad: int) -> None:
    """Issue 10 (Enter held back): a CR ending a read goes out with that read; the next byte is judged by state."""
    conn = TelnetConnection(policy=NOTHING)
    assert conn.receive_data(b"show\r") == [DataReceived(data=b"show\r")]
    assert merge_data(conn.receive_data(second)) == ([DataReceived(data=data)] if data else [])
    assert conn.anomalies.bad_eol == bad


@pytest.mark.parametrize("server", [True, False], ids=["server", "client"])
def test_no_data_byte_is_held_in_either_role(server: bool) -> None:
    """Issue 10: fed one byte at a time, every data byte is delivered by the call that brought it."""
    conn = TelnetConnection(server=server, policy=NOTHING)
    for byte in b"show\r":
        assert conn.receive_data(bytes((byte,))) == [DataReceived(data=bytes((byte,)))]
    assert conn.receive_data(b"\x00") == []  # the NUL of CR NUL: dropped, never delivered
    assert conn.receive_data(b"\r") == [DataReceived(data=b"\r")]
    assert conn.receive_data(b"\n") == [DataReceived(data=b"\n")]
    assert conn.anomalies.bad_eol == 0


def test_rfc854_cr_before_a_cr_at_a_read_boundary_is_counted_whatever_the_split() -> None:
    """RFC 854: in CR CR | CR the first two CRs are followed by CR, counted the same as unsplit."""
    whole = TelnetConnection(policy=NOTHING)
    split = TelnetConnection(policy=NOTHING)
    assert whole.receive_data(b"\r\r\rx") == [DataReceived(data=b"\r\r\rx")]
    assert split.receive_data(b"\r\r") == [DataReceived(data=b"\r\r")]
    assert split.receive_data(b"\rx") == [DataReceived(data=b"\rx")]
    assert whole.anomalies.bad_eol == split.anomalies.bad_eol == 3


def test_rfc854_cr_at_eof_adds_nothing_at_close() -> None:
    """RFC 854: a final CR was delivered with its read; the close brings no data."""
    conn = TelnetConnection(policy=NOTHING)
    assert conn.receive_data(b"\r") == [DataReceived(data=b"\r")]
    assert conn.receive_data(b"") == [ConnectionClosed()]


def test_rfc854_nul_after_a_command_after_cr_is_dropped() -> None:
    """RFC 854: CR, a command, then NUL: the CR goes out before the command, the NUL is dropped."""
    conn = TelnetConnection(policy=NOTHING)
    events = conn.receive_data(b"a\r\xff\xf1\x00b")
    assert events == [DataReceived(data=b"a\r"), CommandReceived(command=Cmd.NOP), DataReceived(data=b"b")]
    assert conn.anomalies.bad_eol == 0


def test_rfc856_cr_then_binary_then_nul_keeps_the_nul() -> None:
    """RFC 856: once the peer's BINARY is in force, a NUL after an earlier CR is data."""
    conn = TelnetConnection(policy=BINARY)
    assert conn.receive_data(b"a\r") == [DataReceived(data=b"a\r")]
    conn.receive_data(b"\xff\xfb\x00")
    assert conn.receive_data(b"\x00") == [DataReceived(data=b"\x00")]


SEND_CASES = [
    ("bare CR becomes CR NUL", b"a\rb", b"a\r\x00b"),
    ("CR LF is unchanged", b"a\r\nb", b"a\r\nb"),
    ("bare LF is unchanged", b"a\nb", b"a\nb"),
    ("CR at the end becomes CR NUL", b"a\r", b"a\r\x00"),
    ("CR CR LF", b"\r\r\n", b"\r\x00\r\n"),
    ("IAC doubled next to CR", b"\xff\r\xff", b"\xff\xff\r\x00\xff\xff"),
]


@pytest.mark.parametrize(("data", "wire"), [c[1:] for c in SEND_CASES], ids=[c[0] for c in SEND_CASES])
def test_rfc854_send_end_of_line(data: bytes, wire: bytes) -> None:
    """RFC 854 NVT: outside BINARY a bare CR goes out as CR NUL; IAC is doubled."""
    conn = TelnetConnection(policy=NOTHING)
    conn.send_data(data)
    assert conn.data_to_send() == wire


def test_rfc856_binary_receive_keeps_cr_nul() -> None:
    """RFC 856: with the peer's BINARY in force, CR NUL is two data bytes."""
    conn = TelnetConnection(policy=BINARY)
    conn.receive_data(b"\xff\xfb\x00")
    assert conn.peer_binary
    assert conn.receive_data(b"a\r\x00b\r") == [DataReceived(data=b"a\r\x00b\r")]
    assert conn.anomalies.bad_eol == 0


def test_rfc856_binary_send_only_doubles_iac() -> None:
    """RFC 856: with our BINARY in force, only IAC doubling is applied."""
    conn = TelnetConnection(policy=BINARY)
    conn.receive_data(b"\xff\xfd\x00")
    assert conn.data_to_send() == b"\xff\xfb\x00"
    assert conn.our_binary and not conn.peer_binary
    conn.send_data(b"\r\xff\r\n")
    assert conn.data_to_send() == b"\r\xff\xff\r\n"


def test_rfc856_binary_is_per_direction() -> None:
    """RFC 856: BINARY from the client does not make the server's output binary."""
    pair = TelnetPair(server_policy=BINARY, client_policy=NOTHING)
    pair.client.request_enable(Opt.BINARY, Side.US)
    pair.pump()
    assert pair.server.peer_binary and not pair.server.our_binary
    pair.server.send_data(b"\r")
    assert pair.server.data_to_send() == b"\r\x00"
    assert pair.server.receive_data(b"\r\x00") == [DataReceived(data=b"\r\x00")]


def test_rfc854_end_of_line_round_trips_between_two_engines() -> None:
    """RFC 854: bytes sent by one engine arrive unchanged at the other, in NVT mode."""
    pair = TelnetPair()
    payload = b"a\rb\r\nc\nd\r\x00e\r"
    pair.server.send_data(payload[:3])
    pair.server.send_data(payload[3:])
    wire = pair.server.data_to_send()
    events = pair.client.receive_data(wire) + pair.client.receive_data(b"")
    got = b"".join(e.data for e in events if isinstance(e, DataReceived))
    assert got == payload


def test_send_data_accepts_bytearray_and_memoryview() -> None:
    """API: send_data takes any bytes-like payload and queues immutable bytes."""
    conn = TelnetConnection(policy=NOTHING)
    conn.send_data(bytearray(b"a\r\xff"))  # type: ignore[arg-type]
    conn.send_data(memoryview(b"b"))  # type: ignore[arg-type]
    assert conn.data_to_send() == b"a\r\x00\xff\xffb"


@pytest.mark.parametrize("read", [b"x", b"show interfaces ", b"\xfe\xf2\xf0"])
def test_a_keystroke_read_without_iac_or_cr_is_passed_on_as_the_same_object(read: bytes) -> None:
    """The keystroke path: no IAC and no CR means no parsing and no copy."""
    conn = TelnetConnection(policy=NOTHING)
    (event,) = conn.receive_data(read)
    assert isinstance(event, DataReceived) and event.data is read


def test_the_binary_flags_follow_request_disable_at_once() -> None:
    """RFC 856/1143: after our DONT/WONT BINARY the EOL rules apply again in that direction, at once."""
    conn = TelnetConnection(policy=BINARY)
    conn.receive_data(b"\xff\xfb\x00\xff\xfd\x00")
    assert conn.peer_binary and conn.our_binary
    assert conn.receive_data(b"\r\x00") == [DataReceived(data=b"\r\x00")]
    conn.request_disable(Opt.BINARY, Side.HIM)
    conn.request_disable(Opt.BINARY, Side.US)
    assert not conn.peer_binary and not conn.our_binary
    assert conn.receive_data(b"\r\x00") == [DataReceived(data=b"\r")]
    conn.data_to_send()
    conn.send_data(b"\r")
    assert conn.data_to_send() == b"\r\x00"


def test_a_cr_before_binary_goes_on_and_off_does_not_eat_a_later_nul() -> None:
    """RFC 856: a CR, then BINARY from the peer, then its end: the next NUL is data, not a CR NUL's."""
    conn = TelnetConnection(policy=BINARY)
    assert conn.receive_data(b"a\r\xff\xfb\x00")[0] == DataReceived(data=b"a\r")
    conn.receive_data(b"\xff\xfc\x00")
    assert not conn.peer_binary
    assert conn.receive_data(b"\x00") == [DataReceived(data=b"\x00")]
    assert conn.anomalies.bad_eol == 0


def test_encode_passes_a_plain_read_on_as_the_same_object() -> None:
    """The output keystroke path: nothing queued, no IAC, no CR: no copy."""
    conn = TelnetConnection(policy=NOTHING)
    read = b"Router#"
    assert conn.encode(read) is read
    conn.send_command(Cmd.NOP)
    assert conn.encode(b"x\r") == b"\xff\xf1x\r\x00"
    assert conn.encode(b"") == b""
