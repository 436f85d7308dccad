"""`serial-bridge service`: the unit's keys and systemd's verdict on it; the daemon's watchdog
pings on a real NOTIFY_SOCKET; journald priority prefixes when stderr is the journal."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.commands import service
from bridge.systemd import JournalFormatter, priority, stderr_is_journal, watchdog_interval, with_watchdog
from tests.integration.helpers import WAIT


def unit_keys(text: str) -> dict[str, list[str]]:
    """``Key`` -> its values, in order, over every section of a unit file."""
    keys: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key, []).append(value)
    return keys


def test_unit_is_notify_with_watchdog_restart_dialout_and_sandbox(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The unit carries every key the service relies on, and runs this installation's serve."""
    config = tmp_path / "bridge.toml"
    config.write_text("")
    assert main(["service", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    keys = unit_keys(out)
    exec_start = keys["ExecStart"][0]
    assert exec_start.endswith(f" serve --config {config}")
    assert exec_start.split()[0] in (str(Path(sys.executable).parent / "serial-bridge"), sys.executable)
    expected = {
        "Type": "notify", "Restart": "on-failure", "SupplementaryGroups": "dialout",
        "ProtectSystem": "strict", "StateDirectory": "serial-bridge", "LogsDirectory": "serial-bridge",
        "RuntimeDirectory": "serial-bridge", "NoNewPrivileges": "yes", "DynamicUser": "yes",
        "ExecReload": "/bin/kill -HUP $MAINPID", "WantedBy": "multi-user.target",
        "RestartPreventExitStatus": "2", "StartLimitIntervalSec": "0",
    }
    for key, value in expected.items():
        assert keys[key] == [value], key
    assert int(keys["WatchdogSec"][0]) > 0
    # A device allow-list (set by these, or implied by ProtectClock on systemd < 252) would
    # lock out serial adapters whose driver loads after the service starts.
    assert not {"DeviceAllow", "DevicePolicy", "PrivateDevices", "ProtectClock"} & keys.keys()
    assert "-/run/lock" in keys["ReadWritePaths"]


def test_user_option_names_the_account(capsys: pytest.CaptureFixture[str]) -> None:
    """--user USER replaces the transient user; a bad or root user is one line, exit 2."""
    assert main(["service", "--config", "/etc/serial-bridge/bridge.toml", "--user", "serial-bridge"]) == 0
    keys = unit_keys(capsys.readouterr().out)
    assert keys["User"] == ["serial-bridge"] and "DynamicUser" not in keys
    for bad in ("root", "bad user", "-x"):
        assert main(["service", f"--user={bad}"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("serial-bridge: error: ") and "\n" not in err


def test_config_in_a_home_folder_keeps_home_readable(capsys: pytest.CaptureFixture[str]) -> None:
    """A config under /home gets ProtectHome=read-only (ProtectHome=yes would hide it)."""
    assert main(["service", "--config", "/home/pi/bridge.toml"]) == 0
    captured = capsys.readouterr()
    assert unit_keys(captured.out)["ProtectHome"] == ["read-only"]
    assert "does not exist yet" in captured.err


def test_paths_with_spaces_are_quoted() -> None:
    """A path with a space is one quoted word of ExecStart."""
    text = service.render_unit("/etc/my bridge/b.toml", None, ["/opt/sb/bin/serial-bridge"])
    assert 'ExecStart=/opt/sb/bin/serial-bridge serve --config "/etc/my bridge/b.toml"' in text


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`systemd-analyze verify` reports nothing about the unit (unknown keys, bad values)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    config = tmp_path / "bridge.toml"
    config.write_text("")
    assert main(["service", "--config", str(config)]) == 0
    unit = tmp_path / "serial-bridge.service"
    unit.write_text(capsys.readouterr().out)
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    about_unit = [line for line in (result.stdout + result.stderr).splitlines() if str(unit) in line]
    assert result.returncode == 0 and not about_unit, result.stdout + result.stderr


# ------------------------------------------------------------------ watchdog

def test_watchdog_interval_follows_sd_watchdog_enabled() -> None:
    """WATCHDOG_USEC in microseconds; another WATCHDOG_PID, zero or garbage means no watchdog."""
    base = {"NOTIFY_SOCKET": "/run/x"}
    assert watchdog_interval({**base, "WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({**base, "WATCHDOG_USEC": "500000", "WATCHDOG_PID": str(os.getpid())}) == 0.5
    assert watchdog_interval({**base, "WATCHDOG_USEC": "500000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert watchdog_interval({**base, "WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({**base, "WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "500000"}) is None
    assert watchdog_interval({}) is None


def test_the_real_daemon_pings_the_watchdog(tmp_path: Path) -> None:
    """serve under WATCHDOG_USEC sends READY=1, then WATCHDOG=1 again and again, and stops cleanly."""
    notify = tmp_path / "notify.sock"
    config = tmp_path / "bridge.toml"
    config.write_text('[bridge]\ncontrol = ""\n[[port]]\nname = "w"\ndevice = "loop://"\nlisten = 0\n')
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        sock.settimeout(WAIT)
        env = dict(os.environ, NOTIFY_SOCKET=str(notify), WATCHDOG_USEC="200000")
        proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--config", str(config)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            messages: list[str] = []
            while sum(m == "WATCHDOG=1" for m in messages) < 5 or not any("READY=1" in m for m in messages):
                assert len(messages) < 200, messages
                messages.append(sock.recv(4096).decode())
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(WAIT) == 0


def test_a_wedged_loop_sends_no_ping(tmp_path: Path) -> None:
    """The pings come from the event loop itself: while a coroutine blocks the loop, none is sent."""
    notify = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        sock.settimeout(WAIT)

        async def wedge() -> bool:
            await asyncio.sleep(0)             # the pinger's first step runs: one ping
            sock.recv(64)
            sock.setblocking(False)
            while True:                        # drain what is queued (bounded: the loop is ours now)
                try:
                    sock.recv(64)
                except BlockingIOError:
                    break
            time.sleep(0.5)                    # blocks the loop for 10 ping intervals
            try:
                sock.recv(64)
            except BlockingIOError:
                return True
            return False

        env = {"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "100000"}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            assert asyncio.run(with_watchdog(wedge())) is True
        finally:
            for key, value in old.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# ------------------------------------------------------------ journal prefixes

def test_priorities_follow_syslog() -> None:
    """CRITICAL 2, ERROR 3, WARNING 4, INFO 6, DEBUG 7; every line of a record is prefixed."""
    assert [priority(n) for n in (50, 40, 30, 20, 10)] == [2, 3, 4, 6, 7]
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "one\ntwo", None, None)
    assert JournalFormatter("%(message)s").format(record) == "<3>one\n<3>two"


def test_journal_stream_must_be_stderr_itself(tmp_path: Path) -> None:
    """JOURNAL_STREAM naming the stream's own dev:ino counts; any other value does not."""
    with open(tmp_path / "err", "w") as stream:
        info = os.fstat(stream.fileno())
        assert stderr_is_journal(stream, {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"})
        assert not stderr_is_journal(stream, {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino + 1}"})
        assert not stderr_is_journal(stream, {"JOURNAL_STREAM": "nonsense"})
        assert not stderr_is_journal(stream, {})


def _serve_stderr(tmp_path: Path, journal: bool) -> str:
    """Run serve with stderr in a file (JOURNAL_STREAM naming it or not); its log once stopped."""
    config = tmp_path / "bridge.toml"
    config.write_text('[bridge]\ncontrol = ""\n[[port]]\nname = "up"\ndevice = "loop://"\nlisten = 0\n'
                      '[[port]]\nname = "gone"\ndevice = "/dev/serial-bridge-nothing"\nlisten = 0\n')
    err_path = tmp_path / ("journal" if journal else "plain")
    with open(err_path, "w") as err:
        info = os.fstat(err.fileno())
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino if journal else info.st_ino + 1}"
        proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--config", str(config)],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + WAIT
            while "listening on" not in err_path.read_text() or "serial-bridge-nothing" not in err_path.read_text():
                assert time.monotonic() < deadline and proc.poll() is None, err_path.read_text()
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(WAIT) == 0
    return err_path.read_text()


def test_daemon_prefixes_priorities_when_stderr_is_the_journal(tmp_path: Path) -> None:
    """Under journald every line starts <N>: <6> for INFO, <4> for WARNING; otherwise no prefix."""
    text = _serve_stderr(tmp_path, journal=True)
    lines = text.splitlines()
    assert lines and all(re.match(r"<[2-7]>", line) for line in lines), text
    assert any(line.startswith("<6>INFO: ") and "listening on" in line for line in lines), text
    assert any(line.startswith("<4>WARNING: ") and "serial-bridge-nothing" in line for line in lines), text
    plain = _serve_stderr(tmp_path, journal=False)
    assert plain and not any(line.startswith("<") for line in plain.splitlines()), plain


# ------------------------------------------------------------ control socket

def test_under_runtime_directory_the_control_socket_is_there(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """With systemd's RUNTIME_DIRECTORY (the unit's RuntimeDirectory=), serve's default control socket
    is $RUNTIME_DIRECTORY/control.sock, and status reaches the daemon through it."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = tmp_path / "bridge.toml"
    config.write_text('[[port]]\nname = "rt"\ndevice = "loop://"\nlisten = 0\n')
    sock = run_dir / "control.sock"
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--config", str(config)],
                            env=dict(os.environ, RUNTIME_DIRECTORY=str(run_dir)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WAIT
        while not sock.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "no control socket"
            time.sleep(0.05)
        capsys.readouterr()
        assert main(["status", "--control", str(sock)]) == 0
        assert "rt" in capsys.readouterr().out
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0


# ------------------------------------------------- an install the service cannot run (UAT 2)
def test_an_install_under_tmp_gets_one_warning_line_saying_how_to_install(tmp_path: Path) -> None:
    """A virtual environment under /tmp (PrivateTmp=yes hides it from the service): `service`
    still prints the unit, and one stderr line says so and how to install system-wide."""
    venv = tmp_path / "ut-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    config = tmp_path / "bridge.toml"
    config.write_text("")
    checkout = str(Path(__file__).resolve().parents[2])
    site = [p for p in sys.path if p.endswith("site-packages")]   # this environment's dependencies
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([checkout, *site]))
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "bridge", "service", "--config",
                           "/etc/serial-bridge/bridge.toml"], capture_output=True, text=True,
                          timeout=WAIT * 3, env=env)
    assert done.returncode == 0, done.stderr
    assert unit_keys(done.stdout)["ExecStart"][0].startswith(str(venv / "bin" / "python"))
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, done.stderr
    assert "PrivateTmp" in warnings[0] or "/root" in warnings[0]   # this machine's python may live in /root
    assert "PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin" in warnings[0]


@pytest.mark.parametrize(("path", "user", "hidden"), [
    ("/tmp/ut-venv/bin/serial-bridge", None, True),
    ("/var/tmp/x/bin/serial-bridge", "sb", True),
    ("/root/.local/bin/serial-bridge", "sb", True),
    ("/home/alice/.local/bin/serial-bridge", None, True),
    ("/run/user/1000/x", None, True),
    ("/home/alice/.local/bin/serial-bridge", "alice", False),   # ProtectHome=read-only, her own files
    ("/usr/local/bin/serial-bridge-that-is-not-there", None, False),
])
def test_sandbox_hides_the_folders_the_unit_hides(path: str, user: str | None, hidden: bool) -> None:
    assert (service.sandbox_hides(path, user is None) is not None) == hidden


def test_a_folder_closed_to_others_is_named_for_a_transient_user(tmp_path: Path) -> None:
    """Outside the hidden folders, a folder others may not enter keeps DynamicUser out too."""
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    (closed / "serial-bridge").write_text("")
    why = service.sandbox_hides(str(closed / "serial-bridge"), True)
    assert why is not None
    warnings = service.sandbox_warnings("/etc/serial-bridge/bridge.toml", None, [str(closed / "serial-bridge")])
    assert len(warnings) == 1 and "/usr/local/bin/serial-bridge service" in warnings[0]
