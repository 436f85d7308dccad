"""Hostile input on the SSH listener (issue 11): the daemon and the other ports carry on, memory stays bounded."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import asyncssh
import pytest

from bridge.access.ssh import FAILURES_PER_MINUTE
from tests.access.helpers import MakePty, Start, recv_until
from tests.access.ssh_support import PASSWORD, SshBridge, connect, read_until, run, start_ssh_bridge
from tests.integration.helpers import WAIT
from tests.integration.helpers import connect as tcp_connect


@pytest.fixture
def bridge(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> SshBridge:
    return start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _other_port_works(bridge: SshBridge) -> None:
    """lab-a, a raw port, still carries data both ways."""
    port = bridge.daemon.port_of("lab-a")
    sock = tcp_connect(port)
    sock.sendall(b"still here")
    assert bridge.lab.read(10) == b"still here"
    bridge.lab.write(b"and well\r\n")
    assert b"and well" in recv_until(sock, b"and well")
    sock.close()


def _login_works(bridge: SshBridge) -> None:
    async def scenario() -> None:
        async with await connect(bridge, "alice:rtr1", key=bridge.alice) as conn:
            proc = await conn.create_process(term_type="xterm", encoding=None)
            await read_until(proc.stdout, b"leaves]\r\n")
            proc.stdin.write(b"ok")
            assert await asyncio.to_thread(bridge.rtr1.read, 2) == b"ok"
    run(scenario())


def test_a_garbage_banner_is_dropped_and_nothing_else_notices(bridge: SshBridge) -> None:
    """HTTP and random bytes instead of an SSH version line: the connection ends; logins and ports go on."""
    for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(4096), b"SSH-2.0-x\r\n" + os.urandom(70000)):
        sock = tcp_connect(bridge.port)
        try:
            sock.sendall(junk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(WAIT)
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        sock.close()
    _login_works(bridge)
    _other_port_works(bridge)
    assert bridge.daemon.proc.poll() is None
    assert "Traceback" not in "\n".join(bridge.daemon.lines)
    bridge.daemon.stop()


def test_a_client_stalled_mid_handshake_blocks_nobody(bridge: SshBridge) -> None:
    """Clients that send a version line and then nothing hold no one up."""
    stalled: list[socket.socket] = []
    for _ in range(5):
        sock = tcp_connect(bridge.port)
        assert recv_until(sock, b"\r\n").startswith(b"SSH-2.0-")
        sock.sendall(b"SSH-2.0-stall\r\n\x00\x00")    # and half a packet length, then silence
        stalled.append(sock)
    _login_works(bridge)
    _other_port_works(bridge)
    for sock in stalled:
        sock.close()
    bridge.daemon.stop()


def test_a_hundred_failed_logins_are_rate_limited_with_bounded_memory(bridge: SshBridge) -> None:
    """100 wrong passwords from one source: a bounded number of log lines, then the source is
    refused at accept; the daemon's memory barely moves and the other ports carry on."""
    pid = bridge.daemon.proc.pid
    _login_works(bridge)    # warm up: the first login loads what every later one uses
    before = _rss_kib(pid)
    outcomes: dict[str, int] = {}

    async def scenario() -> None:
        for _ in range(100):
            try:
                conn = await connect(bridge, "alice:rtr1", password="wrong " + PASSWORD)
                conn.close()
                outcomes["in"] = outcomes.get("in", 0) + 1
            except asyncssh.PermissionDenied:
                outcomes["denied"] = outcomes.get("denied", 0) + 1
            except (OSError, asyncssh.Error):
                outcomes["refused"] = outcomes.get("refused", 0) + 1

    run(scenario())
    assert "in" not in outcomes
    assert outcomes.get("denied", 0) <= FAILURES_PER_MINUTE and outcomes.get("refused", 0) >= 100 - FAILURES_PER_MINUTE
    bridge.daemon.wait_log(rf"SSH: {FAILURES_PER_MINUTE} failed logins from 127\.0\.0\.1 within a minute")
    failed_lines = [line for line in bridge.daemon.lines if "SSH: failed login" in line]
    assert 1 <= len(failed_lines) < FAILURES_PER_MINUTE
    assert sum("failed logins from 127.0.0.1" in line for line in bridge.daemon.lines) == 1
    _other_port_works(bridge)
    assert _rss_kib(pid) - before < 20 * 1024, "the daemon grew by more than 20 MiB"
    assert bridge.daemon.proc.poll() is None
    assert "Traceback" not in "\n".join(bridge.daemon.lines)
    bridge.daemon.stop()
