"""``python -m bridge.demo``: the board alone, as a process."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from tests.demo.helpers import Terminal


def test_the_board_process_prints_its_device_and_stops_cleanly_on_sigterm() -> None:
    """The first stdout line is the device; the board answers there; SIGTERM ends it with status 0."""
    async def scenario() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridge.demo", "--time-scale", "0.01", "--name", "proc-board",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(15):
                assert proc.stdout is not None
                path = (await proc.stdout.readline()).decode().strip()
                term = Terminal(path)
                boot = await term.read_until(b"proc-board login: ")
                term.close()
                proc.send_signal(signal.SIGTERM)
                status = await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert path.startswith("/dev/pts/")
        assert b"login: root  password: bridge" in boot
        assert status == 0
    asyncio.run(scenario())


@pytest.mark.parametrize(("args", "message"), [
    (["--time-scale", "0"], "python -m bridge.demo: error: time scale must be a positive number, not 0.0"),
    (["--name", "bad name"], "python -m bridge.demo: error: board name 'bad name' is not a host name"),
])
def test_bad_arguments_give_one_line_and_status_2(args: list[str], message: str) -> None:
    """A bad time scale or name is one line on stderr and exit status 2, no traceback."""
    done = subprocess.run([sys.executable, "-m", "bridge.demo", *args],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert len(done.stderr.splitlines()) == 1
    assert done.stdout == ""
