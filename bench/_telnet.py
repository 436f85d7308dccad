"""A minimal Telnet client side for the benchmark: decode, answer, escape.

It understands just enough to measure a Telnet port fairly: IAC IAC is a
data 0xFF, option requests get an answer (BINARY, ECHO and SGA accepted,
anything else refused, never answering the same thing twice so two peers
cannot loop), sub-negotiations and other commands are dropped. Scanning uses
``bytes.find`` so that decoding costs the client little next to the daemon.
A sub-negotiation whose data holds a doubled IAC right before its end is
not handled (no server sends one in these measurements).
"""

from __future__ import annotations

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
BINARY, ECHO, SGA = 0, 1, 3
_VERBS = (WILL, WONT, DO, DONT)


class TelnetDecoder:
    """Turns a server's Telnet stream into data, collecting the answers owed."""

    def __init__(self, accept_him: frozenset[int] = frozenset({BINARY, ECHO, SGA}),
                 accept_us: frozenset[int] = frozenset({BINARY, SGA})) -> None:
        """Accept the server enabling ``accept_him``, and enabling ``accept_us`` ourselves."""
        self.accept_him = accept_him
        self.accept_us = accept_us
        self.him: set[int] = set()
        self.us: set[int] = set()
        self._sent: dict[tuple[bool, int], int] = {}
        self._replies = bytearray()
        self._tail = b""

    def request(self, verb: int, opt: int) -> bytes:
        """The bytes asking for ``verb`` on ``opt``, remembered so the answer is not re-answered."""
        self._sent[(verb in (DO, DONT), opt)] = verb
        return bytes((IAC, verb, opt))

    def replies(self) -> bytes:
        """Answers owed to the server since the last call (send them)."""
        out, self._replies = bytes(self._replies), bytearray()
        return out

    def feed(self, data: bytes) -> bytes:
        """Decode a chunk; return its data bytes (commands removed, 0xFF single)."""
        if self._tail:
            data, self._tail = self._tail + data, b""
        iacs = data.count(b"\xff")
        if not iacs:
            return data
        if iacs == 2 * data.count(b"\xff\xff"):
            # Every run of 0xFF has even length: all escaped data, no command.
            return data.replace(b"\xff\xff", b"\xff")
        at = data.find(b"\xff")
        out: list[bytes] = []
        pos = 0
        while at >= 0:
            out.append(data[pos:at])
            pos = self._command(data, at, out)
            if pos < 0:
                self._tail = data[at:]
                return b"".join(out)
            at = data.find(b"\xff", pos)
        out.append(data[pos:])
        return b"".join(out)

    def _command(self, data: bytes, at: int, out: list[bytes]) -> int:
        """Handle the command at ``data[at]``; return where data resumes, -1 if incomplete."""
        if at + 1 >= len(data):
            return -1
        cmd = data[at + 1]
        if cmd == IAC:
            out.append(b"\xff")
            return at + 2
        if cmd in _VERBS:
            if at + 2 >= len(data):
                return -1
            self._answer(cmd, data[at + 2])
            return at + 3
        if cmd == SB:
            end = data.find(bytes((IAC, SE)), at + 2)
            return -1 if end < 0 else end + 2
        return at + 2

    def _answer(self, verb: int, opt: int) -> None:
        """Answer an option request unless the same answer was our last word on it."""
        remote = verb in (WILL, WONT)
        if remote:
            ok = verb == WILL and opt in self.accept_him
            answer, enabled = (DO if ok else DONT), self.him
        else:
            ok = verb == DO and opt in self.accept_us
            answer, enabled = (WILL if ok else WONT), self.us
        if ok:
            enabled.add(opt)
        else:
            enabled.discard(opt)
        key = (remote, opt)
        if self._sent.get(key) != answer:
            self._sent[key] = answer
            self._replies += bytes((IAC, answer, opt))


def escape(data: bytes) -> bytes:
    """Double every 0xFF, as a Telnet sender must for data."""
    return data.replace(b"\xff", b"\xff\xff")
