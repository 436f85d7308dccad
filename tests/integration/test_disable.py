"""`ctl disable` and `ctl enable` through the real daemon (UAT 30 Nov): clients are told and
disconnected, the device is released, a new client is told the port is disabled, and enable
serves again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.helpers import WAIT, connect, recv_until
from tests.integration.support import MakePty, Start, assert_no_traceback, closed_by_peer, config, port_block


def _ctl(sock_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", "ctl", *args, "--control", str(sock_path)],
                          capture_output=True, text=True, timeout=WAIT)


def test_disable_disconnects_clients_and_refuses_new_ones_until_enable(start_daemon: Start, make_pty: MakePty,
                                                                      tmp_path: Path) -> None:
    """As `ctl --help` and docs/dashboard.md say: disable tells and disconnects every client;
    while disabled, a new client is told and closed (its input is not silently dropped)."""
    dev = make_pty()
    sock_path = tmp_path / "ctl.sock"
    daemon = start_daemon(config(port_block("con", dev.path, 0, "banner = false")).replace(
        'control = ""', f'control = "{sock_path}"'))
    daemon.wait_log(r"con: device .* open")
    port = daemon.port_of("con")
    with connect(port) as client, connect(port) as other:
        daemon.wait_log(r"con: client .* connected", count=2)
        client.sendall(b"before")
        assert dev.read_until(b"before").endswith(b"before")
        done = _ctl(sock_path, "disable", "con")
        assert done.returncode == 0, done.stderr
        for sock in (client, other):   # Telnet clients are told, then closed
            assert b"[serial-bridge: port disabled by the operator]" in closed_by_peer(sock)
    daemon.wait_log(r"con: client .* disconnected", count=2)
    with connect(port) as late:
        assert b"[serial-bridge: port con is disabled]" in closed_by_peer(late)
    assert _ctl(sock_path, "enable", "con").returncode == 0
    daemon.wait_log(r"con: device .* open", count=2)
    with connect(port) as again:
        again.sendall(b"after")
        assert dev.read_until(b"after").endswith(b"after")
        dev.write(b"reply")
        recv_until(again, b"reply")
    assert_no_traceback(daemon)
    assert daemon.stop() == 0
