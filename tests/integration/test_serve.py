"""`serial-bridge serve` as a supervisor sees it: exit codes, required ports, systemd notify."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.integration.helpers import WAIT, Daemon, PtyDevice

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def test_a_required_port_that_cannot_open_makes_serve_exit_1_with_the_reason(tmp_path: Path) -> None:
    """required = true and a missing device: serve exits 1 with one line naming the port and the device."""
    config = tmp_path / "bridge.toml"
    config.write_text('[bridge]\ncontrol = ""\n[[port]]\nname = "core"\ndevice = "/dev/serial-bridge-absent"\n'
                      'listen = 0\nrequired = true\n')
    done = subprocess.run([sys.executable, "-m", "bridge", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=WAIT * 2)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "core" in last and "required" in last and "/dev/serial-bridge-absent" in last
    assert "Traceback" not in done.stderr


def test_a_bad_config_makes_serve_exit_2_listing_every_problem(tmp_path: Path) -> None:
    """serve refuses a config with errors: exit 2, one line per problem, no traceback."""
    config = tmp_path / "bridge.toml"
    config.write_text('[[port]]\nname = "a"\ndevice = "/dev/x"\nlisten = 7001\nbaud = "fast"\nparty = "none"\n')
    done = subprocess.run([sys.executable, "-m", "bridge", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=WAIT * 2)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and any("baud" in x for x in lines) and any("party" in x for x in lines)
    assert "Traceback" not in done.stderr


def test_sigint_stops_serve_cleanly(start_daemon: Start, make_pty: MakePty) -> None:
    """SIGINT is a clean stop: exit 0."""
    dev = make_pty()
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n[[port]]\nname = "i"\ndevice = "{dev.path}"\nlisten = 0\n'
                          'lock_files = false\n')
    daemon.wait_log(r"i: device .* open")
    assert daemon.stop(signal.SIGINT) == 0


def test_systemd_gets_ready_once_listening_and_a_status_line(tmp_path: Path, make_pty: MakePty) -> None:
    """With NOTIFY_SOCKET set, READY=1 and STATUS=<n ports: ...> arrive in one datagram."""
    dev = make_pty()
    notify = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        sock.settimeout(WAIT)
        config = tmp_path / "bridge.toml"
        config.write_text(f'[bridge]\ncontrol = ""\n[[port]]\nname = "up1"\ndevice = "{dev.path}"\nlisten = 0\n'
                          'lock_files = false\n[[port]]\nname = "later"\ndevice = "/dev/serial-bridge-nothing"\n'
                          'listen = 0\n')
        proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--config", str(config)],
                                env=dict(os.environ, NOTIFY_SOCKET=str(notify)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            message = sock.recv(4096).decode()
            assert "READY=1" in message
            assert "STATUS=2 ports: 1 up, 1 waiting for /dev/serial-bridge-nothing" in message
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(WAIT) == 0
