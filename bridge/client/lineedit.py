"""A one-line editor over raw keyboard bytes, for the escape prompt and local line mode.

With the terminal in raw mode the client does its own editing: printable
bytes are echoed and collected, Backspace (DEL or BS) erases one character,
Ctrl-U the line, Ctrl-W a word; Enter (CR or LF) ends the line; Ctrl-C, or
Ctrl-D on an empty line, cancels it. Escape sequences (cursor and function
keys) are swallowed whole. Pure: bytes in, what to echo and what
was decided out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENTER = frozenset(b"\r\n")
ERASE = frozenset(b"\x7f\x08")
KILL = 0x15  # Ctrl-U
WERASE = 0x17  # Ctrl-W
INTERRUPT = 0x03  # Ctrl-C
EOF = 0x04  # Ctrl-D


@dataclass(slots=True)
class Edit:
    """What one :meth:`LineEditor.feed` call produced.

    Attributes:
        echo: bytes to show on the terminal.
        line: the finished line (bytes, without its end), or None.
        cancelled: the user cancelled the line.
        interrupt: it was cancelled with Ctrl-C (not Ctrl-D).
        rest: input after the finished or cancelled line, not consumed.
    """

    echo: bytes = b""
    line: bytes | None = None
    cancelled: bool = False
    interrupt: bool = False
    rest: bytes = b""


@dataclass(slots=True)
class LineEditor:
    """Collects one line of keyboard input, echoing as a terminal in cooked mode would."""

    buffer: bytearray = field(default_factory=bytearray)
    skip_lf: bool = False
    in_sequence: int = 0  # inside a terminal's escape sequence (arrow keys ...): 1 after ESC, 2 after CSI

    def feed(self, data: bytes) -> Edit:
        """Take keyboard bytes; stops at the end of a line (the rest is returned unconsumed)."""
        edit = Edit()
        echo = bytearray()
        for index, byte in enumerate(data):
            if self._sequence(byte):
                continue
            if self.skip_lf:
                self.skip_lf = False
                if byte in (0x0A, 0x00):  # CR LF or CR NUL from a terminal: one Enter
                    continue
            if byte in ENTER:
                self.skip_lf = byte == 0x0D
                edit.line = bytes(self.buffer)
                self.buffer.clear()
                echo += b"\r\n"
                edit.rest = data[index + 1:]
                break
            if byte == INTERRUPT or (byte == EOF and not self.buffer):
                self.buffer.clear()
                edit.cancelled = True
                edit.interrupt = byte == INTERRUPT
                echo += b"^C\r\n" if byte == INTERRUPT else b"\r\n"
                edit.rest = data[index + 1:]
                break
            if byte in ERASE:
                if self.buffer:
                    self.buffer.pop()
                    echo += b"\b \b"
            elif byte == KILL:
                echo += b"\b \b" * len(self.buffer)
                self.buffer.clear()
            elif byte == WERASE:
                keep = bytes(self.buffer).rstrip(b" ")
                keep = keep[: keep.rfind(b" ") + 1]
                echo += b"\b \b" * (len(self.buffer) - len(keep))
                del self.buffer[len(keep):]
            elif byte >= 0x20 or byte == 0x09:
                self.buffer.append(byte)
                echo.append(byte)
        edit.echo = bytes(echo)
        return edit

    def _sequence(self, byte: int) -> bool:
        """Swallow escape sequences (``ESC [ A``, ``ESC O P``): no line editing by cursor keys here."""
        if self.in_sequence == 0:
            if byte == 0x1B:
                self.in_sequence = 1
                return True
            return False
        if self.in_sequence == 1:
            self.in_sequence = 2 if byte in (0x5B, 0x4F) else 0  # CSI or SS3; else ESC + one key
            return True
        if 0x40 <= byte <= 0x7E:  # the final byte of the sequence
            self.in_sequence = 0
        return True

    def clear(self) -> None:
        """Forget a half-typed line."""
        self.buffer.clear()
        self.skip_lf = False
        self.in_sequence = 0
