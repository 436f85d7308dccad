"""Bytes to tokens: the Telnet command layer of RFC 854, with no policy.

The parser splits a byte stream into data runs (``bytes``, IAC IAC already
collapsed to one 0xFF), bare commands (``Cmd``), option negotiations and
complete sub-negotiations. It knows nothing of option state, end-of-line
rules or what an option means; :mod:`bridge.telnet.connection` gives the
tokens their meaning.

Speed: plain data is located with ``bytes.find`` and one compiled regular
expression that swallows any number of escaped ``IAC IAC`` pairs in C, so a
run of data costs a constant number of Python operations whatever its length
or its count of 0xFF bytes. Only commands cost Python work, one token each.

Robustness: the parser never raises. A sequence cut by the end of a read is
kept in the parser's state until the next read completes it. A sub-negotiation
longer than ``subneg_limit`` is not stored past the limit and is reported as an
overflow at its IAC SE; an IAC followed by anything other than IAC or SE inside
a sub-negotiation ends it as malformed, and the command is then parsed as such
(the lost-SE recovery of BSD telnetd), so a missing SE cannot swallow the stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from bridge.telnet.constants import IAC_BYTE, IAC_IAC, Cmd

# After the first IAC of a run: any number of IAC IAC pairs, each followed by
# plain bytes. It stops before a lone IAC (a command, or the end of the read).
_ESCAPED_RUN = re.compile(b"(?:\xff\xff[^\xff]*)*")

_IAC = 0xFF
_SE = int(Cmd.SE)
_SB = int(Cmd.SB)
_WILL = int(Cmd.WILL)
_DONT = int(Cmd.DONT)
_FIRST_COMMAND = int(Cmd.SE)
_BULK = 256  # reads longer than this are first tried with the bulk IAC count
_COMMAND_OF = {int(c): c for c in Cmd}  # a dict lookup instead of the Enum machinery's Python calls


class Anomaly(Enum):
    """Kinds of bad input the parser can see; the names are the counters' names."""

    UNKNOWN_COMMAND = "unknown_commands"
    STRAY_SE = "stray_se"
    SUBNEG_OVERFLOW = "subneg_overflows"
    MALFORMED_SUBNEG = "malformed_subnegs"


@dataclass(frozen=True, slots=True)
class NegotiationToken:
    """IAC WILL/WONT/DO/DONT <option>."""

    verb: Cmd
    option: int


@dataclass(frozen=True, slots=True)
class SubnegToken:
    """IAC SB <option> <payload> IAC SE, with IAC IAC in the payload collapsed."""

    option: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class AnomalyToken:
    """Input that was dropped: its kind and a one-line description."""

    kind: Anomaly
    detail: str


Token = bytes | Cmd | NegotiationToken | SubnegToken | AnomalyToken
"""A data run is a plain ``bytes`` (IAC escapes removed) and a bare command its
``Cmd`` member (NOP, DM, BRK, IP, AO, AYT, EC, EL or GA): no wrapper object on
the paths every keystroke takes."""


def _paired_until(data: bytes, first: int) -> int:
    """Where the escaped data starting at ``first`` ends, when bulk counting can tell; else -1.

    Counted left to right, as the parser reads them, every IAC from ``first``
    on pairs up as IAC IAC exactly when there are twice as many IAC bytes as
    IAC IAC pairs: then the whole rest is data. The same test on all but a
    final IAC finds a read cut inside a command. Anything else (a command in
    the middle) is left to the regular expression.
    """
    end = len(data)
    if data.count(IAC_BYTE, first) == 2 * data.count(IAC_IAC, first):
        return end
    if data[-1] == 0xFF and data.count(IAC_BYTE, first, end - 1) == 2 * data.count(IAC_IAC, first, end - 1):
        return end - 1
    return -1


class _State(Enum):
    DATA = 0
    IAC = 1  # saw IAC, waiting for the command byte
    VERB = 2  # saw IAC WILL/WONT/DO/DONT, waiting for the option byte
    SB = 3  # inside IAC SB ... collecting
    SB_IAC = 4  # inside a sub-negotiation, saw IAC


class Parser:
    """Incremental Telnet tokenizer: ``feed(bytes) -> list[Token]``.

    Args:
        subneg_limit: the most payload bytes kept for one sub-negotiation.
    """

    def __init__(self, subneg_limit: int = 4096) -> None:
        self._limit = subneg_limit
        self._state = _State.DATA
        self._verb = Cmd.WILL
        self._sb = bytearray()
        self._sb_overflow = False

    @property
    def pending(self) -> bool:
        """True when a command or sub-negotiation was cut by the end of the input."""
        return self._state is not _State.DATA

    @property
    def buffered(self) -> int:
        """Bytes held for an unfinished sub-negotiation (never more than the limit + 1)."""
        return len(self._sb)

    def feed(self, data: bytes) -> list[Token]:
        """Tokenize the next piece of the stream; never raises on any input."""
        out: list[Token] = []
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state is _State.DATA:
                pos = self._data(data, pos, out)
            elif state is _State.SB:
                pos = self._subneg_body(data, pos)
            else:
                byte = data[pos]
                pos += 1
                if state is _State.IAC:
                    self._command(byte, out)
                elif state is _State.VERB:
                    self._state = _State.DATA
                    out.append(NegotiationToken(self._verb, byte))
                elif not self._subneg_iac(byte, out):
                    pos -= 1  # the byte is a command: parse it in the IAC state
        return out

    def _data(self, data: bytes, pos: int, out: list[Token]) -> int:
        first = data.find(IAC_BYTE, pos)
        if first < 0:
            out.append(data[pos:] if pos else data)
            return len(data)
        # The bulk count looks at the whole rest of the read: worth it once per
        # read (all-escaped data), never per run, or a read full of commands
        # would cost O(n^2); and not for a keystroke-sized read, where the
        # regular expression alone is cheaper.
        stop = _paired_until(data, first) if pos == 0 and len(data) > _BULK else -1
        if stop < 0:
            stop = _ESCAPED_RUN.match(data, first).end()  # type: ignore[union-attr]
        if stop > pos:
            run = data[pos:stop] if pos or stop < len(data) else data
            out.append(run.replace(IAC_IAC, IAC_BYTE) if stop > first else run)
        if stop < len(data):
            self._state = _State.IAC  # data[stop] is a lone IAC
            return stop + 1
        return stop

    def _command(self, byte: int, out: list[Token]) -> None:
        self._state = _State.DATA
        if byte == _IAC:  # the second half of an IAC IAC cut by a read boundary
            out.append(IAC_BYTE)
        elif _WILL <= byte <= _DONT:
            self._verb = _COMMAND_OF[byte]
            self._state = _State.VERB
        elif byte == _SB:
            self._sb.clear()
            self._sb_overflow = False
            self._state = _State.SB
        elif byte == _SE:
            out.append(AnomalyToken(Anomaly.STRAY_SE, "IAC SE outside a sub-negotiation, ignored"))
        elif byte >= _FIRST_COMMAND:
            out.append(_COMMAND_OF[byte])
        else:
            out.append(AnomalyToken(Anomaly.UNKNOWN_COMMAND, f"unknown command IAC {byte}, ignored"))

    def _subneg_body(self, data: bytes, pos: int) -> int:
        first = data.find(IAC_BYTE, pos)
        if first < 0:
            self._keep(data, pos, len(data), escaped=False)
            return len(data)
        stop = _ESCAPED_RUN.match(data, first).end()  # type: ignore[union-attr]
        self._keep(data, pos, stop, escaped=stop > first)
        if stop < len(data):
            self._state = _State.SB_IAC
            return stop + 1
        return stop

    def _keep(self, data: bytes, start: int, stop: int, *, escaped: bool) -> None:
        if self._sb_overflow or start == stop:
            return
        piece = data[start:stop]
        if escaped:
            piece = piece.replace(IAC_IAC, IAC_BYTE)
        room = self._limit + 1 - len(self._sb)  # + 1: the option byte is not payload
        if len(piece) > room:
            self._sb_overflow = True
            self._sb.clear()
        else:
            self._sb += piece

    def _subneg_iac(self, byte: int, out: list[Token]) -> bool:
        """Handle the byte after an IAC inside a sub-negotiation; False to re-parse it."""
        if byte == _IAC:
            self._state = _State.SB
            if not self._sb_overflow:
                self._keep(IAC_BYTE, 0, 1, escaped=False)
            return True
        if byte == _SE:
            self._state = _State.DATA
            out.append(self._finish_subneg())
            return True
        detail = f"sub-negotiation ended by IAC {byte} instead of IAC SE, discarded"
        out.append(AnomalyToken(Anomaly.MALFORMED_SUBNEG, detail))
        self._sb.clear()
        self._state = _State.IAC
        return False

    def _finish_subneg(self) -> Token:
        if self._sb_overflow:
            self._sb_overflow = False
            detail = f"sub-negotiation longer than {self._limit} bytes, discarded"
            return AnomalyToken(Anomaly.SUBNEG_OVERFLOW, detail)
        if not self._sb:
            return AnomalyToken(Anomaly.MALFORMED_SUBNEG, "empty sub-negotiation IAC SB IAC SE")
        option = self._sb[0]
        payload = bytes(self._sb[1:])
        self._sb.clear()
        return SubnegToken(option, payload)
