"""Property tests (hypothesis): no input raises, escaping round-trips, splitting changes nothing,
and two engines always agree and fall quiet."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.telnet import (
    DEFAULT_SERVER_POLICY,
    Cmd,
    CommandReceived,
    DataReceived,
    Event,
    Opt,
    OptionPolicy,
    Side,
    TelnetConnection,
)
from tests.telnet.helpers import TelnetPair, feed_in_pieces, merge_data

BOUNDED = settings(max_examples=200, deadline=None)

FULL = OptionPolicy(
    us=frozenset({Opt.BINARY, Opt.ECHO, Opt.SGA, Opt.STATUS, Opt.COM_PORT}),
    him=frozenset({Opt.BINARY, Opt.SGA, Opt.TTYPE, Opt.NAWS, Opt.COM_PORT, Opt.STATUS}),
)

# A transcript that touches every parser state, the EOL rules and the option handlers.
RICH = (
    b"\xff\xfb\x1f\xff\xfb\x18\xff\xfd\x05\xff\xfb\x2c\xff\xfd\x01\xff\xfb\x22"
    b"login\r\n\xff\xff\xff\xfa\x1f\x00\xff\xff\x00\x18\xff\xf0"
    b"a\r\x00b\rc\xff\xf1\r\xff\xf4\n"
    b"\xff\xfa\x18\x00VT100\xff\xf0\xff\xfa\x05\x01\xff\xf0"
    b"\xff\xfa\x2c\x01\x00\x01\xc2\x00\xff\xf0\xff\xfa\x2c\x07\xff\xf0"
    b"\xff\x07\xff\xf0\xff\xfa\x1f" + b"x" * 40 + b"\xff\xf0"
    b"\xff\xfa\x1f\x00\x50\xff\xf6\xff\xfd\x06tail\r"
)


def _run(chunks: list[bytes]) -> tuple[list[Event], bytes]:
    conn = TelnetConnection(policy=FULL, subneg_limit=32)
    events: list[Event] = []
    wire = b""
    for chunk in chunks:
        events += conn.receive_data(chunk)
        wire += conn.data_to_send()
    events += conn.receive_data(b"")
    return merge_data(events), wire


def test_every_single_split_point_of_a_rich_transcript_gives_the_same_events() -> None:
    """RFC 854: cutting the stream at any one point changes neither events nor replies."""
    whole = _run([RICH])
    assert len(whole[0]) > 15
    for cut in range(1, len(RICH)):
        assert _run([RICH[:cut], RICH[cut:]]) == whole, cut


def test_byte_by_byte_feeding_of_a_rich_transcript_gives_the_same_events() -> None:
    """RFC 854: one byte per read gives the same events and replies as one read."""
    assert _run([RICH[i:i + 1] for i in range(len(RICH))]) == _run([RICH])


@BOUNDED
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(RICH) - 1), max_size=12))
def test_any_chunking_of_a_rich_transcript_gives_the_same_events(cuts: list[int]) -> None:
    """Any set of cut points gives the same events and the same replies."""
    points = [0, *sorted(set(cuts)), len(RICH)]
    chunks = [RICH[a:b] for a, b in itertools.pairwise(points)]
    assert _run(chunks) == _run([RICH])


def _data_of(events: list[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, DataReceived))


def test_no_data_is_held_at_any_cut_of_a_rich_transcript() -> None:
    """Issue 10: after any prefix, the data delivered is all the prefix holds; the close adds none."""
    whole = _data_of(_run([RICH])[0])
    for cut in range(1, len(RICH)):
        for server in (True, False):
            conn = TelnetConnection(server=server, policy=FULL, subneg_limit=32)
            delivered = _data_of(conn.receive_data(RICH[:cut]))
            assert _data_of(conn.receive_data(b"")) == b"", cut
            assert whole.startswith(delivered), cut


DENSE = st.lists(st.sampled_from(b"\xff\xff\xff\xfa\xf0\xfb\xfc\xfd\xfe\r\r\n\x00\x01\x03\x05\x18\x1f\x2cA"),
                 max_size=300).map(bytes)


@BOUNDED
@given(data=st.binary(max_size=600) | DENSE, cuts=st.lists(st.integers(min_value=1, max_value=599), max_size=8),
       server=st.booleans(), limit=st.integers(min_value=1, max_value=64))
def test_any_byte_stream_never_raises_and_split_does_not_matter(
        data: bytes, cuts: list[int], server: bool, limit: int) -> None:
    """Whatever the peer sends, nothing raises and the chunking does not change the events."""
    one = TelnetConnection(server=server, policy=FULL, subneg_limit=limit)
    many = TelnetConnection(server=server, policy=FULL, subneg_limit=limit)
    whole = one.receive_data(data) + one.receive_data(b"")
    split = feed_in_pieces(many, data, cuts) + many.receive_data(b"")
    assert merge_data(split) == merge_data(whole)
    assert one.data_to_send() == many.data_to_send()
    assert one.anomalies == many.anomalies


@BOUNDED
@given(data=st.binary(max_size=600) | DENSE, cuts=st.lists(st.integers(min_value=1, max_value=599), max_size=8),
       server=st.booleans())
def test_data_may_not_be_held_whatever_the_stream(data: bytes, cuts: list[int], server: bool) -> None:
    """Issue 10: only an incomplete command is kept across reads: closing after any read brings no data."""
    for cut in sorted(set(cuts)) or [len(data)]:
        conn = TelnetConnection(server=server, policy=FULL)
        feed_in_pieces(conn, data[:cut], [c for c in cuts if c < cut])
        assert not [e for e in conn.receive_data(b"") if isinstance(e, DataReceived)]


def _feed_keystroke_path(conn: TelnetConnection, chunks: list[bytes]) -> list[Event]:
    """Feed as the bridge's sessions do: receive_app_data first, receive_data when it declines."""
    events: list[Event] = []
    for chunk in chunks:
        run = conn.receive_app_data(chunk)
        if run is None:
            events += conn.receive_data(chunk)
        elif run:
            events.append(DataReceived(data=run))
    return events


def _same_as_receive_data(feed: Callable[[TelnetConnection, list[bytes]], list[Event]], data: bytes,
                          cuts: list[int], server: bool, binary_first: bool) -> None:
    """``feed`` gives the data, replies and anomaly counts of receive_data alone, ``data`` cut at
    ``cuts`` (BINARY agreed first if ``binary_first``)."""
    head = b"\xff\xfb\x00\xff\xfd\x00" if binary_first else b""
    points = [0, *sorted({c for c in cuts if c < len(data)}), len(data)]
    chunks = [c for c in (head, *(data[a:b] for a, b in itertools.pairwise(points))) if c]
    plain = TelnetConnection(server=server, policy=FULL)
    fast = TelnetConnection(server=server, policy=FULL)
    expected = [e for chunk in chunks for e in plain.receive_data(chunk)] + plain.receive_data(b"")
    got = feed(fast, chunks) + fast.receive_data(b"")
    assert merge_data(got) == merge_data(expected)
    assert fast.data_to_send() == plain.data_to_send()
    assert fast.anomalies == plain.anomalies


def _feed_past_the_engine(conn: TelnetConnection, chunks: list[bytes]) -> list[Event]:
    """Feed as the bridge's direct path does: a read with no IAC and no CR passes without the
    engine while ``input_plain`` (read after each engine call, kept in between) says it may."""
    events: list[Event] = []
    plain = conn.input_plain
    for chunk in chunks:
        if plain and b"\xff" not in chunk and b"\r" not in chunk:
            events.append(DataReceived(data=chunk))
            continue
        events += _feed_keystroke_path(conn, [chunk])
        plain = conn.input_plain
    return events


@pytest.mark.parametrize("feed", [_feed_keystroke_path, _feed_past_the_engine])
@BOUNDED
@given(data=st.binary(max_size=600) | DENSE, cuts=st.lists(st.integers(min_value=1, max_value=599), max_size=12),
       server=st.booleans(), binary_first=st.booleans())
def test_the_keystroke_paths_give_what_receive_data_gives(
        feed: Callable[[TelnetConnection, list[bytes]], list[Event]],
        data: bytes, cuts: list[int], server: bool, binary_first: bool) -> None:
    """receive_app_data, with receive_data where it declines, and reads passed without the
    engine while ``input_plain`` holds (the bridge's direct path) give the same data, events,
    replies and anomaly counts as receive_data alone, for any stream cut anywhere (with BINARY
    on or off): ``input_plain`` is never true while a command or a CR's follower is pending."""
    _same_as_receive_data(feed, data, cuts, server, binary_first)


def test_input_plain_and_output_queue_say_when_the_engine_may_be_skipped() -> None:
    """input_plain: true when idle, false with half a command or a CR's follower pending, false
    once closed; output_queue: the same list throughout, empty exactly when nothing waits."""
    conn = TelnetConnection(policy=FULL)
    queue = conn.output_queue
    assert conn.input_plain
    conn.receive_data(b"ab\xff")
    assert not conn.input_plain
    conn.receive_data(b"\xf1x\r")
    assert not conn.input_plain
    conn.receive_data(b"\x00")
    assert conn.input_plain
    conn.receive_data(b"\xff\xfd\x18")   # DO TTYPE: an answer waits
    assert queue and conn.output_queue is queue
    assert conn.data_to_send() and not queue and conn.output_queue is queue
    conn.send_data(b"x")
    assert conn.encode(b"y") == b"xy" and not queue and conn.output_queue is queue
    assert conn.encode(b"plain") == b"plain"
    conn.receive_data(b"")
    assert not conn.input_plain


def test_the_keystroke_path_declines_commands_and_passes_plain_reads_on() -> None:
    """A read with IAC, or after half a command, is left to receive_data (None, nothing consumed)."""
    conn = TelnetConnection(policy=FULL)
    read = b"show run"
    assert conn.receive_app_data(read) is read
    assert conn.receive_app_data(b"x\xff\xf1") is None
    assert conn.receive_data(b"\xff") == []            # half a command now pending
    assert conn.receive_app_data(b"abc") is None
    assert merge_data(conn.receive_data(b"\xf1abc")) == [CommandReceived(command=Cmd.NOP), DataReceived(data=b"abc")]
    assert conn.receive_app_data(b"a\r\x00b") == b"a\rb"   # NVT CR NUL outside BINARY (RFC 854)
    assert conn.receive_app_data(b"") is None


@BOUNDED
@given(data=st.binary(max_size=400).map(lambda b: b.replace(b"\x00", b"\x00\xff\x0d")))
def test_hostile_streams_of_commands_never_raise(data: bytes) -> None:
    """Streams dense in IAC, CR and command bytes never raise and keep the buffer bounded."""
    dense = data.replace(b"a", b"\xff").replace(b"b", b"\xfa").replace(b"c", b"\xf0")
    conn = TelnetConnection(policy=FULL, subneg_limit=8)
    conn.receive_data(dense)
    conn.receive_data(b"")


special_bytes = st.lists(st.sampled_from([b"\xff", b"\r", b"\n", b"\x00", b"a", b"\xf0"]), max_size=60)


@BOUNDED
@given(pieces=st.lists(st.binary(max_size=200) | special_bytes.map(b"".join), max_size=6),
       binary=st.booleans(), cuts=st.lists(st.integers(min_value=1, max_value=2000), max_size=6))
def test_send_then_receive_returns_the_data_exactly(pieces: list[bytes], binary: bool, cuts: list[int]) -> None:
    """Escaping (IAC doubling, CR NUL) then parsing, in any chunks, returns the bytes exactly."""
    policy = OptionPolicy(us=frozenset({Opt.BINARY}), him=frozenset({Opt.BINARY}))
    pair = TelnetPair(server_policy=policy, client_policy=policy)
    if binary:
        pair.server.request_enable(Opt.BINARY, Side.US)
        pair.pump()
        assert pair.server.our_binary and pair.client.peer_binary
    for piece in pieces:
        pair.server.send_data(piece)
    wire = pair.server.data_to_send()
    events = feed_in_pieces(pair.client, wire, cuts) + pair.client.receive_data(b"")
    assert b"".join(e.data for e in events if isinstance(e, DataReceived)) == b"".join(pieces)
    assert pair.client.anomalies.total == 0


OPTIONS = [Opt.BINARY, Opt.ECHO, Opt.SGA, Opt.STATUS, Opt.TTYPE, Opt.NAWS, Opt.COM_PORT, 42, Opt.LINEMODE]
plain_policies = st.builds(OptionPolicy, us=st.frozensets(st.sampled_from(OPTIONS)),
                           him=st.frozensets(st.sampled_from(OPTIONS)))
policies = st.builds(OptionPolicy, us=st.frozensets(st.sampled_from(OPTIONS)),
                     him=st.frozensets(st.sampled_from(OPTIONS)), ask_terminal_type=st.booleans())
requests = st.lists(st.tuples(st.booleans(), st.booleans(), st.sampled_from(OPTIONS),
                              st.sampled_from([Side.US, Side.HIM]), st.booleans()), max_size=30)


@BOUNDED
@given(server_policy=policies, client_policy=policies, actions=requests)
def test_two_engines_always_agree_and_fall_quiet(
        server_policy: OptionPolicy, client_policy: OptionPolicy,
        actions: list[tuple[bool, bool, int, Side, bool]]) -> None:
    """RFC 1143: random policies and requests, with or without pumping between, never loop and end agreed."""
    pair = TelnetPair(server_policy=server_policy, client_policy=client_policy)
    for on_server, enable, option, side, pump in actions:
        conn = pair.server if on_server else pair.client
        (conn.request_enable if enable else conn.request_disable)(option, side)
        if pump:
            pair.pump(max_rounds=8)
    pair.pump(max_rounds=8)
    for option in OPTIONS:
        assert pair.server.is_enabled(option, Side.US) == pair.client.is_enabled(option, Side.HIM)
        assert pair.server.is_enabled(option, Side.HIM) == pair.client.is_enabled(option, Side.US)
    assert pair.server.anomalies.total == 0 and pair.client.anomalies.total == 0


@BOUNDED
@given(actions=requests)
def test_engine_against_default_server_policy_never_loops(actions: list[tuple[bool, bool, int, Side, bool]]) -> None:
    """RFC 1143: the bridge's own policy against an accept-all client settles within a few rounds."""
    everything = OptionPolicy(us=frozenset(OPTIONS), him=frozenset(OPTIONS))
    pair = TelnetPair(server_policy=DEFAULT_SERVER_POLICY, client_policy=everything)
    for on_server, enable, option, side, _ in actions:
        conn = pair.server if on_server else pair.client
        (conn.request_enable if enable else conn.request_disable)(option, side)
    pair.pump(max_rounds=8)
    for option in OPTIONS:
        assert pair.server.is_enabled(option, Side.US) == pair.client.is_enabled(option, Side.HIM)


negotiations = st.lists(st.tuples(st.sampled_from([Cmd.WILL, Cmd.WONT, Cmd.DO, Cmd.DONT]),
                                   st.sampled_from([*OPTIONS, Opt.TIMING_MARK, Opt.EXOPL])), max_size=60)


@BOUNDED
@given(policy=plain_policies, commands=negotiations, asks=requests)
def test_a_hostile_negotiator_gets_at_most_one_answer_per_command(
        policy: OptionPolicy, commands: list[tuple[Cmd, int]],
        asks: list[tuple[bool, bool, int, Side, bool]]) -> None:
    """RFC 1143: whatever the peer sends, each of its commands draws at most one reply (no amplification)."""
    conn = TelnetConnection(policy=policy)
    for _, enable, option, side, _ in asks:
        (conn.request_enable if enable else conn.request_disable)(option, side)
    conn.data_to_send()
    conn.receive_data(b"".join(bytes((Cmd.IAC, verb, option)) for verb, option in commands))
    replies = conn.data_to_send()
    assert len(replies) % 3 == 0
    assert len(replies) // 3 <= len(commands)
    assert set(replies[0::3]) <= {Cmd.IAC}


@BOUNDED
@given(data=st.lists(st.sampled_from(b"\r\r\n\x00a\xff"), max_size=40).map(bytes),
       cuts=st.lists(st.integers(min_value=1, max_value=39), max_size=6))
def test_end_of_line_handling_does_not_depend_on_the_split(data: bytes, cuts: list[int]) -> None:
    """RFC 854: CR, LF, NUL and IAC in any order give the same data and bad_eol count however cut,
    and closing after any piece brings no data (none was held)."""
    one = TelnetConnection(policy=FULL)
    many = TelnetConnection(policy=FULL)
    whole = one.receive_data(data) + one.receive_data(b"")
    split = feed_in_pieces(many, data, cuts) + many.receive_data(b"")
    assert merge_data(split) == merge_data(whole)
    assert one.anomalies == many.anomalies


@BOUNDED
@given(pieces=st.lists(st.binary(max_size=300) | special_bytes.map(b"".join), max_size=5),
       binary=st.booleans(), queued=st.booleans())
def test_encode_is_send_data_then_data_to_send(pieces: list[bytes], binary: bool, queued: bool) -> None:
    """encode(data) gives exactly what send_data(data) + data_to_send() give, queue included."""
    policy = OptionPolicy(us=frozenset({Opt.BINARY}), him=frozenset())
    one, two = TelnetConnection(policy=policy), TelnetConnection(policy=policy)
    for conn in (one, two):
        if binary:
            conn.receive_data(b"\xff\xfd\x00")
            assert conn.our_binary
        if not queued:
            conn.data_to_send()
    for piece in pieces:
        one.send_data(piece)
        assert two.encode(piece) == one.data_to_send()
        assert two.data_to_send() == b""


@BOUNDED
@given(commands=negotiations)
def test_asking_for_terminal_types_adds_at_most_one_send_per_will(commands: list[tuple[Cmd, int]]) -> None:
    """RFC 1091 asking against a hostile negotiator: one SEND per WILL TTYPE that puts it in force, no more."""
    policy = OptionPolicy(us=frozenset(), him=frozenset({Opt.TTYPE}), ask_terminal_type=True)
    conn = TelnetConnection(policy=policy)
    conn.receive_data(b"".join(bytes((Cmd.IAC, verb, option)) for verb, option in commands))
    replies = conn.data_to_send()
    sends = replies.count(b"\xff\xfa\x18\x01\xff\xf0")
    assert sends <= sum(1 for verb, option in commands if verb is Cmd.WILL and option == Opt.TTYPE)
