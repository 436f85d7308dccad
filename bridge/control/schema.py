"""The control protocol, version 1: newline-delimited JSON messages.

Theory of operation
-------------------
Every message is one JSON object on one line (UTF-8, ``\\n`` terminated) and
carries ``"v": 1``. There are three shapes:

* request (client to server): ``{"v": 1, "id": 7, "op": "list", ...args}``
* reply (server to client, same ``id``): ``{"v": 1, "id": 7, "ok": true, ...}``
  or ``{"v": 1, "id": 7, "ok": false, "error": "one line", "code": "..."}``
* event (server to client, unsolicited): ``{"v": 1, "event": "port-state", ...}``

Bytes (tail and attach output, attach input) travel as base64 strings.
Error codes tell a script what kind of failure it was: ``bad-request`` and
``unknown-port`` are the caller's mistake; ``refused``, ``unauthorized`` and
``internal`` are not. docs/control-api.md has an example of every message.

This module is pure: no sockets, no asyncio. It is shared by the server, the
client and the dashboard.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from bridge.device.settings import BYTESIZES, FLOWS, PARITIES, STOPBITS, check_line_changes

VERSION = 1
MAX_LINE = 1 << 20  # 1 MiB: a longer line is an error reply, then the rest of it is skipped

# Error codes.
BAD_REQUEST = "bad-request"
UNKNOWN_PORT = "unknown-port"
REFUSED = "refused"
UNAUTHORIZED = "unauthorized"
INTERNAL = "internal"
USAGE_CODES = frozenset({BAD_REQUEST, UNKNOWN_PORT})

# Event kinds.
EVENT_KINDS = ("port-state", "session-open", "session-close", "settings",
               "counters", "output", "dropped", "detached", "alert")

# op -> {arg: (type or types, required)}. "id", "op" and "v" are not args.
ArgSpec = dict[str, tuple[type | tuple[type, ...], bool]]
_PORT: ArgSpec = {"port": (str, True)}
OPS: dict[str, ArgSpec] = {
    "hello": {"token": (str, False), "client": (str, False)},
    "auth": {"token": (str, True)},
    "list": {},
    "port": _PORT,
    "set": {"port": (str, True), "settings": (dict, True)},
    "break": {"port": (str, True), "attached": (bool, False)},
    "ip": _PORT,
    "enable": _PORT,
    "disable": _PORT,
    "kick": {"port": (str, True), "session": (int, True)},
    "reload": {},
    "subscribe": {},
    "unsubscribe": {},
    "tail": {"port": (str, True), "history": (bool, False)},
    "untail": _PORT,
    "attach": _PORT,
    "input": {"port": (str, True), "data": (str, True)},
    "detach": _PORT,
}

SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "baud": (int,),
    "bytesize": (int,),
    "parity": (str,),
    "stopbits": (int, float),
    "flow": (str,),
}
SETTING_CHOICES: dict[str, tuple[object, ...]] = {
    "bytesize": BYTESIZES,
    "parity": PARITIES,
    "stopbits": STOPBITS,
    "flow": FLOWS,
}


class ProtocolError(Exception):
    """A message that breaks the protocol; ``str(exc)`` is the one-line reason.

    Attributes:
        request_id: the request's id when it could be read, else None.
        code: the error code for the reply.
    """

    def __init__(self, message: str, request_id: int | None = None,
                 code: str = BAD_REQUEST) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.code = code


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded, checked request."""

    id: int
    op: str
    args: dict[str, Any] = field(default_factory=dict)


def encode(message: dict[str, Any]) -> bytes:
    """One message as a protocol line (compact JSON plus ``\\n``)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line into a message object and check its version.

    Raises:
        ProtocolError: not JSON, not an object, or not version 1.
    """
    if len(line) > MAX_LINE:
        raise ProtocolError(f"message longer than {MAX_LINE} bytes")
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"malformed JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    raw_id = message.get("id")
    request_id = raw_id if _is_int(raw_id) else None
    if message.get("v") != VERSION:
        raise ProtocolError(f"unsupported protocol version {message.get('v')!r} (this server speaks {VERSION})",
                            request_id)
    return message


def decode_request(line: bytes) -> Request:
    """Parse and check one request line.

    Raises:
        ProtocolError: anything wrong with it, with the id when it was readable.
    """
    message = decode(line)
    request_id = message.get("id")
    if not isinstance(request_id, int) or isinstance(request_id, bool):
        raise ProtocolError('a request needs an integer "id"')
    op = message.get("op")
    if not isinstance(op, str):
        raise ProtocolError('a request needs a string "op"', request_id)
    spec = OPS.get(op)
    if spec is None:
        raise ProtocolError(f"unknown op {op!r}", request_id)
    args = {k: v for k, v in message.items() if k not in ("v", "id", "op")}
    _check_args(op, spec, args, request_id)
    return Request(id=request_id, op=op, args=args)


def _check_args(op: str, spec: ArgSpec, args: dict[str, Any], request_id: int) -> None:
    unknown = sorted(set(args) - set(spec))
    if unknown:
        raise ProtocolError(f"{op}: unknown argument {unknown[0]!r}", request_id)
    for name, (kind, required) in spec.items():
        if name not in args:
            if required:
                raise ProtocolError(f"{op}: missing argument {name!r}", request_id)
            continue
        value = args[name]
        if kind is int and not _is_int(value) or not isinstance(value, kind):
            raise ProtocolError(f"{op}: argument {name!r} has the wrong type", request_id)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def request(request_id: int, op: str, **args: Any) -> dict[str, Any]:
    """A request message."""
    return {"v": VERSION, "id": request_id, "op": op, **args}


def reply(request_id: int | None, **fields: Any) -> dict[str, Any]:
    """A successful reply."""
    return {"v": VERSION, "id": request_id, "ok": True, **fields}


def error_reply(request_id: int | None, message: str, code: str = BAD_REQUEST) -> dict[str, Any]:
    """A failed reply; the message is cut to its first line."""
    first = (message.splitlines() or [""])[0].strip() or "error"
    return {"v": VERSION, "id": request_id, "ok": False, "error": first, "code": code}


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """An event message."""
    return {"v": VERSION, "event": kind, **fields}


def b64encode(data: bytes) -> str:
    """Bytes as a base64 string."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """A base64 string back to bytes.

    Raises:
        ProtocolError: not valid base64.
    """
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ProtocolError("data is not valid base64") from None


def check_settings(changes: object) -> dict[str, Any]:
    """Check a line-settings change, as sent in a ``set`` request.

    Args:
        changes: a mapping of some of baud, bytesize, parity, stopbits, flow.

    Returns:
        The same changes, with stopbits normalised (2.0 -> 2).

    Raises:
        ValueError: a one-line reason naming the key.
    """
    if not isinstance(changes, dict) or not changes:
        raise ValueError("settings must be a non-empty object")
    return check_line_changes(changes)


def parse_setting_words(words: list[str]) -> dict[str, Any]:
    """Turn ``["baud=9600", "parity=even"]`` into a checked settings change.

    Raises:
        ValueError: a one-line reason naming the word.
    """
    changes: dict[str, Any] = {}
    for word in words:
        key, sep, text = word.partition("=")
        key = key.strip().lower()
        if not sep or not key or not text:
            raise ValueError(f"{word!r}: expected KEY=VALUE, for example baud=9600")
        changes[key] = _setting_value(key, text.strip())
    return check_settings(changes)


def _setting_value(key: str, text: str) -> object:
    types = SETTING_TYPES.get(key)
    if types is None:
        raise ValueError(f"unknown setting {key!r} (known: {', '.join(SETTING_TYPES)})")
    if str in types:
        return text.lower()
    try:
        number = float(text) if float in types else int(text)
    except ValueError:
        raise ValueError(f"{key}: {text!r} is not a number") from None
    return number
