"""`ctl reload` against the real daemon (UAT finding 4): a refused file is not "reloaded", and a
reload that changes only users says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.helpers import WAIT
from tests.integration.support import MakePty, Start, assert_no_traceback, config, port_block

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPfWWSqQj3H7MgOmqudQ8R3ab4JWcUyD2Lm8dD6Ogqp3 carol@lab"


def _ctl_reload(sock: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", "ctl", "reload", "--control", str(sock)],
                          capture_output=True, text=True, timeout=WAIT)


def _with_control(text: str, sock: Path) -> str:
    return text.replace('control = ""', f'control = "{sock}"')


def test_a_refused_file_is_not_reported_as_reloaded(start_daemon: Start, make_pty: MakePty,
                                                    tmp_path: Path) -> None:
    dev = make_pty()
    sock = tmp_path / "ctl.sock"
    daemon = start_daemon(_with_control(config(port_block("rtr1", dev.path)), sock))
    daemon.wait_log(r"rtr1: device .* open")
    daemon.config_path.write_text(_with_control(config(port_block("rtr1", dev.path, 0, 'baud = "x"')), sock))
    done = _ctl_reload(sock)
    assert done.stdout == "", done.stdout
    assert "'baud'" in done.stderr and "previous configuration" in done.stderr, done.stderr
    assert done.returncode == 2
    assert not [line for line in daemon.lines if "reload: no changes" in line]
    assert_no_traceback(daemon)
    daemon.stop()


def test_a_reload_that_adds_a_user_says_so(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    dev = make_pty()
    sock = tmp_path / "ctl.sock"
    ports = port_block("rtr1", dev.path)
    daemon = start_daemon(_with_control(config(ports), sock))
    daemon.wait_log(r"rtr1: device .* open")
    user = f'[[user]]\nname = "carol"\nkeys = ["{KEY}"]\nports = ["rtr1"]\n'
    daemon.config_path.write_text(_with_control(config(ports), sock) + user)
    done = _ctl_reload(sock)
    assert done.stdout == "reloaded: user carol added\n", done.stdout + done.stderr
    assert done.returncode == 0
    assert "carol" in daemon.wait_log(r"INFO.*reload: ")
    daemon.config_path.write_text(_with_control(config(ports), sock))
    done = _ctl_reload(sock)
    assert done.stdout == "reloaded: user carol removed\n", done.stdout + done.stderr
    assert_no_traceback(daemon)
    daemon.stop()
