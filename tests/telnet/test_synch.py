"""Synch and DATA MARK (RFC 854) at engine level: IAC DM is a command, never data; a lone 0xF2 is data.

Reading urgent data in band (so that the DM of a Synch comes as IAC DM in the
stream) is the socket layer's job; here the engine's side of it.
"""

from __future__ import annotations

import socket

import pytest

from bridge.telnet import (
    SYNCH,
    Cmd,
    CommandReceived,
    DataReceived,
    Event,
    ProtocolViolation,
    TelnetConnection,
)
from tests.telnet.helpers import EVERYTHING, NOTHING, TelnetPair, merge_data

DM = CommandReceived(command=Cmd.DM)

# What the parser may be doing when IAC DM comes: plain data, an escaped IAC,
# a CR whose follower is pending, after a negotiation, after a complete
# sub-negotiation, inside an unfinished one (DM then ends it as malformed and
# is honoured: RFC 854 lost-SE recovery), and right after another DM.
BEFORE = {
    "nothing": b"",
    "data": b"pre",
    "escaped IAC": b"a\xff\xff",
    "CR": b"a\r",
    "CR NUL": b"a\r\x00",
    "negotiation": b"\xff\xfb\x03",
    "sub-negotiation": b"\xff\xfa\x18\x00VT100\xff\xf0",
    "inside a sub-negotiation": b"\xff\xfa\x18\x00VT",
    "another DM": b"\xff\xf2",
}


def _events(wire: bytes, cuts: list[int], server: bool) -> list[Event]:
    conn = TelnetConnection(server=server, policy=EVERYTHING)
    events: list[Event] = []
    start = 0
    for cut in cuts:
        events += conn.receive_data(wire[start:cut])
        start = cut
    events += conn.receive_data(wire[start:])
    return merge_data(events)


@pytest.mark.parametrize("server", [True, False], ids=["server", "client"])
@pytest.mark.parametrize("before", list(BEFORE), ids=list(BEFORE))
def test_iac_dm_is_a_command_with_no_data_byte_whatever_the_state_and_split(before: str, server: bool) -> None:
    """RFC 854: IAC DM in the stream is CommandReceived(DM) and puts no 0xF2 in the data, at every split."""
    wire = BEFORE[before] + b"\xff\xf2" + b"post"
    whole = _events(wire, [], server)
    assert whole.count(DM) == (2 if before == "another DM" else 1)
    data = b"".join(e.data for e in whole if isinstance(e, DataReceived))
    assert 0xF2 not in data and data.endswith(b"post")
    for cut in range(1, len(wire)):
        assert _events(wire, [cut], server) == whole, cut
    assert _events(wire, list(range(1, len(wire))), server) == whole


def test_iac_dm_inside_a_sub_negotiation_ends_it_and_is_honoured() -> None:
    """RFC 854 (lost SE): IAC DM inside IAC SB ends the sub-negotiation as malformed; the DM still counts."""
    events = _events(b"\xff\xfa\x18\x00VT\xff\xf2post", [], True)
    assert isinstance(events[0], ProtocolViolation)
    assert events[1:] == [DM, DataReceived(data=b"post")]


@pytest.mark.parametrize("wire", [b"a\xf2b", b"\xf2", b"\xff\xff\xf2", b"\r\xf2"])
def test_a_lone_0xf2_outside_iac_is_data(wire: bytes) -> None:
    """RFC 854: 0xF2 is DM only after IAC; a Synch whose IAC was lost to urgent reading shows up as data here."""
    events = _events(wire, [], True)
    assert DM not in events
    assert 0xF2 in b"".join(e.data for e in events if isinstance(e, DataReceived))


def test_synch_drains_the_queue_and_gives_iac_dm_for_urgent_sending() -> None:
    """RFC 854: synch() returns what was queued (to send first) and IAC DM (to send with MSG_OOB)."""
    pair = TelnetPair(server_policy=NOTHING, client_policy=NOTHING)
    pair.server.send_data(b"before")
    in_band, urgent = pair.server.synch()
    assert (in_band, urgent) == (b"before", SYNCH) and SYNCH == b"\xff\xf2"
    assert pair.server.data_to_send() == b""
    assert pair.server.synch() == (b"", SYNCH)
    assert pair.client.receive_data(in_band + urgent) == [DataReceived(data=b"before"), DM]


def test_synch_sent_with_msg_oob_arrives_as_iac_dm_when_urgent_data_is_read_in_band() -> None:
    """RFC 854 over real loopback TCP: SYNCH sent with MSG_OOB, read with SO_OOBINLINE, is IAC DM to the engine."""
    server = TelnetConnection(server=True, policy=NOTHING)
    client = TelnetConnection(server=False, policy=NOTHING)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname(), timeout=5) as sender:
            receiver, _ = listener.accept()
            with receiver:
                receiver.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
                receiver.settimeout(5)
                server.send_data(b"pre")
                in_band, urgent = server.synch()
                sender.sendall(in_band)
                sender.send(urgent, socket.MSG_OOB)
                sender.sendall(b"post")
                sender.shutdown(socket.SHUT_WR)
                wire = b""
                for _ in range(100):  # bounded: the stream is 9 bytes
                    chunk = receiver.recv(64)
                    if not chunk:
                        break
                    wire += chunk
    assert wire == b"pre\xff\xf2post"
    events = merge_data(client.receive_data(wire))
    assert events == [DataReceived(data=b"pre"), DM, DataReceived(data=b"post")]
