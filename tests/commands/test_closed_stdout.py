"""Every command survives a reader that went away (`status | head -1`): no traceback (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.control.helpers import short_tmpdir
from tests.control.test_commands import ServerThread


@pytest.fixture
def bridge() -> Iterator[ServerThread]:
    """A running fake bridge's control endpoint."""
    with short_tmpdir() as tmp, ServerThread(str(tmp / "control.sock")) as running:
        yield running


def run_into_closed_pipe(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``serial-bridge ARGV`` with stdout a pipe whose reader is already closed."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run([sys.executable, "-m", "bridge", *argv], stdout=writer,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    finally:
        os.close(writer)


DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("argv", [
    ["profiles"], ["profiles", "--json"], ["--help"], ["ports", "--json"], ["doctor"], ["service"],
    ["import", "ser2net", str(DATA / "ser2net" / "ser2net-example-v2.yaml")],
])
def test_local_commands_end_quietly(argv: list[str]) -> None:
    """Commands that print without a running bridge, into a closed pipe: no BrokenPipeError traceback."""
    done = run_into_closed_pipe(argv)
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert "Exception ignored" not in done.stderr


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_status_ends_quietly(bridge: ServerThread, extra: list[str]) -> None:
    """status and status --json into a closed pipe: exit 0 (the reader left; UAT 13: `status |
    head -1` exited 1 at random), no traceback."""
    done = run_into_closed_pipe(["status", *extra, "--control", bridge.path])
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert "Exception ignored" not in done.stderr
    assert done.returncode == 0


def test_status_into_head_always_exits_0(bridge: ServerThread) -> None:
    """`status | head -1` with unbuffered output (table and newline written apart): exit 0 every
    time, whichever of the two the reader left before."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for _ in range(8):
        head = subprocess.Popen(["head", "-1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert head.stdin is not None
        try:
            done = subprocess.run([sys.executable, "-m", "bridge", "status", "--control", bridge.path],
                                  stdout=head.stdin, stderr=subprocess.PIPE, text=True, timeout=60, env=env)
        finally:
            out, _ = head.communicate(timeout=60)   # closes our end of its stdin
        assert out.startswith(b"PORT"), out
        assert done.returncode == 0 and done.stderr == "", done.stderr
