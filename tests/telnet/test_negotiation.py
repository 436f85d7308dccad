"""Option negotiation: RFC 854/855 rules and the RFC 1143 Q method, table and wire."""

from __future__ import annotations

import pytest

from bridge.telnet import (
    LocalProtocolError,
    Opt,
    OptionDisabled,
    OptionEnabled,
    OptionPolicy,
    OptionRefused,
    ProtocolViolation,
    Side,
    TelnetConnection,
)
from bridge.telnet.options import Input, OptionTable, Q, Reply
from tests.telnet.helpers import NOTHING, TelnetPair

# RFC 1143 section 7, written out independently of the engine's table:
# (state, input, allowed) -> (next state, reply)
RFC1143 = [
    (Q.NO, Input.PEER_YES, True, Q.YES, Reply.POSITIVE),
    (Q.NO, Input.PEER_YES, False, Q.NO, Reply.NEGATIVE),
    (Q.YES, Input.PEER_YES, True, Q.YES, Reply.NONE),
    (Q.WANTNO, Input.PEER_YES, True, Q.NO, Reply.NONE),
    (Q.WANTNO_OPPOSITE, Input.PEER_YES, True, Q.YES, Reply.NONE),
    (Q.WANTYES, Input.PEER_YES, False, Q.YES, Reply.NONE),
    (Q.WANTYES_OPPOSITE, Input.PEER_YES, True, Q.WANTNO, Reply.NEGATIVE),
    (Q.NO, Input.PEER_NO, True, Q.NO, Reply.NONE),
    (Q.YES, Input.PEER_NO, True, Q.NO, Reply.NEGATIVE),
    (Q.WANTNO, Input.PEER_NO, True, Q.NO, Reply.NONE),
    (Q.WANTNO_OPPOSITE, Input.PEER_NO, True, Q.WANTYES, Reply.POSITIVE),
    (Q.WANTYES, Input.PEER_NO, True, Q.NO, Reply.NONE),
    (Q.WANTYES_OPPOSITE, Input.PEER_NO, True, Q.NO, Reply.NONE),
    (Q.NO, Input.ASK_YES, False, Q.WANTYES, Reply.POSITIVE),
    (Q.YES, Input.ASK_YES, False, Q.YES, Reply.NONE),
    (Q.WANTNO, Input.ASK_YES, False, Q.WANTNO_OPPOSITE, Reply.NONE),
    (Q.WANTNO_OPPOSITE, Input.ASK_YES, False, Q.WANTNO_OPPOSITE, Reply.NONE),
    (Q.WANTYES, Input.ASK_YES, False, Q.WANTYES, Reply.NONE),
    (Q.WANTYES_OPPOSITE, Input.ASK_YES, False, Q.WANTYES, Reply.NONE),
    (Q.NO, Input.ASK_NO, False, Q.NO, Reply.NONE),
    (Q.YES, Input.ASK_NO, False, Q.WANTNO, Reply.NEGATIVE),
    (Q.WANTNO, Input.ASK_NO, False, Q.WANTNO, Reply.NONE),
    (Q.WANTNO_OPPOSITE, Input.ASK_NO, False, Q.WANTNO, Reply.NONE),
    (Q.WANTYES, Input.ASK_NO, False, Q.WANTYES_OPPOSITE, Reply.NONE),
    (Q.WANTYES_OPPOSITE, Input.ASK_NO, False, Q.WANTYES_OPPOSITE, Reply.NONE),
]

# Inputs that drive a fresh end into each state.
PATH_TO = {
    Q.NO: [],
    Q.WANTYES: [Input.ASK_YES],
    Q.WANTYES_OPPOSITE: [Input.ASK_YES, Input.ASK_NO],
    Q.YES: [Input.ASK_YES, Input.PEER_YES],
    Q.WANTNO: [Input.ASK_YES, Input.PEER_YES, Input.ASK_NO],
    Q.WANTNO_OPPOSITE: [Input.ASK_YES, Input.PEER_YES, Input.ASK_NO, Input.ASK_YES],
}


@pytest.mark.parametrize(("state", "event", "allowed", "after", "reply"), RFC1143,
                         ids=[f"{r[0].value}+{r[1].value}" + ("" if r[2] else "-refused") for r in RFC1143])
@pytest.mark.parametrize("side", [Side.US, Side.HIM])
def test_rfc1143_q_method_transition(side: Side, state: Q, event: Input, allowed: bool,
                                     after: Q, reply: Reply) -> None:
    """RFC 1143 section 7: every (state, input) moves to the state and sends the reply it names."""
    table = OptionTable()
    for step in PATH_TO[state]:
        table.step(3, side, step, allowed=True)
    assert table.state(3, side) is state
    taken = table.step(3, side, event, allowed=allowed)
    assert (taken.state, taken.reply) == (after, reply)
    assert table.state(3, side) is after
    assert table.state(3, Side.HIM if side is Side.US else Side.US) is Q.NO


SGA_ECHO = OptionPolicy(us=frozenset({Opt.SGA, Opt.ECHO}), him=frozenset({Opt.SGA}))


def test_rfc854_accepted_request_is_answered_and_reported() -> None:
    """RFC 854: DO for an option we offer is answered WILL and reported as enabled."""
    conn = TelnetConnection(policy=SGA_ECHO)
    assert conn.receive_data(b"\xff\xfd\x03") == [OptionEnabled(option=Opt.SGA, side=Side.US)]
    assert conn.data_to_send() == b"\xff\xfb\x03"
    assert conn.is_enabled(Opt.SGA, Side.US)


def test_rfc1143_request_for_the_current_state_is_not_answered() -> None:
    """RFC 854/1143: a second DO for an option already in force gets no answer (no loop)."""
    conn = TelnetConnection(policy=SGA_ECHO)
    conn.receive_data(b"\xff\xfd\x03")
    conn.data_to_send()
    assert conn.receive_data(b"\xff\xfd\x03\xff\xfc\x07") == []
    assert conn.data_to_send() == b""


def test_rfc1143_unsupported_option_is_refused() -> None:
    """RFC 1123 3.2.1 / RFC 1143: DO and WILL for options outside the policy get WONT and DONT."""
    conn = TelnetConnection(policy=SGA_ECHO)
    assert conn.receive_data(b"\xff\xfd\x22\xff\xfb\x01\xff\xfb\x22") == []
    assert conn.data_to_send() == b"\xff\xfc\x22\xff\xfe\x01\xff\xfe\x22"


def test_rfc861_exopl_is_refused_even_when_the_policy_lists_it() -> None:
    """RFC 861: EXOPL is always refused, in both directions."""
    conn = TelnetConnection(policy=OptionPolicy(us=frozenset({255}), him=frozenset({255})))
    assert conn.receive_data(b"\xff\xfd\xff\xff\xfb\xff") == []
    assert conn.data_to_send() == b"\xff\xfc\xff\xff\xfe\xff"
    with pytest.raises(LocalProtocolError):
        conn.request_enable(Opt.EXOPL, Side.US)


def test_rfc854_request_to_disable_is_always_honoured() -> None:
    """RFC 854: DONT for an option in force is acknowledged WONT and reported disabled."""
    conn = TelnetConnection(policy=SGA_ECHO)
    conn.request_enable(Opt.ECHO, Side.US)
    conn.receive_data(b"\xff\xfd\x01")
    assert conn.data_to_send() == b"\xff\xfb\x01"
    assert conn.receive_data(b"\xff\xfe\x01") == [OptionDisabled(option=Opt.ECHO, side=Side.US)]
    assert conn.data_to_send() == b"\xff\xfc\x01"


def test_rfc1143_refusal_of_our_request_is_reported_and_not_answered() -> None:
    """RFC 1143: WONT in answer to our DO ends the request quietly with OptionRefused."""
    conn = TelnetConnection(policy=NOTHING)
    conn.request_enable(Opt.TTYPE, Side.HIM)
    assert conn.data_to_send() == b"\xff\xfd\x18"
    assert conn.receive_data(b"\xff\xfc\x18") == [OptionRefused(option=Opt.TTYPE, side=Side.HIM)]
    assert conn.data_to_send() == b""


def test_rfc1143_request_is_sent_once_while_outstanding() -> None:
    """RFC 1143: asking twice for the same option sends one DO."""
    conn = TelnetConnection(policy=NOTHING)
    conn.request_enable(Opt.NAWS, Side.HIM)
    conn.request_enable(Opt.NAWS, Side.HIM)
    assert conn.data_to_send() == b"\xff\xfd\x1f"


def test_rfc1143_disable_while_enable_outstanding_is_queued() -> None:
    """RFC 1143: a disable asked while DO is unanswered goes out after the WILL arrives."""
    conn = TelnetConnection(policy=NOTHING)
    conn.request_enable(Opt.NAWS, Side.HIM)
    conn.request_disable(Opt.NAWS, Side.HIM)
    assert conn.data_to_send() == b"\xff\xfd\x1f"
    assert conn.receive_data(b"\xff\xfb\x1f") == []
    assert conn.data_to_send() == b"\xff\xfe\x1f"
    assert conn.receive_data(b"\xff\xfc\x1f") == []
    assert not conn.is_enabled(Opt.NAWS, Side.HIM)


def test_rfc1143_dont_answered_by_will_is_a_counted_violation() -> None:
    """RFC 1143: WILL in answer to our DONT is an error; the option ends disabled, nothing is sent."""
    conn = TelnetConnection(policy=SGA_ECHO)
    conn.request_enable(Opt.SGA, Side.HIM)
    conn.receive_data(b"\xff\xfb\x03")
    conn.request_disable(Opt.SGA, Side.HIM)
    conn.data_to_send()
    [event] = conn.receive_data(b"\xff\xfb\x03")
    assert isinstance(event, ProtocolViolation)
    assert conn.data_to_send() == b""
    assert not conn.is_enabled(Opt.SGA, Side.HIM)
    assert conn.anomalies.negotiation_errors == 1


def test_rfc1143_simultaneous_requests_are_taken_as_acknowledgments() -> None:
    """RFC 1143 section 5: DO and WILL crossing on the wire enable the option with no more traffic."""
    pair = TelnetPair(server_policy=SGA_ECHO, client_policy=SGA_ECHO)
    pair.server.request_enable(Opt.SGA, Side.HIM)
    pair.client.request_enable(Opt.SGA, Side.US)
    assert pair.pump() == 1
    assert pair.server.is_enabled(Opt.SGA, Side.HIM) and pair.client.is_enabled(Opt.SGA, Side.US)
    server_events, client_events = pair.take_events()
    assert server_events == [OptionEnabled(option=Opt.SGA, side=Side.HIM)]
    assert client_events == [OptionEnabled(option=Opt.SGA, side=Side.US)]


def test_rfc1143_request_disable_takes_effect_at_once() -> None:
    """RFC 854: our WONT is final, so the option stops being in force when we send it."""
    conn = TelnetConnection(policy=SGA_ECHO)
    conn.receive_data(b"\xff\xfd\x01")
    conn.request_disable(Opt.ECHO, Side.US)
    assert not conn.is_enabled(Opt.ECHO, Side.US)
    assert conn.data_to_send() == b"\xff\xfb\x01\xff\xfc\x01"
    assert conn.receive_data(b"\xff\xfe\x01") == []
    assert conn.data_to_send() == b""


@pytest.mark.parametrize("option", [-1, 256, Opt.TIMING_MARK, Opt.EXOPL])
def test_request_enable_rejects_options_it_cannot_negotiate(option: int) -> None:
    """API: option codes out of range, EXOPL and TIMING-MARK are refused with LocalProtocolError."""
    with pytest.raises(LocalProtocolError):
        TelnetConnection(policy=NOTHING).request_enable(option, Side.HIM)
