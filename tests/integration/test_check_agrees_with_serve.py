"""`check` and `serve` read a config with the same validator: the same files, the same verdicts (issue 13).

Each file goes to both. When ``check`` says OK, ``serve`` must start and run
(its control endpoint up, no error) until SIGTERM; when ``check`` refuses it
(exit 2), ``serve`` must refuse it with the same lines and exit 2.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.helpers import WAIT, Daemon, PtyDevice

MakePty = Callable[[], PtyDevice]

PORT = '[[port]]\nname = "a"\ndevice = "{dev}"\nlisten = 0\n'

FILES = {
    "good": '[bridge]\ncontrol = "{tmp}/c.sock"\n' + PORT,
    "good, TCP control on loopback": '[bridge]\ncontrol = "127.0.0.1:0"\n' + PORT,
    "control off loopback without a token": '[bridge]\ncontrol = "0.0.0.0:7500"\n' + PORT,
    "control address without a port": '[bridge]\ncontrol = "localhost"\n' + PORT,
    "a baud rate no device takes": '[bridge]\ncontrol = "{tmp}/c.sock"\n' + PORT + "baud = 30000000\n",
    "a parity that does not exist": '[bridge]\ncontrol = "{tmp}/c.sock"\n' + PORT + 'parity = "evn"\n',
    "stop bits as 2.0 and 7E2": '[bridge]\ncontrol = "{tmp}/c.sock"\n' + PORT
                                + "stopbits = 2.0\nbytesize = 7\nparity = \"even\"\n",
}


def run_check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=WAIT * 2, check=False)


@pytest.mark.parametrize("case", sorted(FILES))
def test_check_and_serve_agree(case: str, tmp_path: Path, make_pty: MakePty) -> None:
    """The same file: check OK and serve runs, or both exit 2 with the same problem lines."""
    dev = make_pty()
    text = FILES[case].format(dev=dev.path, tmp=tmp_path)
    config = tmp_path / "bridge.toml"
    config.write_text(text)
    checked = run_check(config)
    assert checked.returncode in (0, 2), checked.stderr
    daemon = Daemon(text, tmp_path)   # writes the same text to the same file
    try:
        if checked.returncode == 0:
            daemon.wait_log(r"control endpoint on ")
            assert daemon.proc.poll() is None, "\n".join(daemon.lines)
            assert daemon.stop() == 0, "\n".join(daemon.lines)
            assert not [line for line in daemon.lines if line.startswith(("ERROR", "serial-bridge: error"))]
        else:
            assert daemon.wait_exit() == 2, "\n".join(daemon.lines)
            assert daemon.lines == checked.stderr.splitlines()
    finally:
        daemon.kill()
