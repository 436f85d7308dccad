"""RFC 1091 in the server role: with OptionPolicy.ask_terminal_type, the engine asks for the
client's terminal types until the list repeats, bounded; without it, nothing changes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from bridge.telnet import (
    DEFAULT_SERVER_POLICY,
    TERMINAL_TYPE_ASKS,
    Event,
    Opt,
    OptionEnabled,
    OptionPolicy,
    Side,
    TelnetConnection,
    TerminalTypeReceived,
    TerminalTypeRequested,
)

SEND = b"\xff\xfa\x18\x01\xff\xf0"
ASKING = OptionPolicy(us=frozenset(), him=frozenset({Opt.TTYPE}), ask_terminal_type=True)
CLIENT = OptionPolicy(us=frozenset({Opt.TTYPE}), him=frozenset())


def _converse(server: TelnetConnection, names: Iterator[str], rounds: int = 50) -> tuple[list[Event], int]:
    """A client that offers WILL TTYPE and answers each SEND with the next name; returns
    the server's events and how many SENDs it sent. Bounded by ``rounds`` exchanges."""
    client = TelnetConnection(server=False, policy=CLIENT)
    client.request_enable(Opt.TTYPE, Side.US)
    events: list[Event] = []
    sends = 0
    for _ in range(rounds):
        to_server = client.data_to_send()
        if not to_server:
            break
        events += server.receive_data(to_server)
        to_client = server.data_to_send()
        sends += to_client.count(SEND)
        for event in client.receive_data(to_client):
            if isinstance(event, TerminalTypeRequested):
                client.send_terminal_type(next(names))
    else:
        raise AssertionError("still talking")
    return events, sends


def _names(events: list[Event]) -> list[str]:
    return [e.name for e in events if isinstance(e, TerminalTypeReceived)]


def _list_repeating_last(*names: str) -> Iterator[str]:
    """RFC 1091: the last type is sent again at the end of the list, then the list starts over."""
    return itertools.cycle([*names, names[-1]])


def test_rfc1091_asks_until_the_last_name_comes_twice() -> None:
    """RFC 1091: SEND after WILL is in force, again after each IS, until a name repeats."""
    server = TelnetConnection(server=True, policy=ASKING)
    events, sends = _converse(server, _list_repeating_last("XTERM-256COLOR", "XTERM", "VT100"))
    assert events[0] == OptionEnabled(option=Opt.TTYPE, side=Side.HIM)
    assert _names(events) == ["XTERM-256COLOR", "XTERM", "VT100", "VT100"]
    assert sends == 4
    assert server.terminal_types == ("XTERM-256COLOR", "XTERM", "VT100")


def test_rfc1091_a_list_that_starts_over_ends_the_round_on_its_first_name() -> None:
    """RFC 1091: a client that cycles back to its first name ends the round there (its type in use)."""
    server = TelnetConnection(server=True, policy=ASKING)
    events, sends = _converse(server, itertools.cycle(["ANSI", "VT100"]))
    assert _names(events) == ["ANSI", "VT100", "ANSI"]
    assert sends == 3


def test_rfc1091_a_single_name_is_asked_twice() -> None:
    """RFC 1091: Debian telnet names one type; the second answer repeats it and the server stops."""
    server = TelnetConnection(server=True, policy=ASKING)
    events, sends = _converse(server, itertools.repeat("XTERM"))
    assert _names(events) == ["XTERM", "XTERM"]
    assert sends == 2


def test_rfc1091_names_compare_without_case() -> None:
    """RFC 1091: terminal type names are case-insensitive, so xterm after XTERM is a repeat."""
    server = TelnetConnection(server=True, policy=ASKING)
    events, sends = _converse(server, iter(["XTERM", "xterm", "never asked"]))
    assert _names(events) == ["XTERM", "xterm"]
    assert sends == 2


def test_rfc1091_a_client_with_endless_new_names_is_asked_a_bounded_number_of_times() -> None:
    """A client that never repeats (hostile or broken) gets at most TERMINAL_TYPE_ASKS SENDs."""
    server = TelnetConnection(server=True, policy=ASKING)
    events, sends = _converse(server, (f"T{i}" for i in itertools.count()))
    assert sends == TERMINAL_TYPE_ASKS == 8
    assert _names(events) == [f"T{i}" for i in range(TERMINAL_TYPE_ASKS)]


def test_rfc1091_asked_again_after_the_option_is_switched_off_and_on() -> None:
    """RFC 1091: a new WILL TERMINAL-TYPE starts a new round."""
    server = TelnetConnection(server=True, policy=ASKING)
    _converse(server, itertools.repeat("XTERM"))
    server.receive_data(b"\xff\xfc\x18")  # WONT TTYPE
    assert server.data_to_send() == b"\xff\xfe\x18"
    server.receive_data(b"\xff\xfb\x18")  # WILL TTYPE
    assert server.data_to_send() == b"\xff\xfd\x18" + SEND


def test_rfc1091_asking_starts_when_our_own_do_is_accepted() -> None:
    """RFC 1091: a server that sent DO TTYPE asks once the client's WILL puts the option in force."""
    server = TelnetConnection(server=True, policy=ASKING)
    server.request_enable(Opt.TTYPE, Side.HIM)
    assert server.data_to_send() == b"\xff\xfd\x18"
    assert server.receive_data(b"\xff\xfb\x18") == [OptionEnabled(option=Opt.TTYPE, side=Side.HIM)]
    assert server.data_to_send() == SEND


@pytest.mark.parametrize("policy", [DEFAULT_SERVER_POLICY, OptionPolicy(us=frozenset(), him=frozenset({Opt.TTYPE}))],
                         ids=["default server policy", "plain policy"])
def test_without_the_switch_will_ttype_is_only_agreed(policy: OptionPolicy) -> None:
    """Off by default: WILL TTYPE gets DO TTYPE and no SEND (the client role and old behaviour)."""
    assert not policy.ask_terminal_type
    conn = TelnetConnection(server=True, policy=policy)
    conn.receive_data(b"\xff\xfb\x18")
    assert conn.data_to_send() == b"\xff\xfd\x18"


def test_a_split_stream_gets_the_same_asks() -> None:
    """The asking does not depend on how the client's answers are cut into reads."""
    wire = (b"\xff\xfb\x18\xff\xfa\x18\x00XTERM-256COLOR\xff\xf0"
            b"\xff\xfa\x18\x00XTERM\xff\xf0\xff\xfa\x18\x00XTERM\xff\xf0")
    whole = TelnetConnection(server=True, policy=ASKING)
    whole.receive_data(wire)
    expected = whole.data_to_send()
    assert expected == b"\xff\xfd\x18" + SEND * 3
    for cut in range(1, len(wire)):
        split = TelnetConnection(server=True, policy=ASKING)
        split.receive_data(wire[:cut])
        split.receive_data(wire[cut:])
        assert split.data_to_send() == expected, cut


def test_a_send_crossing_our_wont_is_not_an_anomaly() -> None:
    """RFC 1143 race: the client offers WILL TTYPE, then withdraws (WONT) before the server's
    DO and SB TTYPE SEND arrive. That SEND was legitimate when sent: the client ignores it
    without counting a protocol fault (found by the two-engine property test)."""
    server = TelnetConnection(server=True, policy=ASKING)
    client = TelnetConnection(server=False, policy=CLIENT)
    client.request_enable(Opt.TTYPE, Side.US)
    server.receive_data(client.data_to_send())            # WILL TTYPE
    from_server = server.data_to_send()                    # DO TTYPE, SB TTYPE SEND
    assert SEND in from_server
    client.receive_data(from_server[:3])                    # DO TTYPE: in force
    client.request_disable(Opt.TTYPE, Side.US)              # WONT TTYPE, crossing the SEND
    events = client.receive_data(from_server[3:])           # the SEND arrives after our WONT
    assert not [e for e in events if isinstance(e, TerminalTypeRequested)]
    assert client.anomalies.total == 0
