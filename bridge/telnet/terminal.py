"""TERMINAL-TYPE (RFC 1091) and NAWS (RFC 1073) sub-negotiation codecs."""

from __future__ import annotations

from bridge.telnet.constants import IAC_BYTE, IAC_IAC, IS, SEND, Opt
from bridge.telnet.errors import LocalProtocolError

MAX_TERMINAL_TYPE = 40
"""RFC 1091: a terminal type name has at most 40 characters."""


def _sb(option: int, body: bytes) -> bytes:
    return b"\xff\xfa" + bytes((option,)) + body.replace(IAC_BYTE, IAC_IAC) + b"\xff\xf0"


def encode_ttype_send() -> bytes:
    """``IAC SB TERMINAL-TYPE SEND IAC SE``."""
    return _sb(Opt.TTYPE, bytes((SEND,)))


def encode_ttype_is(name: str) -> bytes:
    """``IAC SB TERMINAL-TYPE IS <name> IAC SE`` (ASCII, as RFC 1091 asks).

    Raises:
        LocalProtocolError: when the name is empty, not ASCII or longer than 40 characters.
    """
    if not name or len(name) > MAX_TERMINAL_TYPE or not name.isascii():
        raise LocalProtocolError(f"terminal type must be 1..{MAX_TERMINAL_TYPE} ASCII characters: {name!r}")
    return _sb(Opt.TTYPE, bytes((IS,)) + name.encode("ascii"))


def decode_ttype_is(payload: bytes) -> str | None:
    """The name in a TERMINAL-TYPE IS payload (after ``IS``), or None when unusable."""
    if not payload or len(payload) > MAX_TERMINAL_TYPE:
        return None
    return payload.decode("ascii", errors="replace")


def encode_naws(width: int, height: int) -> bytes:
    """``IAC SB NAWS <w16> <h16> IAC SE``; a 255 byte in a size goes out doubled (RFC 1073).

    Raises:
        LocalProtocolError: when a size does not fit in 16 bits.
    """
    if not (0 <= width <= 0xFFFF and 0 <= height <= 0xFFFF):
        raise LocalProtocolError(f"window size must be 0..65535 each, not {width}x{height}")
    return _sb(Opt.NAWS, width.to_bytes(2, "big") + height.to_bytes(2, "big"))


def decode_naws(payload: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a NAWS payload, or None unless it is exactly four bytes."""
    if len(payload) != 4:
        return None
    return int.from_bytes(payload[:2], "big"), int.from_bytes(payload[2:], "big")
