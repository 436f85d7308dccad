"""Issue 10, TTYPE: the bridge asks a Telnet client for its terminal types at connect (RFC 1091)
and the session shows the one the client settled on in `status --json`.

Clients: the project's own engine in the client role (several types), Debian's
`telnet` where installed, and telnetlib3 (pip, so CI always checks a real client).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.telnet import TerminalTypeRequested
from tests.integration.helpers import WAIT, Daemon, PtyDevice, TelnetClient

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


@pytest.fixture
def control_path() -> Iterator[str]:
    """A short unix socket path (pytest's tmp_path can pass the 108-byte limit)."""
    folder = tempfile.mkdtemp(prefix="sb-tt-", dir="/tmp")
    yield os.path.join(folder, "ctl.sock")
    shutil.rmtree(folder, ignore_errors=True)


def _start(start_daemon: Start, make_pty: MakePty, control: str) -> tuple[Daemon, int]:
    dev = make_pty()
    daemon = start_daemon(f'[bridge]\ncontrol = "{control}"\n[[port]]\nname = "con"\n'
                          f'device = "{dev.path}"\nlisten = 0\nlock_files = false\n')
    daemon.wait_log(r"con: device .* open")
    return daemon, daemon.port_of("con")


def _terminals(control: str) -> list[object]:
    out = subprocess.run([sys.executable, "-m", "bridge", "status", "--json", "--control", control],
                         capture_output=True, text=True, timeout=WAIT, check=True).stdout
    found: list[object] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "terminal" in node and "peer" in node:
                found.append(node["terminal"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(json.loads(out))
    return found


def _wait_terminal(control: str, expected: str) -> None:
    deadline = time.monotonic() + WAIT
    seen: list[object] = []
    while time.monotonic() < deadline:
        seen = _terminals(control)
        if expected in seen:
            return
        time.sleep(0.1)
    raise AssertionError(f"no session shows terminal {expected!r}: {seen}")


def test_a_client_with_several_types_is_asked_until_its_list_repeats(
        start_daemon: Start, make_pty: MakePty, control_path: str) -> None:
    """RFC 1091: each SEND gets the next type; the list's last type, sent twice, is the one in use."""
    daemon, port = _start(start_daemon, make_pty, control_path)
    client = TelnetClient(port)
    names = itertools.cycle(["XTERM-256COLOR", "XTERM", "VT100", "VT100"])
    answered: list[str] = []
    deadline = time.monotonic() + WAIT
    while len(answered) < 4 and time.monotonic() < deadline:
        client.pump(0.2)
        for event in client.events:
            if isinstance(event, TerminalTypeRequested):
                name = next(names)
                answered.append(name)
                client.conn.send_terminal_type(name)
        client.events.clear()
        client.flush()
    assert answered == ["XTERM-256COLOR", "XTERM", "VT100", "VT100"]
    _wait_terminal(control_path, "VT100")
    client.pump(0.3)
    assert not [e for e in client.events if isinstance(e, TerminalTypeRequested)]  # no fifth SEND
    client.close()
    daemon.stop()


@pytest.mark.skipif(shutil.which("telnet") is None, reason="no telnet client installed (apt-get install telnet)")
def test_debian_telnet_reports_its_term(start_daemon: Start, make_pty: MakePty, control_path: str) -> None:
    """Debian's telnet answers SEND with $TERM upper-cased; the session shows it and the console works."""
    pexpect = pytest.importorskip("pexpect")
    daemon, port = _start(start_daemon, make_pty, control_path)
    child = pexpect.spawn("telnet", ["127.0.0.1", str(port)], env=dict(os.environ, TERM="xterm-256color"),
                          timeout=WAIT)
    try:
        child.expect(r"\]\r\n")
        _wait_terminal(control_path, "XTERM-256COLOR")
    finally:
        child.terminate(force=True)
    daemon.stop()


def test_telnetlib3_reports_its_term(start_daemon: Start, make_pty: MakePty, control_path: str) -> None:
    """telnetlib3's client (pip) answers SEND with its term; the session shows it."""
    telnetlib3 = pytest.importorskip("telnetlib3")
    daemon, port = _start(start_daemon, make_pty, control_path)

    async def session() -> None:
        reader, writer = await asyncio.wait_for(telnetlib3.open_connection(
            "127.0.0.1", port, term="xterm-256color", encoding=False, connect_maxwait=1.0), WAIT)
        seen = b""
        while b"]\r\n" not in seen:
            chunk = await asyncio.wait_for(reader.read(4096), WAIT)
            assert chunk, seen
            seen += chunk
        await asyncio.get_running_loop().run_in_executor(None, _wait_terminal, control_path, "xterm-256color")
        writer.close()

    asyncio.run(session())
    daemon.stop()
