"""The board's line editor: echo, erase, kill, and the keys that end a line.

A serial console's device does its own echo, so this editor returns what to
print for each key along with what the key means. End-of-line folding (CR,
LF, CR LF and CR NUL are each one Enter) happens before the editor, in
:class:`bridge.demo.console.BoardConsole`, because it must hold across phases
in which the editor is not used.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

BEL = b"\x07"
LINE_LIMIT = 256
_ESC_LIMIT = 16  # the longest escape sequence the editor skips
_ESC, _CSI, _SS3 = 1, 2, 3  # escape states: after ESC, after "ESC [", after "ESC O"
_ESCAPE_INTRODUCERS = {0x5B: _CSI, 0x4F: _SS3}


class Key(Enum):
    """What a byte meant to the editor, for the console to act on."""

    NONE = "none"            # nothing for the console: echo only, if any
    ENTER = "enter"          # CR or LF: take the line
    INTERRUPT = "interrupt"  # Ctrl-C
    EOF = "eof"              # Ctrl-D on an empty line


class LineEditor:
    """Collects one line of typed bytes and says what to echo.

    Printable ASCII is kept and echoed (unless ``echo`` is off, as for a
    password). Backspace (0x08) and DEL (0x7f) erase a character, Ctrl-U
    (0x15) the whole line. ANSI escape sequences (arrow keys and the like)
    are skipped. Other control bytes and bytes above 0x7f are ignored. A
    line holds at most ``LINE_LIMIT`` characters; past it the editor rings
    the bell.
    """

    def __init__(self) -> None:
        self.echo = True
        self._line = bytearray()
        self._escape = 0  # _ESC, _CSI or _SS3 inside an escape sequence, else 0
        self._escape_length = 0
        self._controls: dict[int, Callable[[], tuple[bytes, Key]]] = {
            0x03: self._interrupt,
            0x04: self._end_of_file,
            0x08: self._erase,
            0x0D: self._enter,
            0x15: self._kill,
            0x1B: self._start_escape,
            0x7F: self._erase,
        }

    @property
    def text(self) -> str:
        """The line typed so far."""
        return self._line.decode("ascii")

    def take(self) -> str:
        """The line typed so far; the editor starts a new, empty line."""
        text = self.text
        self.clear()
        return text

    def clear(self) -> None:
        """Forget the line typed so far (and any half-read escape sequence)."""
        self._line.clear()
        self._escape = 0

    def key(self, byte: int) -> tuple[bytes, Key]:
        """Take one typed byte (LF already folded into CR).

        Args:
            byte: the byte, 0..255.

        Returns:
            What to print, and what the key means.
        """
        if self._escape and byte >= 0x20:
            self._skip_escape(byte)
            return b"", Key.NONE
        self._escape = 0
        control = self._controls.get(byte)
        if control is not None:
            return control()
        if 0x20 <= byte < 0x7F:
            return self._insert(byte), Key.NONE
        return b"", Key.NONE

    def _insert(self, byte: int) -> bytes:
        if len(self._line) >= LINE_LIMIT:
            return BEL
        self._line.append(byte)
        return bytes((byte,)) if self.echo else b""

    def _erase(self) -> tuple[bytes, Key]:
        if not self._line:
            return b"", Key.NONE
        del self._line[-1]
        return (b"\b \b" if self.echo else b""), Key.NONE

    def _kill(self) -> tuple[bytes, Key]:
        count = len(self._line)
        self._line.clear()
        if not self.echo:
            return b"", Key.NONE
        return b"\b" * count + b" " * count + b"\b" * count, Key.NONE

    def _enter(self) -> tuple[bytes, Key]:
        return b"\r\n", Key.ENTER

    def _interrupt(self) -> tuple[bytes, Key]:
        self._line.clear()
        return b"^C\r\n", Key.INTERRUPT

    def _end_of_file(self) -> tuple[bytes, Key]:
        if self._line:
            return b"", Key.NONE
        return b"", Key.EOF

    def _start_escape(self) -> tuple[bytes, Key]:
        self._escape = _ESC
        self._escape_length = 1
        return b"", Key.NONE

    def _skip_escape(self, byte: int) -> None:
        """One byte inside ``ESC [ params final``, ``ESC O x`` or ``ESC x`` (Alt-key)."""
        self._escape_length += 1
        if self._escape == _ESC:
            self._escape = _ESCAPE_INTRODUCERS.get(byte, 0)
        elif self._escape == _SS3:
            self._escape = 0
        elif 0x40 <= byte <= 0x7E or self._escape_length >= _ESC_LIMIT:
            self._escape = 0  # a CSI sequence's final byte, or one too long to be real
