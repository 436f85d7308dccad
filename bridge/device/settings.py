"""The serial side's own vocabulary: line settings and modem lines.

Nothing here knows about Telnet or clients; ``bridge.port`` maps Telnet
events onto these types.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

PARITIES = ("none", "even", "odd", "mark", "space")
FLOWS = ("none", "rtscts", "xonxoff", "dsrdtr")
BYTESIZES = (5, 6, 7, 8)
STOPBITS = (1, 1.5, 2)
MAX_BAUD = 20_000_000
LINE_SETTING_KEYS = ("baud", "bytesize", "parity", "stopbits", "flow")


# -- the one validator of line settings (issue 13) ------------------------------
# The config file (config/keys.py), the control API's "set" (control/schema.py)
# and the bridge (server.py) all check a line setting here, so that what one
# accepts the others accept too.

def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _baud(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"must be a positive integer, got {_show(value)}")
    if value > MAX_BAUD:
        raise ValueError(f"must be at most {MAX_BAUD}, got {_show(value)}")
    return value


def _bytesize(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value not in BYTESIZES:
        raise ValueError(f"must be an integer from {BYTESIZES[0]} to {BYTESIZES[-1]}, got {_show(value)}")
    return value


def _stopbits(value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in STOPBITS:
        return 1.5 if value == 1.5 else int(value)
    raise ValueError(f"must be 1, 1.5 or 2, got {_show(value)}")


def _one_of(options: tuple[str, ...]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if isinstance(value, str) and value in options:
            return value
        import difflib   # only for a mistake: the daemon never loads it otherwise (issue 10, RSS)

        close = difflib.get_close_matches(value, options, n=1, cutoff=0.6) if isinstance(value, str) else []
        hint = f"; did you mean {_show(close[0])}?" if close else ""
        raise ValueError(f"must be one of {' | '.join(options)}, got {_show(value)}{hint}")
    return check


LINE_SETTING_CHECKS: dict[str, Callable[[object], object]] = {
    "baud": _baud,
    "bytesize": _bytesize,
    "parity": _one_of(PARITIES),
    "stopbits": _stopbits,
    "flow": _one_of(FLOWS),
}


def check_line_setting(key: str, value: object) -> object:
    """Check one line setting; returns the value to use (stop bits 2.0 become 2).

    Args:
        key: one of ``LINE_SETTING_KEYS``: baud (bits/s, 1..MAX_BAUD),
            bytesize (5..8 bits), parity, stopbits (1, 1.5, 2), flow.
        value: as read from TOML or JSON.

    Raises:
        ValueError: the reason, a phrase that completes "baud: ..."
            (such as "must be a positive integer, got 0"); or an unknown key.
    """
    check = LINE_SETTING_CHECKS.get(key)
    if check is None:
        raise ValueError(f"unknown line setting {key!r} (known: {', '.join(LINE_SETTING_KEYS)})")
    return check(value)


def check_line_changes(changes: Mapping[str, object]) -> dict[str, object]:
    """Check a change of some line settings; returns it with values normalised.

    Raises:
        ValueError: one line naming the key: "parity: must be one of ...".
    """
    checked: dict[str, object] = {}
    for key, value in changes.items():
        if key not in LINE_SETTING_CHECKS:
            raise ValueError(f"unknown setting {key!r} (known: {', '.join(LINE_SETTING_KEYS)})")
        try:
            checked[key] = check_line_setting(key, value)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
    return checked

_PARITY_LETTER = {"none": "N", "even": "E", "odd": "O", "mark": "M", "space": "S"}


@dataclass(frozen=True, slots=True)
class LineSettings:
    """Baud rate, framing and flow control of a serial line."""

    baud: int = 9600
    bytesize: int = 8
    parity: str = "none"
    stopbits: float = 1
    flow: str = "none"

    def short(self) -> str:
        """The usual short form, for example ``9600 8N1`` (flow appended when not none)."""
        stop = "1.5" if self.stopbits == 1.5 else str(int(self.stopbits))
        text = f"{self.baud} {self.bytesize}{_PARITY_LETTER.get(self.parity, '?')}{stop}"
        if self.flow != "none":
            text += f" {self.flow}"
        return text

    def with_changes(self, **changes: object) -> LineSettings:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ModemLines:
    """Input modem lines as read from the device; None where the device has none."""

    cts: bool = False
    dsr: bool = False
    ri: bool = False
    cd: bool = False
