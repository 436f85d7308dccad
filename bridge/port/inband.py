"""The in-band break sequence, for clients that cannot send IAC BRK (raw TCP, nc).

A configured byte string (``break_sequence``, for example ``~~b``) typed at the
start of a line becomes a serial break and is not passed on. The start of a
line is the start of the session or the byte after CR or LF. A partial match
at the end of a read is held until the next read decides; a mismatch passes
the held bytes on unchanged.

Cost: a read without the sequence's first byte, with nothing held, is passed
on as it is (one ``in`` test); otherwise the work is per occurrence of the
first byte (``bytes.find``), never per byte.
"""

from __future__ import annotations

BREAK = None  # the marker feed() returns where a break goes


class InbandBreak:
    """Finds the break sequence in one client's input stream."""

    __slots__ = ("seq", "_first", "_at_line_start", "_held")

    def __init__(self, seq: bytes) -> None:
        if not seq:
            raise ValueError("the break sequence must not be empty")
        self.seq = seq
        self._first = seq[:1]
        self._at_line_start = True
        self._held = b""

    def feed(self, data: bytes) -> list[bytes | None]:
        """Split ``data`` into runs to pass on and ``BREAK`` markers."""
        if self._held:
            data = self._held + data
            self._held = b""
            at_start = True
        else:
            if self._first not in data:
                if data:
                    self._at_line_start = data[-1:] in (b"\r", b"\n")
                return [data] if data else []
            at_start = self._at_line_start
        return self._scan(data, at_start)

    def _scan(self, data: bytes, at_start: bool) -> list[bytes | None]:
        out: list[bytes | None] = []
        seq, n = self.seq, len(self.seq)
        start = 0
        i = data.find(self._first)
        while i != -1:
            line_start = (i == 0 and at_start) or (i > 0 and data[i - 1:i] in (b"\r", b"\n"))
            if line_start:
                candidate = data[i:i + n]
                if candidate == seq:
                    if i > start:
                        out.append(data[start:i])
                    out.append(BREAK)
                    start = i + n
                    at_start = False
                    i = data.find(self._first, start)
                    continue
                if len(candidate) < n and seq.startswith(candidate):
                    if i > start:
                        out.append(data[start:i])
                    self._held = candidate
                    return out
            i = data.find(self._first, i + 1)
        if start < len(data):
            out.append(data[start:])
            self._at_line_start = data[-1:] in (b"\r", b"\n")
        else:
            self._at_line_start = at_start and start == 0
        return out
