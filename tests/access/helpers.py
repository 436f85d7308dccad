"""Config text and clients for the access tests."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.helpers import WAIT, Daemon, PtyDevice
from tests.integration.helpers import recv_until as recv_until  # the one reader, shared with tests/access

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def port_block(name: str, device: str, *, mode: str = "raw", extra: str = "") -> str:
    """A [[port]] on a free loopback port (listen = 0)."""
    return (f'[[port]]\nname = "{name}"\ndevice = "{device}"\nlisten = 0\n'
            f'mode = "{mode}"\nlock_files = false\n{extra}\n')


def bridge_block(extra: str = "") -> str:
    return f'[bridge]\ncontrol = ""\n{extra}\n'


def read_to_close(sock: socket.socket, timeout: float = WAIT) -> tuple[bytes, bool]:
    """Everything the peer sends, and whether it closed (or reset) the connection
    within ``timeout`` seconds of silence; the socket is closed afterwards."""
    sock.settimeout(timeout)
    answer, closed = b"", False
    try:
        while chunk := sock.recv(4096):
            answer += chunk
        closed = True
    except ConnectionResetError:
        closed = True
    except TimeoutError:
        pass
    sock.close()
    return answer, closed


def closed_without_a_byte(sock: socket.socket, timeout: float = WAIT) -> bool:
    """Whether the peer closes the connection having sent nothing."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return data == b""


def tls_client(port: int, ca: Path, cert: tuple[Path, Path] | None = None) -> ssl.SSLSocket:
    """A TLS client of 127.0.0.1:port verifying the server against ``ca``."""
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    return context.wrap_socket(raw, server_hostname="localhost")


