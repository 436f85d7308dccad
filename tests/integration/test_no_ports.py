"""A config with no [[port]] (UAT 13): allowed on purpose, for a service started before its
consoles are set up; check and serve say so in the same line, and a reload brings ports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.helpers import WAIT, connect
from tests.integration.support import MakePty, Start, assert_no_traceback, config, port_block


def test_check_and_serve_say_the_same_and_a_reload_adds_the_ports(start_daemon: Start, make_pty: MakePty,
                                                                  tmp_path: Path) -> None:
    sock = tmp_path / "ctl.sock"
    text = config().replace('control = ""', f'control = "{sock}"')
    path = tmp_path / "empty.toml"
    path.write_text(text)
    checked = subprocess.run([sys.executable, "-m", "bridge", "check", "--config", str(path)],
                             capture_output=True, text=True, timeout=WAIT)
    assert checked.returncode == 0
    assert checked.stdout == f"{path}: OK, 0 ports; 1 warning above\n"
    [note] = checked.stderr.splitlines()
    assert "no [[port]] tables: serve runs with no ports" in note and "SIGHUP" in note
    daemon = start_daemon(text)
    line = daemon.wait_log(r"WARNING: .*no \[\[port\]\] tables")
    assert line.endswith(note.removeprefix(str(path)).removesuffix(" (warning)"))
    daemon.wait_log(r"control endpoint on ")
    assert daemon.proc.poll() is None
    dev = make_pty()
    daemon.reload(text + port_block("con", dev.path, 0, 'mode = "raw"'))
    daemon.wait_log(r"reload: added \['con'\]")
    with connect(daemon.port_of("con")) as client:
        client.sendall(b"hello")
        assert dev.read(5) == b"hello"
    assert_no_traceback(daemon)
    assert daemon.stop() == 0
