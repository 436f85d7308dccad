"""`doctor --config` against the config of a running bridge: its own locks are no problem (issue 13)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.integration.helpers import WAIT, Daemon, PtyDevice

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def test_doctor_recognises_the_running_bridges_own_lock(start_daemon: Start, make_pty: MakePty,
                                                        tmp_path: Path) -> None:
    """The real daemon locks and opens a pty; doctor on the same config says OK for it, not FAIL in use."""
    dev = make_pty()
    locks = tmp_path / "locks"
    locks.mkdir()
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n[[port]]\nname = "p"\ndevice = "{dev.path}"\n'
                          f'listen = 0\nlock_dir = "{locks}"\n')
    daemon.wait_log(r"port p: device .* (open|up)|port p: .*opened")
    assert list(locks.iterdir()), "the bridge took no UUCP lock"
    done = subprocess.run([sys.executable, "-m", "bridge", "doctor", "--config", str(daemon.config_path)],
                          capture_output=True, text=True, timeout=WAIT * 2, check=False)
    # (the test itself holds the pty's other end open: doctor rightly names this process too)
    mine = [line for line in done.stdout.splitlines()
            if line.split()[1:3] == ["in", "use"] and f"PID {daemon.proc.pid}" in line]
    assert len(mine) == 1, done.stdout
    assert mine[0].split()[0] == "OK", done.stdout
    assert "held by the bridge serving this config" in mine[0], done.stdout
    assert daemon.stop() == 0
