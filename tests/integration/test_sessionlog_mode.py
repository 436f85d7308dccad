"""Session logs are never world-readable, whatever the umask serve runs under (UAT 11):
created 0640, rotated files too, and an old world-readable log is narrowed when reopened."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.helpers import WAIT
from tests.integration.support import MakePty, Start, config, port_block


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def test_logs_are_0640_under_umask_022_and_0000(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    old = logs / "old.log"
    logs.mkdir()
    old.write_bytes(b"from before\n")
    old.chmod(0o666)   # a log left world-readable (and writable) by an earlier version
    for umask in (0o022, 0o000):
        dev, other = make_pty(), make_pty()
        previous = os.umask(umask)   # serve inherits it, as from a shell
        try:
            daemon = start_daemon(config(
                port_block(f"u{umask:o}", dev.path, 0, f'mode = "raw"\nlog_dir = "{logs}"\nlog_max_bytes = 4096\n'
                                                       "log_keep = 2\nlog_timestamps = false"),
                port_block("old", other.path, 0, f'mode = "raw"\nlog_dir = "{logs}"')))
        finally:
            os.umask(previous)
        daemon.wait_log(rf"u{umask:o}: device .* open")
        daemon.wait_log(r"old: device .* open")
        current = logs / f"u{umask:o}.log"
        dev.write(b"x" * 3000 + b"\n")
        other.write(b"after\n")
        _wait_for(current.exists, "no log file")
        dev.write(b"y" * 3000 + b"\n")   # past log_max_bytes: rotated, a fresh file made
        rotated = logs / f"u{umask:o}.log.1"
        _wait_for(rotated.exists, "no rotation")
        _wait_for(lambda: b"after" in old.read_bytes(), "old log not written")
        assert _mode(current) == 0o640, oct(_mode(current))
        assert _mode(rotated) == 0o640, oct(_mode(rotated))
        assert _mode(old) == 0o640, oct(_mode(old))
        daemon.stop()
