"""Value checkers for configuration keys.

Each checker takes the value tomllib produced and returns the value to store
(sometimes normalised, such as 1.0 stop bits becoming 1), or raises
``Invalid`` with a message that completes the sentence "key 'baud': ...".
Nothing here knows about files, lines or ports: ``load.py`` adds those.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

Checker = Callable[[Any], Any]

NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_HEX4_RE = re.compile(r"[0-9A-Fa-f]{4}")
_USB_PATH_RE = re.compile(r"[0-9]+-[0-9]+(\.[0-9]+)*(:[0-9]+\.[0-9]+)?")
USB_SELECTOR_KEYS = ("serial", "vid", "pid", "interface", "path")
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


class Invalid(ValueError):
    """A value a key cannot take; the message says what it must be.

    A value with several problems (a list with two bad items, two bad
    ``[[port.alert]]`` tables) raises one ``Invalid`` made by :func:`every`:
    ``parts`` then holds each problem, and ``check`` reports every one. ``item``
    is the index of the array-of-tables entry a problem belongs to (the
    ``[[port.alert]]`` it is in), so the report can give that table's line.
    """

    def __init__(self, message: str, *, item: int | None = None) -> None:
        super().__init__(message)
        self.item = item
        self.parts: list[Invalid] = [self]


def every(problems: list[Invalid]) -> None:
    """Raise one ``Invalid`` carrying every problem in ``problems`` (nothing when it is empty).

    Raises:
        Invalid: its message joins the problems with "; ", its ``parts`` lists them.
    """
    if not problems:
        return
    parts = [part for problem in problems for part in problem.parts]
    if len(parts) == 1:
        raise parts[0]
    combined = Invalid("; ".join(str(p) for p in parts), item=parts[0].item)
    combined.parts = parts
    raise combined


def show(value: object) -> str:
    """Render a TOML value the way the user wrote it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``word``, when one is close enough."""
    import difflib   # only for a mistake: the daemon never loads it otherwise (issue 10, RSS)

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def integer(low: int, high: int | None = None) -> Checker:
    """An integer in ``low..high`` (no upper bound when ``high`` is None)."""
    if high is not None:
        wanted = f"an integer from {low} to {high}"
    elif low == 1:
        wanted = "a positive integer"
    else:
        wanted = f"an integer >= {low}"

    def check(value: Any) -> int:
        if not _is_int(value) or value < low or (high is not None and value > high):
            raise Invalid(f"must be {wanted}, got {show(value)}")
        return int(value)

    return check


def number(low: float, *, above: bool = False, high: float | None = None) -> Checker:
    """A number (integer or float) >= ``low`` (or > ``low`` with ``above``), <= ``high``."""
    wanted = f"a number {'>' if above else '>='} {low:g}"
    if high is not None:
        wanted += f" and <= {high:g}"

    def check(value: Any) -> float:
        ok = _is_number(value) and (value > low if above else value >= low)
        if not ok or (high is not None and value > high):
            raise Invalid(f"must be {wanted}, got {show(value)}")
        return float(value)

    return check


def choice(*options: str) -> Checker:
    """One of a fixed set of strings."""
    listing = " | ".join(options)

    def check(value: Any) -> str:
        if isinstance(value, str) and value in options:
            return value
        hint = nearest(value, options) if isinstance(value, str) else None
        suffix = f"; did you mean {show(hint)}?" if hint else ""
        raise Invalid(f"must be one of {listing}, got {show(value)}{suffix}")

    return check


def boolean(value: Any) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false, got {show(value)}")
    return value


def text(*, max_len: int | None = None, single_line: bool = True, empty: bool = True) -> Checker:
    """A string, optionally bounded in length, on one line, non-empty."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"must be a string, got {show(value)}")
        if not empty and not value.strip():
            raise Invalid("must not be empty")
        if single_line and ("\n" in value or "\r" in value):
            raise Invalid("must be a single line")
        if max_len is not None and len(value) > max_len:
            raise Invalid(f"must be at most {max_len} characters, got {len(value)}")
        return value

    return check


def port_name(value: Any) -> str:
    """A port name: letters, digits, '_', '.' and '-'."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise Invalid(f"must be a name of letters, digits, '_', '.' or '-', got {show(value)}")
    return value


def stopbits(value: Any) -> float:
    """1, 1.5 or 2 (stored as int 1 or 2, or float 1.5)."""
    return line_setting("stopbits")(value)  # type: ignore[no-any-return]


def line_setting(key: str) -> Checker:
    """A line setting (baud, bytesize, parity, stopbits, flow), checked by the
    one validator the control API and the bridge use too
    (``bridge.device.settings.check_line_setting``)."""
    from bridge.device.settings import check_line_setting

    def check(value: Any) -> Any:
        try:
            return check_line_setting(key, value)
        except ValueError as exc:
            raise Invalid(str(exc)) from None

    return check


def split_listen(value: int | str) -> tuple[str | None, int]:
    """Split a checked ``listen`` value into (host or None, TCP port)."""
    if isinstance(value, int):
        return None, value
    if value.isdigit():
        return None, int(value)
    host, _, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return (host or None), int(port)


def listen_address(value: Any) -> int | str:
    """A TCP port (0..65535, 0 = any free port) or "host:port" ("[::1]:7001" for IPv6)."""
    if _is_int(value):
        if not 0 <= value <= 65535:
            raise Invalid(f"must be a TCP port from 0 to 65535, got {show(value)}")
        return int(value)
    if not isinstance(value, str):
        raise Invalid(f'must be a TCP port or "host:port", got {show(value)}')
    if value.isdigit():
        return listen_address(int(value))
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise Invalid(f'must be a TCP port or "host:port" with a port from 0 to 65535, got {show(value)}')
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise Invalid(f'write an IPv6 address in brackets, as "[::1]:7001", got {show(value)}')
    if any(c.isspace() for c in host):
        raise Invalid(f"host must not contain spaces, got {show(value)}")
    return value


def _check_usb_field(key: str, raw: str) -> str | None:
    """The problem with one ``key=value`` of a usb: selector, or None."""
    if key not in USB_SELECTOR_KEYS:
        hint = nearest(key, USB_SELECTOR_KEYS)
        known = ", ".join(USB_SELECTOR_KEYS)
        return f"unknown usb: selector field {show(key)}" + (
            f"; did you mean {show(hint)}?" if hint else f" (known: {known})")
    if key in ("vid", "pid") and not _HEX4_RE.fullmatch(raw):
        return f"usb: selector field '{key}' must be 4 hex digits (as 0403), got {show(raw)}"
    if key == "interface" and not raw.isdigit():
        return f"usb: selector field 'interface' must be an integer, got {show(raw)}"
    if key == "path" and not _USB_PATH_RE.fullmatch(raw):
        return f"usb: selector field 'path' must be a USB port path such as 1-1.4, got {show(raw)}"
    if key == "serial" and not raw:
        return "usb: selector field 'serial' must not be empty"
    return None


def usb_selector(value: str) -> dict[str, str]:
    """Parse ``usb:key=value,...`` into a dict, checking its syntax only.

    Raises:
        Invalid: when a field is unknown, repeated, empty or malformed.
    """
    body = value[len("usb:"):]
    if not body.strip():
        raise Invalid('usb: selector is empty; write for example "usb:serial=A1B2C3"')
    fields: dict[str, str] = {}
    problems: list[Invalid] = []
    for part in body.split(","):
        key, sep, raw = (s.strip() for s in part.partition("="))
        if not sep:
            problems.append(Invalid(f"usb: selector needs key=value pairs, got {show(part)}"))
            continue
        problem = _check_usb_field(key, raw)
        if problem:
            problems.append(Invalid(problem))
        elif key in fields:
            problems.append(Invalid(f"usb: selector names '{key}' twice"))
        fields[key] = raw
    every(problems)
    return fields


def device(value: Any) -> str:
    """A device path, a pyserial URL (``scheme://...``) or a ``usb:`` selector.

    A path that does not exist is fine: the port waits for it.
    """
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"must be a device path, a pyserial URL or a usb: selector, got {show(value)}")
    if value.startswith("usb:"):
        usb_selector(value)
        return value
    match = _URL_RE.match(value)
    if match:
        scheme = match.group(1).lower()
        if importlib.util.find_spec(f"serial.urlhandler.protocol_{scheme}") is None:
            raise Invalid(f"pyserial has no URL handler for {show(scheme + '://')} "
                          "(known: loop, spy, rfc2217, socket, hwgrep, alt)")
    return value


# -- access from the network (issue 11) -----------------------------------------

def networks(value: Any) -> tuple[str, ...]:
    """A list of IPv4/IPv6 addresses and CIDR networks, normalised ("192.0.2.7" -> "192.0.2.7/32")."""
    import ipaddress

    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise Invalid('must be a list of addresses or networks such as ["192.0.2.0/24", "::1"]; '
                      f"leave it out to allow every address, got {show(value)}")
    out: list[str] = []
    problems: list[Invalid] = []
    for item in value:   # every bad item is reported, not only the first
        if not isinstance(item, str):
            problems.append(Invalid(f"must list addresses or networks as strings, got {show(item)}"))
            continue
        try:
            net = ipaddress.ip_network(item.strip(), strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                problems.append(Invalid(f"{show(item)} is not an IPv4 or IPv6 address or network"))
                continue
            problems.append(Invalid(f"{show(item)} has host bits set; did you mean {show(str(loose))}?"))
            continue
        out.append(str(net))
    every(problems)
    return tuple(out)


def user_name(value: Any) -> str:
    """A login name: letters, digits, '_', '.' and '-' (no ':', which separates the port)."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise Invalid(f"must be a name of letters, digits, '_', '.' or '-', got {show(value)}")
    return value


def key_source(value: Any) -> str | tuple[str, ...]:
    """authorized_keys: a path (a string) or key lines (a list of strings)."""
    if isinstance(value, str):
        if not value.strip():
            raise Invalid("must not be empty")
        return value
    if isinstance(value, list) and value and all(isinstance(line, str) and "\n" not in line for line in value):
        return tuple(value)
    raise Invalid(f"must be a file path or a list of authorized_keys lines, got {show(value)}")


def password_hash(value: Any) -> str:
    """A ``scrypt$...`` hash (``bridge.access.passwords``)."""
    from bridge.access.passwords import parse_hash

    if not isinstance(value, str):
        raise Invalid(f'must be a hash made by "serial-bridge passwd", got {show(value)}')
    try:
        parse_hash(value)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return value


def globs(value: Any) -> tuple[str, ...]:
    """A list of port names or shell-style globs ("lab-*")."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise Invalid(f'must be a list of port names or globs such as ["rtr1", "lab-*"], got {show(value)}')
    return tuple(value)
