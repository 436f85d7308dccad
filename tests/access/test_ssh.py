"""SSH straight to a port (issue 11), with asyncssh's client against the real daemon (CI always runs these)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from tests.access.helpers import MakePty, Start, closed_without_a_byte
from tests.access.ssh_support import PASSWORD, SshBridge, connect, read_until, run, start_ssh_bridge
from tests.integration.helpers import WAIT
from tests.integration.helpers import connect as tcp_connect


@pytest.fixture
def bridge(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> SshBridge:
    return start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh")


def _wait_for(predicate: object, what: str) -> None:
    import time
    deadline = time.monotonic() + WAIT
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def test_alice_on_rtr1_data_both_ways_break_and_terminal(bridge: SshBridge) -> None:
    """alice:rtr1 by key: the banner, keys to the device, output back, a break request (RFC 4335)
    on the line with its length, and status shows her as an ssh session with TERM and window size."""

    async def scenario() -> None:
        async with await connect(bridge, "alice:rtr1", key=bridge.alice) as conn:
            proc = await conn.create_process(term_type="vt220", term_size=(132, 43), encoding=None)
            banner = await read_until(proc.stdout, b"leaves]\r\n")
            assert b"port rtr1 on spy://" in banner and b"alice (writer)" in banner
            proc.stdin.write(b"show version\r")
            assert await asyncio.to_thread(bridge.rtr1.read_until, b"show version\r")
            await asyncio.to_thread(bridge.rtr1.write, b"Router uptime 5 weeks\r\n")
            assert b"Router uptime 5 weeks" in await read_until(proc.stdout, b"weeks\r\n")
            proc.channel.send_break(400)
            await asyncio.to_thread(_wait_for, lambda: "BRK  inactive" in bridge.spy_log.read_text(), "no break")
            status = await asyncio.to_thread(bridge.status)
            (session,) = status["rtr1"]["sessions"]
            assert (session["kind"], session["user"], session["access"]) == ("ssh", "alice", "writer")
            assert session["terminal"] == "vt220" and session["window"] == [132, 43]
            proc.change_terminal_size(100, 30)
            await asyncio.to_thread(bridge.wait_status,
                                    lambda s: s["rtr1"]["sessions"][0]["window"] == [100, 30])
            proc.close()
            await proc.wait_closed()
        bridge.daemon.wait_log(r"port rtr1: sending break \(400 ms\)")

    run(scenario())
    bridge.daemon.stop()


def test_a_watcher_sees_output_but_cannot_write_or_break(bridge: SshBridge) -> None:
    """lab-a is in alice's watch globs: she sees the port's output, her keys and breaks go nowhere."""

    async def scenario() -> None:
        async with await connect(bridge, "alice:lab-a", key=bridge.alice) as conn:
            proc = await conn.create_process(term_type="xterm", encoding=None)
            assert b"alice (watcher)" in await read_until(proc.stdout, b"leaves]\r\n")
            await asyncio.to_thread(bridge.lab.write, b"lab output\r\n")
            assert b"lab output" in await read_until(proc.stdout, b"lab output")
            proc.stdin.write(b"reboot\r")
            assert b"you are watching" in await read_until(proc.stdout, b"reach the device]")
            proc.channel.send_break(100)
            await asyncio.sleep(0.2)
            status = await asyncio.to_thread(bridge.status)
            assert status["lab-a"]["sessions"][0]["access"] == "watcher"
        assert bridge.lab.drain() == b""

    run(scenario())
    assert not any("port lab-a: sending break" in line for line in bridge.daemon.lines)
    bridge.daemon.stop()


def test_a_port_outside_her_globs_is_refused_with_exit_status_1(bridge: SshBridge) -> None:
    """alice:core (no glob of hers names it) and a port that does not exist look the same."""

    async def scenario() -> None:
        for name in ("core", "nowhere"):
            async with await connect(bridge, f"alice:{name}", key=bridge.alice) as conn:
                result = await conn.run(encoding=None)
                assert result.exit_status == 1
                assert result.stderr == f"serial-bridge: no port '{name}' for alice\r\n".encode()

    run(scenario())
    assert bridge.status()["core"]["sessions"] == []
    bridge.daemon.stop()


def test_wrong_key_and_wrong_password_are_refused_and_logged(bridge: SshBridge) -> None:
    """Another key, a wrong password, or an unknown user: permission denied, logged with the source."""
    stranger = asyncssh.generate_private_key("ssh-ed25519")

    async def scenario() -> None:
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(bridge, "alice:rtr1", key=stranger)
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(bridge, "alice:rtr1", password="not it")
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(bridge, "mallory:rtr1", password=PASSWORD)
        async with await connect(bridge, "alice:rtr1", password=PASSWORD) as conn:   # her password works
            proc = await conn.create_process(term_type="xterm", encoding=None)
            await read_until(proc.stdout, b"leaves]\r\n")
            proc.stdin.write(b"pw")
            assert await asyncio.to_thread(bridge.rtr1.read, 2) == b"pw"

    run(scenario())
    bridge.daemon.wait_log(r"SSH: failed login as 'alice:rtr1' from 127\.0\.0\.1:\d+", count=2)
    bridge.daemon.wait_log(r"SSH: failed login as 'mallory:rtr1' from 127\.0\.0\.1:\d+")
    bridge.daemon.stop()


def test_the_menu_lists_her_ports_shows_recent_output_and_connects(bridge: SshBridge) -> None:
    """`ssh alice@host`: her ports only (name, device, state, clients), h N shows recent output, N connects."""

    async def scenario() -> None:
        await asyncio.to_thread(bridge.rtr1.write, b"rtr1 booted, 12 interfaces up\r\n")
        await asyncio.to_thread(bridge.daemon.wait_log, r"port rtr1: device")
        async with await connect(bridge, "alice", key=bridge.alice) as conn:
            proc = await conn.create_process(term_type="xterm", encoding=None)
            menu = await read_until(proc.stdout, b"port> ")
            assert b"rtr1" in menu and b"lab-a" in menu and b"core" not in menu
            assert b"up" in menu and b"0 clients" in menu and b"watch only" in menu
            proc.stdin.write(b"h 1\r")
            recent = await read_until(proc.stdout, b"port> ")
            assert b"rtr1 booted, 12 interfaces up" in recent
            proc.stdin.write(b"x\x7f9\r")      # a typo, erased; then a number out of range
            assert b"no port '9'" in await read_until(proc.stdout, b"port> ")
            proc.stdin.write(b"1\r")
            assert b"port rtr1 on" in await read_until(proc.stdout, b"leaves]\r\n")
            proc.stdin.write(b"via menu")
            assert await asyncio.to_thread(bridge.rtr1.read, 8) == b"via menu"

    run(scenario())
    bridge.daemon.stop()


def test_exec_requests_list_ports_or_connect_and_nothing_else(bridge: SshBridge) -> None:
    """`ssh alice@host ports` lists her ports; `ssh alice@host rtr1` connects; anything else exits 1."""

    async def scenario() -> None:
        async with await connect(bridge, "alice", key=bridge.alice) as conn:
            listing = await conn.run("ports", encoding=None)
            assert listing.exit_status == 0
            assert isinstance(listing.stdout, bytes)
            names = [line.split()[0] for line in listing.stdout.decode().splitlines()]
            assert names == ["rtr1", "lab-a"]
            shell = await conn.run("sh -c id", encoding=None)
            assert shell.exit_status == 1 and isinstance(shell.stderr, bytes) and b"no port 'sh -c id'" in shell.stderr
            proc = await conn.create_process("rtr1", encoding=None)     # no terminal: no banner
            await asyncio.to_thread(bridge.wait_status, lambda s: len(s["rtr1"]["sessions"]) == 1)
            proc.stdin.write(b"exec")
            assert await asyncio.to_thread(bridge.rtr1.read, 4) == b"exec"
            proc.close()
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_connection("127.0.0.1", bridge.port)      # no port forwarding
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.start_sftp_client()

    run(scenario())
    bridge.daemon.stop()


def test_the_port_closing_ends_the_ssh_session(bridge: SshBridge) -> None:
    """An operator's kick ends the channel: a terminal is told why, then the channel closes."""

    async def scenario() -> None:
        async with await connect(bridge, "bob:core", password="bobs password") as conn:
            proc = await conn.create_process(term_type="xterm", encoding=None)
            await read_until(proc.stdout, b"leaves]\r\n")
            status = await asyncio.to_thread(bridge.status)
            session_id = status["core"]["sessions"][0]["id"]
            import subprocess
            import sys
            await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bridge", "ctl", "--control",
                                                     str(bridge.control), "kick", "core", str(session_id)],
                                    check=True, capture_output=True, timeout=WAIT)
            assert b"[serial-bridge: disconnected by the operator]" in await read_until(
                proc.stdout, b"operator]")     # a person at a terminal is told why, as on Telnet
            await proc.wait_closed()
            assert proc.exit_status == 0

    run(scenario())
    bridge.daemon.stop()


def test_bridge_allow_refuses_ssh_before_the_version_line(start_daemon: Start, make_pty: MakePty,
                                                          tmp_path: Path) -> None:
    """[bridge] allow not naming 127.0.0.1: the SSH server closes the connection without a byte."""
    bridge = start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh", 'allow = ["192.0.2.0/24"]')
    sock = tcp_connect(bridge.port)
    assert closed_without_a_byte(sock)
    sock.close()
    bridge.daemon.wait_log(r"SSH: refused 127\.0\.0\.1")
    bridge.daemon.stop()


def test_a_port_allow_list_applies_to_ssh_sessions_and_users_reload(start_daemon: Start, make_pty: MakePty,
                                                                    tmp_path: Path) -> None:
    """A port whose allow list leaves out 127.0.0.1 refuses bob over SSH too (exit 1, one line);
    a user added to the config logs in after SIGHUP."""
    bridge = start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh", extra_core='allow = ["192.0.2.0/24"]')
    carol = asyncssh.generate_private_key("ssh-ed25519")

    async def refused() -> None:
        async with await connect(bridge, "bob:core", password="bobs password") as conn:
            result = await conn.run(encoding=None)
            assert result.exit_status == 1
            assert result.stderr == b"serial-bridge: port core does not take connections from 127.0.0.1\r\n"
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(bridge, "carol:rtr1", key=carol)

    run(refused())
    text = (bridge.folder / "config.toml").read_text()
    bridge.daemon.reload(text + f'''
[[user]]
name = "carol"
keys = ["{carol.export_public_key().decode().strip()}"]
ports = ["rtr1"]
''')
    bridge.daemon.wait_log(r"reload: ")

    async def carol_in() -> None:
        async with await connect(bridge, "carol:rtr1", key=carol) as conn:
            proc = await conn.create_process(term_type="xterm", encoding=None)
            assert b"carol (writer)" in await read_until(proc.stdout, b"leaves]\r\n")

    run(carol_in())
    bridge.daemon.stop()


def test_stopping_the_bridge_ends_ssh_sessions_cleanly(bridge: SshBridge) -> None:
    """SIGTERM with an SSH session open: the client sees its channel close; the daemon exits 0, no traceback."""

    async def scenario() -> None:
        async with await connect(bridge, "alice:rtr1", key=bridge.alice) as conn:
            proc = await conn.create_process(term_type="xterm", encoding=None)
            await read_until(proc.stdout, b"leaves]\r\n")
            code = await asyncio.to_thread(bridge.daemon.stop)
            assert code == 0
            await proc.wait_closed()

    run(scenario())
    assert "Traceback" not in "\n".join(bridge.daemon.lines), "\n".join(bridge.daemon.lines)
