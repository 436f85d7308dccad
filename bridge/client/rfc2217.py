"""RFC 2217 as a client sees it: request values out, answers in, and what the server said so far.

Values follow RFC 2217, "Com Port Configuration": SET-PARITY 1 NONE, 2 ODD,
3 EVEN, 4 MARK, 5 SPACE; SET-STOPSIZE 1 (one), 2 (two), 3 (one and a half);
SET-CONTROL 1/2/3 outbound flow none/XON-XOFF/hardware, 5/6 BREAK on/off,
8/9 DTR on/off, 11/12 RTS on/off, and 0, 4, 7, 10 to ask for the current
flow, BREAK, DTR and RTS state. A value of 0 in SET-BAUDRATE, SET-DATASIZE,
SET-PARITY and SET-STOPSIZE asks for the current setting.
NOTIFY-MODEMSTATE bits: 0x80 CD, 0x40 RI, 0x20 DSR, 0x10 CTS and their
deltas below.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.telnet import ComPortCmd

PARITY_CODES = {"none": 1, "odd": 2, "even": 3, "mark": 4, "space": 5}
PARITY_NAMES = {code: name for name, code in PARITY_CODES.items()}
STOPSIZE_CODES = {1.0: 1, 2.0: 2, 1.5: 3}
STOPSIZE_VALUES = {code: value for value, code in STOPSIZE_CODES.items()}
FLOW_CODES = {"none": 1, "xonxoff": 2, "rtscts": 3}
FLOW_NAMES = {code: name for name, code in FLOW_CODES.items()}
ASK_FLOW, BREAK_ON, BREAK_OFF, ASK_DTR, DTR_ON, DTR_OFF, ASK_RTS, RTS_ON, RTS_OFF = 0, 5, 6, 7, 8, 9, 10, 11, 12
MODEM_BITS = ((0x10, "CTS"), (0x20, "DSR"), (0x40, "RI"), (0x80, "CD"))


@dataclass(slots=True)
class LineView:
    """The line settings and modem lines as the server last reported them (None: not reported)."""

    baud: int | None = None
    bytesize: int | None = None
    parity: str | None = None
    stopbits: float | None = None
    flow: str | None = None
    dtr: bool | None = None
    rts: bool | None = None
    modem: int | None = None
    signature: str | None = None

    def update(self, command: ComPortCmd, value: bytes) -> None:
        """Take one server answer or notification (command without the +100)."""
        if command is ComPortCmd.SET_BAUDRATE and len(value) == 4:
            self.baud = int.from_bytes(value, "big")
        elif command is ComPortCmd.SIGNATURE:
            self.signature = value.decode("utf-8", "replace")
        elif len(value) != 1:
            return
        elif command is ComPortCmd.SET_DATASIZE:
            self.bytesize = value[0]
        elif command is ComPortCmd.SET_PARITY:
            self.parity = PARITY_NAMES.get(value[0], self.parity)
        elif command is ComPortCmd.SET_STOPSIZE:
            self.stopbits = STOPSIZE_VALUES.get(value[0], self.stopbits)
        elif command is ComPortCmd.NOTIFY_MODEMSTATE:
            self.modem = value[0]
        elif command is ComPortCmd.SET_CONTROL:
            self._control(value[0])

    def _control(self, code: int) -> None:
        if code in FLOW_NAMES:
            self.flow = FLOW_NAMES[code]
        elif code in (DTR_ON, DTR_OFF):
            self.dtr = code == DTR_ON
        elif code in (RTS_ON, RTS_OFF):
            self.rts = code == RTS_ON

    @property
    def framing(self) -> str:
        """``8N1`` and so on, ``?`` for parts not reported."""
        size = "?" if self.bytesize is None else str(self.bytesize)
        parity = "?" if self.parity is None else self.parity[0].upper()
        stop = "?" if self.stopbits is None else ("1.5" if self.stopbits == 1.5 else str(int(self.stopbits)))
        return f"{size}{parity}{stop}"

    def modem_text(self) -> str:
        """``CTS on, DSR off, RI off, CD on`` or ``not reported``."""
        if self.modem is None:
            return "not reported (no NOTIFY-MODEMSTATE yet)"
        return ", ".join(f"{name} {'on' if self.modem & bit else 'off'}" for bit, name in MODEM_BITS)

    def char_bits(self) -> int:
        """Bits on the wire per character: start, data, parity, stop (10 for 8N1)."""
        parity = 0 if self.parity in (None, "none") else 1
        stop = 1.0 if self.stopbits is None else self.stopbits
        return int(1 + (self.bytesize or 8) + parity + stop + 0.5)


def on_off(value: bool | None) -> str:
    """``on``, ``off`` or ``?``."""
    return "?" if value is None else ("on" if value else "off")
