"""Telnet byte values: commands (RFC 854), options, RFC 2217 sub-commands.

Every value is an ``IntEnum`` member, so that values never collide as bytes
constants do (``EXOPL`` and ``IAC`` are both 255, but ``Opt.EXOPL`` is not
``Cmd.IAC``).
"""

from __future__ import annotations

from enum import Enum, IntEnum


class Cmd(IntEnum):
    """Telnet commands, the byte after IAC (RFC 854, "TELNET COMMAND STRUCTURE")."""

    SE = 240
    NOP = 241
    DM = 242
    BRK = 243
    IP = 244
    AO = 245
    AYT = 246
    EC = 247
    EL = 248
    GA = 249
    SB = 250
    WILL = 251
    WONT = 252
    DO = 253
    DONT = 254
    IAC = 255


class Opt(IntEnum):
    """Telnet option codes this engine knows by name (any 0..255 may be negotiated)."""

    BINARY = 0  # RFC 856
    ECHO = 1  # RFC 857
    SGA = 3  # RFC 858
    STATUS = 5  # RFC 859
    TIMING_MARK = 6  # RFC 860
    TTYPE = 24  # RFC 1091
    NAWS = 31  # RFC 1073
    LINEMODE = 34  # RFC 1184
    COM_PORT = 44  # RFC 2217
    EXOPL = 255  # RFC 861


class ComPortCmd(IntEnum):
    """COM-PORT-OPTION sub-commands, client to server (RFC 2217, "Command Names and Codes")."""

    SIGNATURE = 0
    SET_BAUDRATE = 1
    SET_DATASIZE = 2
    SET_PARITY = 3
    SET_STOPSIZE = 4
    SET_CONTROL = 5
    NOTIFY_LINESTATE = 6
    NOTIFY_MODEMSTATE = 7
    FLOWCONTROL_SUSPEND = 8
    FLOWCONTROL_RESUME = 9
    SET_LINESTATE_MASK = 10
    SET_MODEMSTATE_MASK = 11
    PURGE_DATA = 12


SERVER_OFFSET = 100
"""A server's answer carries the client's command code plus 100 (RFC 2217)."""


class Side(Enum):
    """Which end of an option: ``US`` is our WILL/WONT, ``HIM`` the peer's (we send DO/DONT)."""

    US = "us"
    HIM = "him"


# Sub-negotiation verbs shared by TTYPE (RFC 1091) and STATUS (RFC 859).
IS = 0
SEND = 1

IAC_BYTE = b"\xff"
IAC_IAC = b"\xff\xff"
CR = b"\r"
# The same bytes as ints, for membership: ``IAC_CODE in data`` is one memchr,
# while ``IAC_BYTE in data`` first tries the bytes as an int index, and on
# CPython 3.11 that raises and clears a TypeError on every call (about 0.3 us,
# ten times the search; docs/performance.md, "One frame each way").
IAC_CODE = 0xFF
CR_CODE = 0x0D
CR_LF = b"\r\n"
CR_NUL = b"\r\x00"

SYNCH = b"\xff\xf2"
"""RFC 854, "The Synch": IAC DM sent as TCP urgent data with DM as its last byte.

Send it in one call with ``socket.MSG_OOB`` (``sock.send(SYNCH, MSG_OOB)``): the
kernel sends IAC in band and marks the DM, the last byte of the call, as the
urgent byte, as BSD telnetd does. Everything queued before it must be on the
wire first: see :meth:`TelnetConnection.synch`.
"""
