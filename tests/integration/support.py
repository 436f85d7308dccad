"""Helpers for whole-bridge tests of hostile and odd clients: configs, daemon health, memory, raw Telnet bytes."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable

from bridge.telnet import Cmd, ComPortCmd, Opt
from tests.integration.helpers import recv_until, WAIT, Daemon, PtyDevice, TelnetClient, connect

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]

IAC = bytes([Cmd.IAC])


def port_block(name: str, device: str, listen: int | str = 0, extra: str = "") -> str:
    """One [[port]] table."""
    listen_text = f'"{listen}"' if isinstance(listen, str) else str(listen)
    return (f'[[port]]\nname = "{name}"\ndevice = "{device}"\nlisten = {listen_text}\n'
            f'lock_files = false\n{extra}\n')


def config(*ports: str, bridge: str = "") -> str:
    """A whole config: no control endpoint, the given port tables."""
    return f'[bridge]\ncontrol = ""\n{bridge}\n' + "".join(ports)


def started(start_daemon: Start, make_pty: MakePty, extra: str = "",
            mode: str = "telnet") -> tuple[Daemon, PtyDevice, int]:
    """A daemon bridging one pty as port "con"; returns it, the pty and the TCP port."""
    dev = make_pty()
    daemon = start_daemon(config(port_block("con", dev.path, 0, f'mode = "{mode}"\n{extra}')))
    daemon.wait_log(r"con: device .* open")
    return daemon, dev, daemon.port_of("con")


def two_ports(start_daemon: Start, make_pty: MakePty, extra: str = "",
              mode: str = "telnet") -> tuple[Daemon, PtyDevice, int, PtyDevice, int]:
    """A daemon with a victim port "con" (``mode``) and a bystander raw port "other"."""
    dev, other = make_pty(), make_pty()
    daemon = start_daemon(config(port_block("con", dev.path, 0, f'mode = "{mode}"\n{extra}'),
                                 port_block("other", other.path, 0, 'mode = "raw"')))
    daemon.wait_log(r"con: device .* open")
    daemon.wait_log(r"other: device .* open")
    return daemon, dev, daemon.port_of("con"), other, daemon.port_of("other")


def welcomed(port: int) -> TelnetClient:
    """A telnet client that has read its banner line."""
    client = TelnetClient(port)
    client.read_until(b"]\r\n")
    return client


def rss_kib(daemon: Daemon) -> int:
    """The daemon's resident memory, from /proc (KiB)."""
    with open(f"/proc/{daemon.proc.pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def assert_healthy(daemon: Daemon, other: PtyDevice, other_port: int) -> None:
    """The daemon runs, a raw port still passes bytes both ways, and the log holds no traceback."""
    assert daemon.proc.poll() is None, "\n".join(daemon.lines)
    with connect(other_port) as sock:
        sock.sendall(b"still-alive")
        assert other.read(11) == b"still-alive"
        other.write(b"pong")
        got = b""
        deadline = time.monotonic() + WAIT
        while got != b"pong" and time.monotonic() < deadline:
            sock.settimeout(WAIT)
            chunk = sock.recv(4)
            if not chunk:
                break
            got += chunk
        assert got == b"pong"
    assert_no_traceback(daemon)


def assert_no_traceback(daemon: Daemon) -> None:
    """No Python traceback anywhere in the daemon's log."""
    bad = [line for line in daemon.lines if "Traceback" in line]
    assert not bad, "\n".join(daemon.lines[-60:])


def comport(cmd: ComPortCmd, value: bytes) -> bytes:
    """IAC SB COM-PORT-OPTION cmd value IAC SE, with IAC doubled in the value."""
    return (IAC + bytes([Cmd.SB, Opt.COM_PORT, cmd]) + value.replace(IAC, IAC + IAC)
            + IAC + bytes([Cmd.SE]))


# Everything received until the wanted bytes show up: the integration helper.
read_for = recv_until


def closed_by_peer(sock: socket.socket, timeout: float = WAIT) -> bytes:
    """Read until the daemon closes the connection; returns what came (bounded)."""
    out = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"still open; got {bytes(out[-300:])!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


def read_match(sock: socket.socket, pattern: bytes, timeout: float = WAIT) -> re.Match[bytes]:
    """Receive until the regex ``pattern`` matches what came; returns the match."""
    regex = re.compile(pattern, re.DOTALL)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while (match := regex.search(bytes(out))) is None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"never matched {pattern!r}; got {bytes(out[-300:])!r}")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before {pattern!r}; got {bytes(out[-300:])!r}")
        out += chunk
    return match


class SocketReader(threading.Thread):
    """Reads a socket to its end or until ``stop`` is set, counting bytes (a client
    that takes everything, so the port keeps reading the device)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.count = 0
        self.stop = threading.Event()

    def run(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            self.count += len(chunk)

    def finish(self) -> None:
        """Stop reading (bounded) and close the socket."""
        self.stop.set()
        self.join(WAIT)
        self.sock.close()
