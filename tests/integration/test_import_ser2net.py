"""One ser2net.yaml, served first by ser2net itself (where installed) and then, converted by
`serial-bridge import ser2net`, by serial-bridge: the same client reaches the same pty both ways."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.migrate.ser2net import convert, render
from tests.integration.helpers import WAIT, Daemon, PtyDevice, free_port, recv_until

pytestmark = pytest.mark.integration


def _yaml(device: str, port: int) -> str:
    return (f"connection: &lab\n"
            f"  accepter: tcp,127.0.0.1,{port}\n"
            f"  connector: serialdev,{device},115200n81,local\n"
            f"  options:\n"
            f"    kickolduser: true\n")


def _connect_when_listening(port: int) -> socket.socket:
    deadline = time.monotonic() + WAIT
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
            return sock
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _exchange(sock: socket.socket, dev: PtyDevice) -> None:
    """Client to device and device to client, through whichever server listens."""
    sock.sendall(b"show version\r")
    assert dev.read_until(b"show version\r").endswith(b"show version\r")
    dev.write(b"Version 1.0\r\n")
    assert recv_until(sock, b"Version 1.0\r\n").endswith(b"Version 1.0\r\n")


def test_ser2net_itself_serves_the_file(tmp_path: Path, make_pty: Callable[[], PtyDevice]) -> None:
    """The test file is real ser2net configuration: ser2net 4 serves it (skipped without ser2net)."""
    ser2net = shutil.which("ser2net")
    if ser2net is None:
        pytest.skip("ser2net is not installed")
    dev = make_pty()
    port = free_port()
    config = tmp_path / "ser2net.yaml"
    config.write_text(_yaml(dev.path, port))
    proc = subprocess.Popen([ser2net, "-n", "-u", "-c", str(config), "-P", str(tmp_path / "ser2net.pid")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with _connect_when_listening(port) as sock:
            _exchange(sock, dev)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(WAIT)


def test_the_converted_file_serves_the_same(tmp_path: Path, make_pty: Callable[[], PtyDevice],
                                            start_daemon: Callable[[str], Daemon]) -> None:
    """Converted, the same file runs in serial-bridge: raw TCP on the same address, 115200 8N1,
    one client at a time that a newcomer takes over."""
    dev = make_pty()
    port = free_port()
    source = tmp_path / "ser2net.yaml"
    source.write_text(_yaml(dev.path, port))
    conversion = convert(str(source))
    assert conversion.warnings == []
    keys = conversion.ports[0].keys
    assert keys["listen"] == f"127.0.0.1:{port}" and keys["mode"] == "raw" and keys["baud"] == 115200
    assert (keys["access"], keys["takeover"]) == ("exclusive", True)
    text = render(conversion).replace('bind = "0.0.0.0"', 'bind = "127.0.0.1"\ncontrol = ""\nlock_files = false')
    daemon = start_daemon(text)
    daemon.wait_log(r"port lab: listening on ")
    daemon.wait_log(r"port lab: device .* open")   # bytes from a client before this are not kept
    with _connect_when_listening(port) as first:
        _exchange(first, dev)
        with _connect_when_listening(port) as second:      # kickolduser: the newcomer takes over
            dev.drain()
            _exchange(second, dev)
    assert daemon.stop() == 0
