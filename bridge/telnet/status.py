"""STATUS (RFC 859): the IS answer we send, and the IS we may receive.

``IAC SB STATUS IS ... IAC SE`` lists ``WILL <option>`` for every option in
force on the sender's side and ``DO <option>`` for every option in force on
the receiver's side. RFC 859: an SE byte inside the list must be doubled
(``SE SE``) so that it is not read as the end of an SB group, and an IAC byte
is doubled as everywhere in a sub-negotiation.
"""

from __future__ import annotations

from collections.abc import Iterable

from bridge.telnet.constants import IAC_BYTE, IAC_IAC, IS, Cmd, Opt

_SE = int(Cmd.SE)
_SB = int(Cmd.SB)
_VERBS = frozenset({int(Cmd.WILL), int(Cmd.WONT), int(Cmd.DO), int(Cmd.DONT)})


def _option_byte(option: int) -> bytes:
    return bytes((option, option)) if option == _SE else bytes((option,))


def encode_is(ours: Iterable[int], his: Iterable[int]) -> bytes:
    """The full wire form of ``IAC SB STATUS IS ... IAC SE``.

    Args:
        ours: options in force on our side (sent as WILL).
        his: options in force on the peer's side (sent as DO).
    """
    body = bytearray((Opt.STATUS, IS))
    for verb, options in ((Cmd.WILL, ours), (Cmd.DO, his)):
        for option in options:
            body += bytes((verb,)) + _option_byte(option)
    return b"\xff\xfa" + bytes(body).replace(IAC_BYTE, IAC_IAC) + b"\xff\xf0"


def decode_is(payload: bytes) -> tuple[frozenset[int], frozenset[int]] | str:
    """Decode the peer's IS list (the bytes after ``STATUS IS``).

    Returns:
        ``(will, do)``: the options the peer says it performs, and those it says
        we perform; or a one-line description of what is wrong.
    """
    will: set[int] = set()
    do: set[int] = set()
    i, n = 0, len(payload)
    while i < n:
        verb = payload[i]
        if verb == _SB:
            i = _skip_sb_group(payload, i + 1)
            continue
        if verb not in _VERBS or i + 1 >= n:
            return f"STATUS IS with an unexpected byte {verb} at offset {i}"
        option = payload[i + 1]
        i += 3 if option == _SE and payload[i + 2 : i + 3] == b"\xf0" else 2
        if verb == Cmd.WILL:
            will.add(option)
        elif verb == Cmd.DO:
            do.add(option)
    return frozenset(will), frozenset(do)


def _skip_sb_group(payload: bytes, i: int) -> int:
    """Index after the ``SE`` closing an ``SB option ... SE`` group (``SE SE`` is data)."""
    while True:
        j = payload.find(b"\xf0", i)
        if j < 0:
            return len(payload)
        if payload[j + 1 : j + 2] == b"\xf0":
            i = j + 2
            continue
        return j + 1
