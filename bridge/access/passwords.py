"""Password hashes for ``[[user]]`` (``serial-bridge passwd`` makes them).

Format (one line, ASCII)::

    scrypt$ln=14,r=8,p=1$<salt>$<key>

``scrypt`` is RFC 7914 through ``hashlib.scrypt``: N = 2**ln (cost), r (block
size), p (parallelism); salt and key are standard base64 without padding; the
salt is 16 random bytes, the key 32 bytes. Parameters are bounded on reading
(ln 10..20, r 1..32, p 1..16, at most 256 MiB of memory), so a hash in a
config cannot make a login cost unbounded memory or time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

PREFIX = "scrypt"
LN = 14          # N = 16384: 16 MiB and some tens of ms per check
R = 8
P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_MEMORY = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ScryptHash:
    """A parsed ``scrypt$...`` hash."""

    ln: int
    r: int
    p: int
    salt: bytes
    key: bytes

    def __str__(self) -> str:
        return f"{PREFIX}$ln={self.ln},r={self.r},p={self.p}${_b64(self.salt)}${_b64(self.key)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _derive(password: str, ln: int, r: int, p: int, salt: bytes, size: int) -> bytes:
    n = 1 << ln
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * (n + p + 2) + 1024 * 1024, dklen=size)


def parse_hash(text: str) -> ScryptHash:
    """Parse a hash.

    Raises:
        ValueError: one line saying what is wrong (not scrypt$..., bad
            parameters, bad base64, parameters out of bounds).
    """
    parts = text.split("$")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise ValueError('must be a hash made by "serial-bridge passwd" (scrypt$ln=..,r=..,p=..$salt$key)')
    try:
        params = dict(item.split("=", 1) for item in parts[1].split(","))
        ln, r, p = int(params["ln"]), int(params["r"]), int(params["p"])
    except (ValueError, KeyError):
        raise ValueError(f"scrypt hash: bad parameters {parts[1]!r} (want ln=N,r=N,p=N)") from None
    if set(params) != {"ln", "r", "p"}:
        raise ValueError(f"scrypt hash: bad parameters {parts[1]!r} (want ln=N,r=N,p=N)")
    if not (10 <= ln <= 20 and 1 <= r <= 32 and 1 <= p <= 16) or 128 * r * ((1 << ln) + p) > MAX_MEMORY:
        raise ValueError(f"scrypt hash: parameters out of bounds ({parts[1]})")
    try:
        salt, key = _unb64(parts[2]), _unb64(parts[3])
    except (binascii.Error, ValueError):
        raise ValueError("scrypt hash: salt and key must be base64") from None
    if len(salt) < 8 or not 16 <= len(key) <= 64:
        raise ValueError("scrypt hash: salt or key too short")
    return ScryptHash(ln=ln, r=r, p=p, salt=salt, key=key)


def hash_password(password: str, *, ln: int = LN) -> str:
    """A new ``scrypt$...`` hash of ``password`` with a random salt."""
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, ln, R, P, salt, KEY_BYTES)
    return str(ScryptHash(ln=ln, r=R, p=P, salt=salt, key=key))


def verify_password(password: str, hashed: str | ScryptHash) -> bool:
    """Whether ``password`` matches ``hashed`` (compared in constant time).

    A malformed hash never matches. CPU-bound (tens of ms): call it off the
    event loop.
    """
    try:
        parsed = hashed if isinstance(hashed, ScryptHash) else parse_hash(hashed)
    except ValueError:
        return False
    key = _derive(password, parsed.ln, parsed.r, parsed.p, parsed.salt, len(parsed.key))
    return hmac.compare_digest(key, parsed.key)
