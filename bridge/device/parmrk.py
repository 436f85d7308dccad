"""Decoding of the marks the Linux line discipline inserts under PARMRK.

Theory of operation
-------------------
With ``PARMRK`` and ``INPCK`` set and ``IGNBRK``, ``BRKINT``, ``IGNPAR`` and
``ISTRIP`` clear, the kernel (``n_tty``) reports line events inside the data
stream:

* ``FF FF``      a data byte 0xFF (the kernel doubles every 0xFF it receives),
* ``FF 00 00``   a break,
* ``FF 00 X``    a parity or framing error on the byte X.

A pseudo-terminal's line discipline doubles 0xFF in the same way, so the
decoding can be proven on ptys.

Choices written down here:

* After a line error the byte X is delivered as data, right after the error
  is reported, so the data stream is the one a program without ``INPCK``
  would have seen; the error itself is the report.
* A lone ``FF`` followed by anything but ``FF`` or ``00`` (which can only
  happen in the instant ``PARMRK`` is being re-applied after a settings
  change) is taken as a data 0xFF, and decoding carries on with the next byte.
* A mark cut by a read boundary (a trailing ``FF`` or ``FF 00``) is held and
  completed by the next read.

Cost: a chunk without 0xFF is returned as it is (O(1) Python operations); a
chunk with doubled 0xFF but no ``FF 00`` is handled by ``bytes.replace``;
only chunks that contain ``FF 00`` walk their marks with ``bytes.find``
(one Python step per mark, never per byte).
"""

from __future__ import annotations

from dataclasses import dataclass

_FF = 0xFF
_MARK = b"\xff"
_ERROR_MARK = b"\xff\x00"


@dataclass(frozen=True, slots=True)
class BreakMark:
    """A break was received (``FF 00 00``)."""


@dataclass(frozen=True, slots=True)
class ErrorMark:
    """A parity or framing error on the byte ``byte`` (``FF 00 X``)."""

    byte: int


BREAK = BreakMark()

Item = bytes | BreakMark | ErrorMark


class MarkDecoder:
    """Turns a PARMRK-marked byte stream into data runs and marks.

    Feed it successive reads; it returns, in order, ``bytes`` runs of decoded
    data, ``BREAK`` and ``ErrorMark`` items. Empty data runs are never
    returned.
    """

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = b""

    @property
    def pending(self) -> bytes:
        """The incomplete mark held back from the last read (empty when none)."""
        return self._held

    def feed(self, chunk: bytes) -> list[Item]:
        """Decode one read.

        Args:
            chunk: the bytes read from the device.

        Returns:
            The decoded items, in order.
        """
        if not self._held and chunk.find(_MARK) < 0:
            return [chunk] if chunk else []
        data = self._held + chunk if self._held else chunk
        self._held = b""
        if data.find(_ERROR_MARK) < 0:
            return self._feed_doubled(data)
        return self._feed_marked(data)

    def _feed_doubled(self, data: bytes) -> list[Item]:
        """Decode data that holds doubled 0xFF but no ``FF 00``."""
        trailing = len(data) - len(data.rstrip(_MARK))
        if trailing % 2:
            self._held = _MARK
            data = data[:-1]
        data = data.replace(b"\xff\xff", _MARK)
        return [data] if data else []

    def _feed_marked(self, data: bytes) -> list[Item]:
        """Decode data that holds at least one ``FF 00``: one step per mark."""
        out: list[Item] = []
        pieces: list[bytes] = []
        size = len(data)
        start = 0                      # start of the data not yet copied
        pos = data.find(_MARK)
        while pos >= 0:
            if pos + 1 >= size or (data[pos + 1] == 0 and pos + 2 >= size):
                self._held = data[pos:]
                size = pos
                break
            follower = data[pos + 1]
            resume = pos + 1           # a lone FF is data: carry on after it
            if follower == _FF:
                pieces.append(data[start:pos + 1])
                start = resume = pos + 2
            elif follower == 0:
                pieces.append(data[start:pos])
                _flush(pieces, out)
                byte = data[pos + 2]
                out.append(BREAK if byte == 0 else ErrorMark(byte))
                start = pos + 3 if byte == 0 else pos + 2
                resume = pos + 3
            pos = data.find(_MARK, resume)
        pieces.append(data[start:size])
        _flush(pieces, out)
        return out


def _flush(pieces: list[bytes], out: list[Item]) -> None:
    """Move the collected data pieces into ``out`` as one run, if not empty."""
    run = b"".join(pieces)
    pieces.clear()
    if run:
        out.append(run)
