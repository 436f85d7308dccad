"""Where the control endpoint lives: address parsing and the default path.

An address is either a Unix socket path (anything with a ``/``, or ending in
``.sock``) or ``host:port`` (``[::1]:7100`` for IPv6), or ``tls://host:port``
for the TCP endpoint inside TLS (issue 11; the bridge's ``tls_cert``). The daemon and every
client use :func:`default_control_address`, so they meet without
configuration.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

SYSTEM_PATH = "/run/serial-bridge/control.sock"


@dataclass(frozen=True, slots=True)
class UnixAddress:
    """A Unix socket path."""

    path: str

    def __str__(self) -> str:
        return self.path


TLS_PREFIX = "tls://"


@dataclass(frozen=True, slots=True)
class TcpAddress:
    """A TCP host and port; ``tls``: the endpoint speaks TLS (``tls://host:port``)."""

    host: str
    port: int
    tls: bool = False

    def __str__(self) -> str:
        text = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        return TLS_PREFIX + text if self.tls else text

    @property
    def is_loopback(self) -> bool:
        """True for localhost and loopback addresses only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


ControlAddress = UnixAddress | TcpAddress


def parse_address(text: str) -> ControlAddress:
    """Read an address as given in the config or on the command line.

    Raises:
        ValueError: a one-line reason.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty control address")
    if text.startswith(TLS_PREFIX):
        inner = parse_address(text[len(TLS_PREFIX):])
        if not isinstance(inner, TcpAddress) or inner.tls:
            raise ValueError(f"control address {text!r}: expected tls://HOST:PORT")
        return TcpAddress(inner.host, inner.port, tls=True)
    if "/" in text or text.endswith(".sock"):
        return UnixAddress(os.path.expanduser(text))
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"control address {text!r}: expected a socket path or HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise ValueError(f"control address {text!r}: port must be 0..65535")
    return TcpAddress(host, int(port_text))


def check_endpoint(text: str, token: str | None) -> ControlAddress:
    """The daemon's endpoint as configured, checked: the one rule ``check`` and
    ``serve`` share (a TCP endpoint off loopback needs a token).

    Raises:
        ValueError: a one-line reason.
    """
    parsed = parse_address(text)
    if isinstance(parsed, TcpAddress) and not parsed.is_loopback and not token:
        raise ValueError(f"control address {text}: a non-loopback address needs a control token")
    return parsed


def _user_paths() -> list[str]:
    paths = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        paths.append(os.path.join(runtime, "serial-bridge", "control.sock"))
    paths.append(f"/tmp/serial-bridge-{os.getuid()}/control.sock")
    return paths


def default_control_address() -> str:
    """The daemon's default endpoint.

    ``$RUNTIME_DIRECTORY/control.sock`` under systemd with ``RuntimeDirectory=``
    (the unit of ``serial-bridge service``: /run/serial-bridge/control.sock),
    ``/run/serial-bridge/control.sock`` when running as root with /run
    writable, else ``$XDG_RUNTIME_DIR/serial-bridge/control.sock``, else
    ``/tmp/serial-bridge-$UID/control.sock``.
    """
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if runtime and os.path.isabs(runtime):   # systemd's RuntimeDirectory= (serial-bridge service)
        return os.path.join(runtime, "control.sock")
    if os.geteuid() == 0 and os.access(os.path.dirname(os.path.dirname(SYSTEM_PATH)), os.W_OK):
        return SYSTEM_PATH
    return _user_paths()[0]


DEMO_SOCKET = "demo.sock"


def demo_control_address() -> str:
    """Where ``serial-bridge demo`` serves its control endpoint: ``demo.sock``
    beside this user's default socket, so that ``status``, ``ctl`` and
    ``dashboard`` find a running demo when no bridge of their own runs."""
    return os.path.join(os.path.dirname(_user_paths()[0]), DEMO_SOCKET)


def client_control_address() -> str:
    """The endpoint a client tries by default: the first of the candidate
    sockets that exists (a system daemon's, then this user's, then this
    user's demo), else :func:`default_control_address`."""
    users = _user_paths()
    demos = [os.path.join(os.path.dirname(path), DEMO_SOCKET) for path in users]
    for path in [SYSTEM_PATH, *users, *demos]:
        if os.path.exists(path):
            return path
    return default_control_address()
