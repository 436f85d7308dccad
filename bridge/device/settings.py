"""The serial side's own vocabulary: line settings and modem lines.

Nothing here knows about Telnet or clients; ``bridge.port`` maps Telnet
events onto these types.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

PARITIES = ("none", "even", "odd", "mark", "space")
FLOWS = ("none", "rtscts", "xonxoff", "dsrdtr")
BYTESIZES = (5, 6, 7, 8)
STOPBITS = (1, 1.5, 2)

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
