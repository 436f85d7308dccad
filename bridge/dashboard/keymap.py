"""Keys typed in the console pane, as the bytes a terminal would send.

Pure mapping from Textual key names to VT100/xterm sequences; cursor keys
follow the device's cursor-key mode (DECCKM), as a real terminal does.
"""

from __future__ import annotations

from bridge.control.console import DEFAULT_ESCAPE, escape_name, textual_key

# Ctrl-], as in telnet: the same escape key as `serial-bridge connect` (bridge/control/console.py).
# It opens the escape prompt; pressed again at the empty prompt it goes to the device.
ESCAPE_KEY = textual_key(DEFAULT_ESCAPE)
ESCAPE_KEY_NAME = escape_name(DEFAULT_ESCAPE)
ESCAPE_CHARACTER = chr(DEFAULT_ESCAPE)   # Ctrl-] as a terminal sends it (GS), whatever its key name
ESCAPE_BYTE = bytes((DEFAULT_ESCAPE,))
# The names before the prompt, when Ctrl-] left the console at once (tests/client reads LEAVE_KEY).
LEAVE_KEY, LEAVE_KEY_NAME, LEAVE_CHARACTER = ESCAPE_KEY, ESCAPE_KEY_NAME, ESCAPE_CHARACTER
BREAK_KEY = "f2"   # a break without the prompt (the prompt's `break` does the same)
PROMPT_CANCEL_KEYS = frozenset({"escape", "ctrl+c", "ctrl+d"})   # back to the session, as in connect

_SPECIAL: dict[str, bytes] = {
    "enter": b"\r",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "backspace": b"\x7f",
    "ctrl+h": b"\x08",
    "escape": b"\x1b",
    "delete": b"\x1b[3~",
    "insert": b"\x1b[2~",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "f1": b"\x1bOP",
    "f3": b"\x1bOR",
    "f4": b"\x1bOS",
    "f5": b"\x1b[15~",
    "f6": b"\x1b[17~",
    "f7": b"\x1b[18~",
    "f8": b"\x1b[19~",
    "f9": b"\x1b[20~",
    "f10": b"\x1b[21~",
    "f11": b"\x1b[23~",
    "f12": b"\x1b[24~",
}
_CURSOR = {"up": b"A", "down": b"B", "right": b"C", "left": b"D"}


def key_bytes(key: str, character: str | None, application_cursor: bool = False) -> bytes | None:
    """The bytes for one key press, or None for a key with no meaning to a terminal.

    Args:
        key: Textual's key name (``"ctrl+a"``, ``"up"``, ``"f5"``).
        character: the character Textual reports for it, if any.
        application_cursor: the device asked for application cursor keys (DECCKM).
    """
    if key in _CURSOR:
        return (b"\x1bO" if application_cursor else b"\x1b[") + _CURSOR[key]
    special = _SPECIAL.get(key)
    if special is not None:
        return special
    if character:
        return character.encode("utf-8")
    if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
        return bytes([ord(key[5].lower()) - 96])
    return None
