"""OpenSSH's ssh against the real daemon, driven through a pty with pexpect (skipped where ssh is not installed).

The same scenarios run with asyncssh's client in test_ssh.py, so CI checks them either way.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import asyncssh
import pexpect
import pytest

from tests.access.helpers import MakePty, Start
from tests.access.ssh_support import PASSWORD, SshBridge, start_ssh_bridge
from tests.integration.helpers import WAIT

SSH = shutil.which("ssh")
pytestmark = pytest.mark.skipif(SSH is None, reason="OpenSSH's ssh is not installed")


@pytest.fixture
def bridge(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> SshBridge:
    return start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh")


def _ssh(bridge: SshBridge, login: str, *args: str, key: Path | None = None, password: bool = False,
         command: str | None = None) -> pexpect.spawn[bytes]:
    host_key = (bridge.folder / "host_key.pub").read_text().split()
    known = bridge.folder / "known_hosts"
    known.write_text(f"[127.0.0.1]:{bridge.port} {host_key[0]} {host_key[1]}\n")
    assert SSH is not None
    argv = ["-F", "/dev/null", "-p", str(bridge.port), "-o", f"UserKnownHostsFile={known}",
            "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]
    if password:
        argv += ["-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"]
    else:
        argv += ["-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
                 "-i", str(key or bridge.alice_key)]
    argv += [*args, f"{login}@127.0.0.1"]
    if command is not None:
        argv.append(command)
    return pexpect.spawn(SSH, argv, timeout=WAIT)


def _finish(child: pexpect.spawn[bytes]) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None
    return int(child.exitstatus)


def _wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def test_openssh_data_both_ways_and_tilde_b_sends_a_break(bridge: SshBridge) -> None:
    """ssh -tt alice:rtr1@host: banner, keys to the line, output back, ~B a break on the line, ~. leaves."""
    child = _ssh(bridge, "alice:rtr1", "-tt")
    child.expect(r"alice \(writer\); ~B sends a break, ~\. leaves\]")
    child.send("show clock\r")
    bridge.rtr1.read_until(b"show clock\r")
    bridge.rtr1.write(b"12:00:00 UTC\r\n")
    child.expect("12:00:00 UTC")
    child.send("\r~B")
    _wait_for(lambda: "BRK  inactive" in bridge.spy_log.read_text(), "no break reached the line")
    bridge.daemon.wait_log(r"port rtr1: sending break \(\d+ ms\)")
    child.send("\r~.")
    assert _finish(child) in (0, 255)
    bridge.daemon.wait_log(r"port rtr1: client .* disconnected")
    bridge.daemon.stop()


def test_openssh_menu_history_and_selection(bridge: SshBridge) -> None:
    """ssh alice@host: the menu, h 1 shows rtr1's recent output, 2 connects to lab-a as a watcher."""
    bridge.rtr1.write(b"rtr1 console ready\r\n")
    bridge.daemon.wait_log(r"port rtr1: device")
    child = _ssh(bridge, "alice", "-tt")
    child.expect("port> ")
    assert b"rtr1" in (child.before or b"") and b"core" not in (child.before or b"")
    child.send("h 1\r")
    child.expect("rtr1 console ready")
    child.expect("port> ")
    child.send("2\r")
    child.expect(r"alice \(watcher\)")
    child.send("reload\r")
    child.expect("you are watching: your input does not reach the device")
    assert bridge.lab.drain() == b""
    child.send("\r~.")
    _finish(child)
    bridge.daemon.stop()


def test_openssh_wrong_key_wrong_password_and_a_port_not_hers(bridge: SshBridge, tmp_path: Path) -> None:
    """Another key and a wrong password: permission denied (255); alice:core: one line, exit 1; the
    right password gets in."""
    other = asyncssh.generate_private_key("ssh-ed25519")
    other_path = tmp_path / "other_key"
    other_path.write_bytes(other.export_private_key())
    other_path.chmod(0o600)
    child = _ssh(bridge, "alice:rtr1", "-tt", key=other_path)
    child.expect("Permission denied")
    assert _finish(child) == 255
    child = _ssh(bridge, "alice:rtr1", "-tt", password=True)
    child.expect("assword:")
    child.sendline("guess")
    child.expect("Permission denied")
    assert _finish(child) == 255
    child = _ssh(bridge, "alice:core", "-tt")
    child.expect("no port 'core' for alice")
    assert _finish(child) == 1
    child = _ssh(bridge, "alice:rtr1", "-tt", password=True)
    child.expect("assword:")
    child.sendline(PASSWORD)
    child.expect(r"alice \(writer\)")
    child.send("pw ok")
    assert bridge.rtr1.read(5) == b"pw ok"
    child.send("\r~.")
    _finish(child)
    bridge.daemon.wait_log(r"SSH: failed login as 'alice:rtr1' from 127\.0\.0\.1")
    bridge.daemon.stop()


def test_openssh_exec_ports_lists_her_ports(bridge: SshBridge) -> None:
    """ssh alice@host ports: her ports, one a line, exit 0."""
    child = _ssh(bridge, "alice", command="ports")
    child.expect("rtr1")
    child.expect("lab-a")
    assert _finish(child) == 0
    bridge.daemon.stop()


def test_ssh_without_a_terminal_and_stdin_at_eof_captures_the_device(bridge: SshBridge) -> None:
    """uat 3: `ssh -T alice:rtr1@host </dev/null > capture`: only the device's bytes, also those
    sent after stdin ended; the session lasts until ssh is stopped."""
    import select
    import subprocess
    host_key = (bridge.folder / "host_key.pub").read_text().split()
    known = bridge.folder / "known_hosts"
    known.write_text(f"[127.0.0.1]:{bridge.port} {host_key[0]} {host_key[1]}\n")
    assert SSH is not None
    child = subprocess.Popen(
        [SSH, "-F", "/dev/null", "-T", "-p", str(bridge.port), "-o", f"UserKnownHostsFile={known}",
         "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
         "-o", "PasswordAuthentication=no", "-o", "LogLevel=ERROR", "-i", str(bridge.alice_key),
         "alice:rtr1@127.0.0.1"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        bridge.wait_status(lambda s: len(s["rtr1"]["sessions"]) == 1)
        time.sleep(0.5)      # ssh's EOF has reached the bridge
        bridge.rtr1.write(b"captured later\r\n")
        assert child.stdout is not None
        got = b""
        deadline = time.monotonic() + WAIT
        while b"later\r\n" not in got and time.monotonic() < deadline:
            if not select.select([child.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
                break
            chunk = os.read(child.stdout.fileno(), 4096)
            if not chunk:
                break
            got += chunk
        assert got == b"captured later\r\n", got
        assert child.poll() is None
    finally:
        child.terminate()
        child.wait(WAIT)
    bridge.daemon.stop()


def test_ssh_that_stops_reading_is_dropped(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """uat 1: `ssh -tt bob:core@host > pipe` whose pipe nobody reads is disconnected after stall_timeout:
    the session leaves the port and ssh itself ends (its connection is closed), without reading again."""
    import subprocess
    import threading
    bridge = start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh", "stall_timeout = 1")
    host_key = (bridge.folder / "host_key.pub").read_text().split()
    known = bridge.folder / "known_hosts"
    known.write_text(f"[127.0.0.1]:{bridge.port} {host_key[0]} {host_key[1]}\n")
    assert SSH is not None
    child = subprocess.Popen(
        [SSH, "-F", "/dev/null", "-tt", "-p", str(bridge.port), "-o", f"UserKnownHostsFile={known}",
         "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
         "-o", "PasswordAuthentication=no", "-o", "LogLevel=ERROR", "-i", str(bridge.alice_key),
         "alice:rtr1@127.0.0.1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stop = threading.Event()

    def flood() -> None:
        end = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < end:
            try:
                bridge.rtr1.write(b"w" * 4096)
            except TimeoutError:
                pass
    feeder = threading.Thread(target=flood, daemon=True)
    try:
        bridge.wait_status(lambda s: len(s["rtr1"]["sessions"]) == 1)
        feeder.start()
        bridge.daemon.wait_log(r"port rtr1: session \d+ .*not reading for 1 s", timeout=20)
        bridge.daemon.wait_log(r"port rtr1: client .* disconnected")
        bridge.wait_status(lambda s: s["rtr1"]["sessions"] == [])
        child.wait(WAIT)          # ssh's connection was closed by the bridge
    finally:
        stop.set()
        if feeder.is_alive():
            feeder.join(WAIT)
        child.kill()
        child.wait(WAIT)
    bridge.daemon.stop()
