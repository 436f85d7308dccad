"""Option negotiation by the Q method of RFC 1143, as transition tables.

Theory of operation
-------------------

Every option has two independent ends (RFC 855): ``US`` (we WILL or WONT
perform it; the peer sends DO/DONT) and ``HIM`` (the peer WILL or WONT; we
send DO/DONT). Each end of each option holds one :class:`Q` state: RFC 1143's
``NO``, ``YES``, ``WANTNO`` and ``WANTYES``, with the queue bit folded in as
``WANTNO_OPPOSITE`` and ``WANTYES_OPPOSITE``. Four inputs move it:

* ``PEER_YES`` - the peer sent WILL (for HIM) or DO (for US);
* ``PEER_NO``  - the peer sent WONT (for HIM) or DONT (for US);
* ``ASK_YES``  - our caller asks to enable the option;
* ``ASK_NO``   - our caller asks to disable it.

A step gives the next state, what to send (``POSITIVE`` = WILL/DO,
``NEGATIVE`` = WONT/DONT, or nothing) and a note for the caller.

Rule 1 - no loops: a request to enter the state an end is already in is not
answered (RFC 854: "If a party receives what appears to be a request to enter
some mode it is already in, the request should not be acknowledged"); only
``NO`` and ``YES`` ever answer the peer, so two Q-method engines cannot echo
each other forever.

Rule 2 - at most one outstanding request per end: while a request of ours is
unanswered (``WANT*``), a second caller request is remembered in the queue bit
and sent only when the first is answered (RFC 1143, section 7).

Rule 3 - a request to disable is always honoured (RFC 854: "a party MUST
accept a request to disable"): ``PEER_NO`` never meets a refusal.

Rule 4 - a request to enable is answered from the caller's policy, and only in
``NO``: in a ``WANT*`` state the peer's WILL/DO crossing ours is taken as the
acknowledgment (simultaneous requests, RFC 1143 section 5).

An end is *enabled* exactly in ``YES``; the connection reports
``OptionEnabled`` and ``OptionDisabled`` when that changes on input, and
``OptionRefused`` when the peer turns down a request of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bridge.telnet.constants import Cmd, Side


class Q(Enum):
    """One end's RFC 1143 state, the queue bit folded into the WANT states."""

    NO = "no"
    YES = "yes"
    WANTNO = "wantno"
    WANTNO_OPPOSITE = "wantno-opposite"
    WANTYES = "wantyes"
    WANTYES_OPPOSITE = "wantyes-opposite"


class Input(Enum):
    """What can happen to one end of an option."""

    PEER_YES = "peer-yes"
    PEER_NO = "peer-no"
    ASK_YES = "ask-yes"
    ASK_NO = "ask-no"


class Reply(Enum):
    """What to send: nothing, WILL/DO, or WONT/DONT."""

    NONE = "none"
    POSITIVE = "positive"
    NEGATIVE = "negative"


class Note(Enum):
    """Something the caller should hear about beyond the state change."""

    NONE = "none"
    REFUSED = "refused"  # our own request to enable was turned down
    PEER_ERROR = "peer-error"  # RFC 1143: "DONT answered by WILL" (and the US mirror)


@dataclass(frozen=True, slots=True)
class Step:
    """One transition: the next state, what to send, and what to tell."""

    state: Q
    reply: Reply = Reply.NONE
    note: Note = Note.NONE


POS = Reply.POSITIVE
NEG = Reply.NEGATIVE

# NO + PEER_YES depends on the policy: these two steps are chosen there.
ACCEPT = Step(Q.YES, POS)
REFUSE = Step(Q.NO, NEG)

TABLE: dict[tuple[Q, Input], Step] = {
    # --- the peer says yes (WILL for HIM, DO for US) ---
    (Q.YES, Input.PEER_YES): Step(Q.YES),  # Rule 1: already there, no answer
    (Q.WANTNO, Input.PEER_YES): Step(Q.NO, note=Note.PEER_ERROR),
    (Q.WANTNO_OPPOSITE, Input.PEER_YES): Step(Q.YES, note=Note.PEER_ERROR),
    (Q.WANTYES, Input.PEER_YES): Step(Q.YES),  # the acknowledgment we waited for
    (Q.WANTYES_OPPOSITE, Input.PEER_YES): Step(Q.WANTNO, NEG),  # queued disable now
    # --- the peer says no (WONT for HIM, DONT for US): Rule 3, always accepted ---
    (Q.NO, Input.PEER_NO): Step(Q.NO),  # Rule 1
    (Q.YES, Input.PEER_NO): Step(Q.NO, NEG),
    (Q.WANTNO, Input.PEER_NO): Step(Q.NO),
    (Q.WANTNO_OPPOSITE, Input.PEER_NO): Step(Q.WANTYES, POS),  # queued enable now
    (Q.WANTYES, Input.PEER_NO): Step(Q.NO, note=Note.REFUSED),
    (Q.WANTYES_OPPOSITE, Input.PEER_NO): Step(Q.NO),
    # --- our caller asks to enable (Rule 2: queue while a request is out) ---
    (Q.NO, Input.ASK_YES): Step(Q.WANTYES, POS),
    (Q.YES, Input.ASK_YES): Step(Q.YES),
    (Q.WANTNO, Input.ASK_YES): Step(Q.WANTNO_OPPOSITE),
    (Q.WANTNO_OPPOSITE, Input.ASK_YES): Step(Q.WANTNO_OPPOSITE),
    (Q.WANTYES, Input.ASK_YES): Step(Q.WANTYES),
    (Q.WANTYES_OPPOSITE, Input.ASK_YES): Step(Q.WANTYES),
    # --- our caller asks to disable ---
    (Q.NO, Input.ASK_NO): Step(Q.NO),
    (Q.YES, Input.ASK_NO): Step(Q.WANTNO, NEG),
    (Q.WANTNO, Input.ASK_NO): Step(Q.WANTNO),
    (Q.WANTNO_OPPOSITE, Input.ASK_NO): Step(Q.WANTNO),
    (Q.WANTYES, Input.ASK_NO): Step(Q.WANTYES_OPPOSITE),
    (Q.WANTYES_OPPOSITE, Input.ASK_NO): Step(Q.WANTYES_OPPOSITE),
}

# Received verb -> (which end it concerns, which input it is).
VERB_INPUT: dict[Cmd, tuple[Side, Input]] = {
    Cmd.WILL: (Side.HIM, Input.PEER_YES),
    Cmd.WONT: (Side.HIM, Input.PEER_NO),
    Cmd.DO: (Side.US, Input.PEER_YES),
    Cmd.DONT: (Side.US, Input.PEER_NO),
}

# (end, reply) -> the verb that goes on the wire.
REPLY_VERB: dict[tuple[Side, Reply], Cmd] = {
    (Side.US, Reply.POSITIVE): Cmd.WILL,
    (Side.US, Reply.NEGATIVE): Cmd.WONT,
    (Side.HIM, Reply.POSITIVE): Cmd.DO,
    (Side.HIM, Reply.NEGATIVE): Cmd.DONT,
}


class OptionTable:
    """The Q state of every option, both ends; absent means ``NO``."""

    def __init__(self) -> None:
        self._state: dict[tuple[int, Side], Q] = {}

    def state(self, option: int, side: Side) -> Q:
        """The current Q state of one end of an option."""
        return self._state.get((option, side), Q.NO)

    def is_enabled(self, option: int, side: Side) -> bool:
        """True when that end of the option is in force (state ``YES``)."""
        return self._state.get((option, side)) is Q.YES

    def enabled(self, side: Side) -> list[int]:
        """The options in force on one side, in increasing order."""
        return sorted(o for (o, s), q in self._state.items() if s is side and q is Q.YES)

    def step(self, option: int, side: Side, event: Input, *, allowed: bool) -> Step:
        """Apply one input and return the transition taken.

        Args:
            option: the option code, 0..255.
            side: which end of the option.
            event: what happened.
            allowed: the caller's policy for a peer's request to enable, used only in ``NO``.
        """
        current = self.state(option, side)
        if current is Q.NO and event is Input.PEER_YES:
            step = ACCEPT if allowed else REFUSE
        else:
            step = TABLE[(current, event)]
        if step.state is Q.NO:
            self._state.pop((option, side), None)
        else:
            self._state[(option, side)] = step.state
        return step
