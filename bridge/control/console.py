"""The console's escape key and command words, shared by `connect` and the dashboard.

``serial-bridge connect`` and the dashboard's attach console put a person on
a port's device; both leave the keyboard to the device except for one escape
key (``Ctrl-]``, as in BSD and Debian telnet). This module holds what they
share so that the two feel the same: how an escape key is written on the
command line, its Textual key name, and the table of command words with
their arguments and one line of help each.

It lives under ``bridge/control/`` because the dashboard may import nothing
of ``bridge`` but ``control/`` (DESIGN.md); it is pure (standard library only,
no I/O), so the client imports it without pulling in the control protocol.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DEFAULT_ESCAPE = 0x1D
"""Ctrl-] (GS, 0x1D): telnet's escape character since 4.2BSD."""

# Names of the control characters whose key is a punctuation mark (Ctrl-@ .. Ctrl-_).
_PUNCTUATION_KEYS = {
    0x00: ("@", "at"),
    0x1B: ("[", "left_square_bracket"),
    0x1C: ("\\", "backslash"),
    0x1D: ("]", "right_square_bracket"),
    0x1E: ("^", "circumflex_accent"),
    0x1F: ("_", "underscore"),
}


def parse_escape(text: str) -> int:
    """Read an escape key as written on the command line.

    Accepts ``^]`` (caret notation), ``ctrl-]`` / ``Ctrl+A``, ``0x1d`` and a
    single character (its code, 0..127).

    Returns:
        The byte value, 0..127.

    Raises:
        ValueError: a one-line reason.
    """
    raw = text.strip()
    lowered = raw.lower()
    for prefix in ("^", "ctrl-", "ctrl+", "c-"):
        if lowered.startswith(prefix) and len(raw) == len(prefix) + 1:
            key = raw[-1].upper()
            code = ord(key) ^ 0x40
            if 0 <= code < 0x20:
                return code
            if key == "?":
                return 0x7F
            raise ValueError(f"escape key {text!r}: Ctrl-{raw[-1]} is no control character")
    if re.fullmatch(r"0x[0-9a-fA-F]{1,2}", raw):
        code = int(raw, 16)
        if code < 0x80:
            return code
        raise ValueError(f"escape key {text!r}: must be 0x00..0x7f")
    if len(raw) == 1 and ord(raw) < 0x80:
        return ord(raw)
    raise ValueError(f"escape key {text!r}: write it as ^], ctrl-], 0x1d or one character")


def escape_name(code: int) -> str:
    """A key as a person reads it: ``Ctrl-]``, ``Ctrl-A``, ``~``."""
    if code < 0x20:
        punct = _PUNCTUATION_KEYS.get(code)
        return f"Ctrl-{punct[0] if punct else chr(code + 0x40)}"
    if code == 0x7F:
        return "Ctrl-?"
    return chr(code)


def textual_key(code: int) -> str:
    """Textual's name of the key that types ``code``: ``ctrl+right_square_bracket``, ``ctrl+a``."""
    if code < 0x20:
        punct = _PUNCTUATION_KEYS.get(code)
        return f"ctrl+{punct[1] if punct else chr(code + 0x60)}"
    return chr(code)


@dataclass(frozen=True, slots=True)
class CommandWord:
    """One command of the escape prompt.

    Attributes:
        name: the word typed.
        usage: the word with its arguments, as help shows it.
        help: one line saying what it does.
        args: how many arguments it takes (``min``, ``max``).
    """

    name: str
    usage: str
    help: str
    args: tuple[int, int] = (0, 0)


COMMAND_WORDS: tuple[CommandWord, ...] = (
    CommandWord("break", "break", "send a break on the serial line"),
    CommandWord("baud", "baud N", "set the line speed (RFC 2217)", (1, 1)),
    CommandWord("framing", "framing 8N1", "data bits, parity (N E O M S), stop bits (RFC 2217)", (1, 1)),
    CommandWord("flow", "flow none|rtscts|xonxoff", "set flow control (RFC 2217)", (1, 1)),
    CommandWord("dtr", "dtr on|off", "raise or drop DTR (RFC 2217)", (1, 1)),
    CommandWord("rts", "rts on|off", "raise or drop RTS (RFC 2217)", (1, 1)),
    CommandWord("ayt", "ayt", "ask the server whether it is there (Telnet AYT)"),
    CommandWord("history", "history", "show the port's recent output"),
    CommandWord("log", "log FILE|off", "append what the device sends to FILE; off stops", (1, 1)),
    CommandWord("send", "send FILE", "send a file to the device at the line rate (Ctrl-C stops)", (1, 1)),
    CommandWord("status", "status", "the connection, options, line settings and modem lines"),
    CommandWord("help", "help", "this list"),
    CommandWord("quit", "quit", "close the connection and leave"),
)
COMMANDS_BY_NAME = {word.name: word for word in COMMAND_WORDS}
FLOWS = ("none", "rtscts", "xonxoff")
ON_OFF = {"on": True, "off": False}
_FRAMING = re.compile(r"([5-8])([NEOMS])(1|1\.5|2)", re.IGNORECASE)
PARITY_LETTERS = {"N": "none", "E": "even", "O": "odd", "M": "mark", "S": "space"}


@dataclass(frozen=True, slots=True)
class Framing:
    """Data bits, parity and stop bits, as in ``8N1``."""

    bytesize: int
    parity: str
    stopbits: float

    def __str__(self) -> str:
        letter = next(k for k, v in PARITY_LETTERS.items() if v == self.parity)
        stop = "1.5" if self.stopbits == 1.5 else str(int(self.stopbits))
        return f"{self.bytesize}{letter}{stop}"


def parse_framing(text: str) -> Framing:
    """Read ``8N1``, ``7E2``, ``5O1.5``.

    Raises:
        ValueError: a one-line reason.
    """
    match = _FRAMING.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"framing {text!r}: write data bits 5-8, parity N E O M S, stop bits 1 1.5 2 (8N1)")
    return Framing(int(match.group(1)), PARITY_LETTERS[match.group(2).upper()], float(match.group(3)))


def parse_baud(text: str) -> int:
    """Read a line speed in baud (1..4294967295, RFC 2217's four bytes).

    Raises:
        ValueError: a one-line reason.
    """
    if not text.isdigit() or not 0 < int(text) < 1 << 32:
        raise ValueError(f"baud {text!r}: a whole number of baud, like 9600 or 115200")
    return int(text)


def parse_flow(text: str) -> str:
    """Read ``none``, ``rtscts`` or ``xonxoff``.

    Raises:
        ValueError: a one-line reason.
    """
    if text.lower() not in FLOWS:
        raise ValueError(f"flow {text!r}: one of {', '.join(FLOWS)}")
    return text.lower()


def parse_on_off(name: str, text: str) -> bool:
    """Read ``on`` or ``off`` for the line ``name``.

    Raises:
        ValueError: a one-line reason.
    """
    if text.lower() not in ON_OFF:
        raise ValueError(f"{name} {text!r}: on or off")
    return ON_OFF[text.lower()]


_ARGUMENT_CHECKS: dict[str, Callable[[str], object]] = {
    "baud": parse_baud,
    "framing": parse_framing,
    "flow": parse_flow,
    "dtr": lambda text: parse_on_off("dtr", text),
    "rts": lambda text: parse_on_off("rts", text),
}


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed prompt line: the word and its arguments (checked, still text)."""

    name: str
    args: tuple[str, ...] = ()


PROMPT = "serial-bridge> "
"""The escape prompt's text, the same in ``connect`` and the dashboard's console."""


def help_lines(escape: int = DEFAULT_ESCAPE, notes: Mapping[str, str] | None = None) -> list[str]:
    """What ``help`` shows: each command's usage and one line of help, then the escape key.

    Args:
        escape: the escape key's code (0..127), named in the last line.
        notes: per command word, a short remark put after its help, for a
            front end where that word does something else or nothing.

    Returns:
        One string per line, without line ends.
    """
    width = max(len(word.usage) for word in COMMAND_WORDS)
    notes = notes or {}
    lines = []
    for word in COMMAND_WORDS:
        note = f" ({notes[word.name]})" if word.name in notes else ""
        lines.append(f"  {word.usage.ljust(width)}  {word.help}{note}")
    key = escape_name(escape)
    lines.append(f"  {key} twice sends {key} itself; an empty line goes back to the session")
    return lines


def short_help() -> str:
    """The one line that lists every command."""
    return "commands: " + ", ".join(word.usage for word in COMMAND_WORDS)


def parse_command(line: str) -> Command | None:
    """Read one line typed at the escape prompt.

    ``log`` and ``send`` take the rest of the line as a file name (spaces
    included). A unique prefix of a word is taken for it (``st`` for status).

    Returns:
        The command, or None for an empty line.

    Raises:
        ValueError: one line naming the problem and what is understood.
    """
    text = line.strip()
    if not text:
        return None
    word, _, rest = text.partition(" ")
    word = word.lower()
    rest = rest.strip()
    found = COMMANDS_BY_NAME.get(word)
    if found is None:
        matches = [w for w in COMMAND_WORDS if w.name.startswith(word)]
        if len(matches) != 1:
            raise ValueError(f"unknown command {word!r}; {short_help()}")
        found = matches[0]
    if found.name in ("log", "send"):
        args: tuple[str, ...] = (rest,) if rest else ()
    else:
        args = tuple(rest.split())
    low, high = found.args
    if not low <= len(args) <= high:
        raise ValueError(f"usage: {found.usage}")
    check = _ARGUMENT_CHECKS.get(found.name)
    if check is not None:
        check(args[0])
    return Command(found.name, args)
