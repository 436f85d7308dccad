"""What `connect` connects to: the TARGET argument, and port names resolved over the control API.

Forms (INTERFACE.md, ``serial-bridge connect TARGET``):

===========================  =====================================================
``HOST:PORT``                Telnet (RFC 854), with RFC 2217 when the server takes it
``telnet://HOST:PORT``       the same
``rfc2217://HOST:PORT``      Telnet that asks for RFC 2217 and says so when refused
``tcp://HOST:PORT``          raw TCP: bytes pass untouched both ways
``NAME``                     a port of the bridge reached by ``--control``
===========================  =====================================================

IPv6 hosts are written in brackets: ``[::1]:7001``. A pyserial-style query
(``rfc2217://host:port?logging=debug``) is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["telnet", "rfc2217", "tcp"]
_SCHEMES: dict[str, Kind] = {"telnet": "telnet", "rfc2217": "rfc2217", "tcp": "tcp", "raw": "tcp"}
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved place to connect to.

    Attributes:
        kind: ``telnet``, ``rfc2217`` or ``tcp`` (raw).
        host: the host name or address.
        port: the TCP port.
        name: the bridge's port name, when the target was given by name or found through the control API.
        tls: the port takes only TLS (its ``tls`` in the control API), when found through it.
    """

    kind: Kind
    host: str
    port: int
    name: str | None = None
    tls: bool = False

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        where = f"{self.kind}://{self.address}"
        return f"{self.name} ({where})" if self.name else where


@dataclass(frozen=True, slots=True)
class PortName:
    """A TARGET that names a port of a bridge; resolve it with :func:`target_from_port`."""

    name: str


def _host_port(text: str, original: str) -> tuple[str, int]:
    text = text.split("?", 1)[0].rstrip("/")
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"target {original!r}: expected HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"target {original!r}: write an IPv6 address in brackets, [::1]:7001")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"target {original!r}: the port must be 1..65535")
    return host, int(port_text)


def parse_target(text: str) -> Target | PortName:
    """Read the TARGET argument.

    Returns:
        A :class:`Target`, or a :class:`PortName` for a bare name.

    Raises:
        ValueError: a one-line reason.
    """
    raw = text.strip()
    scheme, sep, rest = raw.partition("://")
    if sep:
        kind = _SCHEMES.get(scheme.lower())
        if kind is None:
            raise ValueError(f"target {text!r}: unknown scheme {scheme!r}; "
                             "use telnet://, rfc2217://, tcp:// or HOST:PORT")
        host, port = _host_port(rest, text)
        return Target(kind, host, port)
    if ":" in raw:
        host, port = _host_port(raw, text)
        return Target("telnet", host, port)
    if _NAME.fullmatch(raw):
        return PortName(raw)
    raise ValueError(f"target {text!r}: expected HOST:PORT, a URL (telnet://, rfc2217://, tcp://) or a port name")


def target_from_port(port: dict[str, Any], control_host: str | None) -> Target:
    """The Target for a port object of the control API (its ``listen`` and ``mode``).

    A port listening on every address (``0.0.0.0``, ``::``) is reached on
    the control endpoint's host, or on loopback when the endpoint is local.

    Args:
        port: the port's JSON object from a ``port`` or ``list`` reply.
        control_host: the control endpoint's TCP host, or None for a Unix socket.

    Raises:
        ValueError: the port has no listener a client can use.
    """
    name = str(port.get("name", "?"))
    listen = str(port.get("listen") or "")
    if not listen or ":" not in listen:
        raise ValueError(f"port {name} has no TCP listener")
    host, port_number = _host_port(listen, listen)
    if host in ("", "0.0.0.0", "::", "*"):
        host = control_host or ("::1" if host == "::" else "127.0.0.1")
    kind: Kind = "tcp" if port.get("mode") == "raw" else "telnet"
    return Target(kind, host, port_number, name, tls=bool(port.get("tls")))


def matching_port(ports: list[dict[str, Any]], target: Target) -> dict[str, Any] | None:
    """The port of a ``list`` reply that listens on the target's TCP port, if exactly one does."""
    found = []
    for port in ports:
        listen = str(port.get("listen") or "")
        _, _, number = listen.rpartition(":")
        if number.isdigit() and int(number) == target.port:
            found.append(port)
    return found[0] if len(found) == 1 else None
