"""The port-room faults of issue 10, each through the real daemon on ptys with real clients,
each kept as the reported input."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
import serial

from bridge.telnet import Cmd, ComPortCmd, ComPortReply, Opt, Side, TerminalTypeRequested
from tests.integration.helpers import WAIT, TelnetClient, connect, recv_until
from tests.integration.support import (
    IAC,
    MakePty,
    Start,
    assert_no_traceback,
    config,
    port_block,
    rss_kib,
    started,
)


def settle(seconds: float = 0.3) -> None:
    """Give the daemon a moment to act on something it must NOT do (a negative check)."""
    time.sleep(seconds)


def wait_until(predicate: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def speed(dev: object) -> int:
    return int(termios.tcgetattr(dev.master)[5])  # type: ignore[attr-defined]


# ============================================================ two RFC 2217 clients
RATES = {115200: termios.B115200, 57600: termios.B57600, 9600: termios.B9600}


@pytest.mark.parametrize("rate_b", [115200, 57600])
@pytest.mark.parametrize("first_to_leave", ["a", "b"])
def test_two_pyserial_clients_keep_the_settings_until_the_last_one_leaves(
        start_daemon: Start, make_pty: MakePty, rate_b: int, first_to_leave: str) -> None:
    """Port at 9600; pyserial A opens at 115200, B at ``rate_b``; one leaves: the rate in force
    stays under the other; the last leaving restores 9600, announced as a restore."""
    daemon, dev, port = started(start_daemon, make_pty, "baud = 9600")
    a = serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", baudrate=115200, timeout=WAIT)
    wait_until(lambda: speed(dev) == termios.B115200, "never at 115200")
    b = serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", baudrate=rate_b, timeout=WAIT)
    wait_until(lambda: speed(dev) == RATES[rate_b], f"never at {rate_b}")
    leaving, staying = (a, b) if first_to_leave == "a" else (b, a)
    leaving.close()
    daemon.wait_log(r"con: client .* disconnected")
    settle()
    assert speed(dev) == RATES[rate_b], "the rate in force changed under the client still connected"
    dev.write(b"for the one left")
    assert staying.read(16) == b"for the one left"
    staying.close()
    daemon.wait_log(r"settings restored to the configured 9600")
    assert speed(dev) == termios.B9600
    assert not any("by the operator" in line for line in daemon.lines)
    assert_no_traceback(daemon)
    daemon.stop()


# ============================================================ every SET value
def _comport_client(port: int) -> TelnetClient:
    client = TelnetClient(port)
    client.conn.request_enable(Opt.COM_PORT, Side.US)
    client.flush()
    client.wait_for(lambda: client.conn.is_enabled(Opt.COM_PORT, Side.US))
    return client


def _ask(client: TelnetClient, command: ComPortCmd, value: bytes) -> bytes:
    client.events.clear()
    client.conn.comport_request(command, value)
    client.flush()

    def answered() -> bool:
        return any(isinstance(e, ComPortReply) and e.command == command for e in client.events)
    client.wait_for(answered)
    replies = [e for e in client.events if isinstance(e, ComPortReply) and e.command == command]
    return replies[-1].value


# RFC 2217's tables, written out here independently of the bridge's.
PARITY = {1: "none", 2: "odd", 3: "even", 4: "mark", 5: "space"}
CONTROL_GROUP = {**{v: "out" for v in (0, 1, 2, 3, 17, 19)}, **{v: "in" for v in (13, 14, 15, 16, 18)},
                 4: "break", 5: "break", 6: "break", 7: "dtr", 8: "dtr", 9: "dtr",
                 10: "rts", 11: "rts", 12: "rts"}
CONTROL_SETS = {1: 1, 2: 2, 3: 3, 14: 14, 15: 15, 16: 16, 5: 5, 6: 6, 8: 8, 9: 9, 11: 11, 12: 12}


def _parity_in_force(dev: object) -> int:
    cflag = termios.tcgetattr(dev.master)[2]  # type: ignore[attr-defined]
    if not cflag & termios.PARENB:
        return 1
    mark_space = bool(cflag & getattr(termios, "CMSPAR", 0o10000000000))
    odd = bool(cflag & termios.PARODD)
    return (4 if odd else 5) if mark_space else (2 if odd else 3)


def _flow_in_force(dev: object) -> str:
    attrs = termios.tcgetattr(dev.master)  # type: ignore[attr-defined]
    if attrs[2] & termios.CRTSCTS:
        return "rtscts"
    if attrs[0] & termios.IXON:
        return "xonxoff"
    return "none"


def test_every_set_value_is_answered_with_the_value_in_force(start_daemon: Start, make_pty: MakePty) -> None:
    """All 256 values of SET-DATASIZE, SET-PARITY, SET-STOPSIZE and SET-CONTROL (and baud rates
    from 0 to 2**32-1): each answer is the value the device really has (termios of the pty)."""
    daemon, dev, port = started(start_daemon, make_pty, "baud = 9600")
    client = _comport_client(port)
    for value in range(256):
        got = _ask(client, ComPortCmd.SET_DATASIZE, bytes([value]))[0]
        size = {termios.CS5: 5, termios.CS6: 6, termios.CS7: 7, termios.CS8: 8}[
            termios.tcgetattr(dev.master)[2] & termios.CSIZE]
        assert got == size, f"SET-DATASIZE {value}: answered {got}, device has {size}"
        got = _ask(client, ComPortCmd.SET_PARITY, bytes([value]))[0]
        assert got == _parity_in_force(dev), f"SET-PARITY {value}: answered {got}"
        got = _ask(client, ComPortCmd.SET_STOPSIZE, bytes([value]))[0]
        two = bool(termios.tcgetattr(dev.master)[2] & termios.CSTOPB)
        assert got in ((2, 3) if two else (1,)), f"SET-STOPSIZE {value}: answered {got}, CSTOPB {two}"
        got = _ask(client, ComPortCmd.SET_CONTROL, bytes([value]))[0]
        group = CONTROL_GROUP.get(value, "out")
        if group in ("out", "in"):
            codes = {"out": {"none": 1, "xonxoff": 2, "rtscts": 3},
                     "in": {"none": 14, "xonxoff": 15, "rtscts": 16}}[group]
            assert got == codes[_flow_in_force(dev)], f"SET-CONTROL {value}: answered {got}"
        elif value in CONTROL_SETS:
            assert got == CONTROL_SETS[value], f"SET-CONTROL {value}: answered {got}"
        else:
            assert got in {"break": (5, 6), "dtr": (8, 9), "rts": (11, 12)}[group], \
                f"SET-CONTROL {value}: answered {got}"
    _ask(client, ComPortCmd.SET_CONTROL, bytes([6]))    # the break off again
    for baud in (0, 1, 50, 300, 9600, 12345, 115200, 4000000, 2 ** 31, 2 ** 32 - 1):
        got = int.from_bytes(_ask(client, ComPortCmd.SET_BAUDRATE, baud.to_bytes(4, "big")), "big")
        now = int.from_bytes(_ask(client, ComPortCmd.SET_BAUDRATE, bytes(4)), "big")
        assert got == now, f"SET-BAUDRATE {baud}: answered {got}, in force {now}"
        if now in RATES:
            assert speed(dev) == RATES[now]
    client.send(b"still working")
    assert dev.read(13) == b"still working"
    assert_no_traceback(daemon)
    daemon.stop()


def test_a_client_leaving_restores_the_operators_settings_not_the_file(
        start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """UAT: configured 9600, `ctl set baud=57600`, a pyserial client opens at 115200 and leaves:
    the port returns to the operator's 57600 (the device is run at it), said as a restore."""
    dev = make_pty()
    sock_path = tmp_path / "ctl.sock"
    daemon = start_daemon(config(port_block("con", dev.path, 0, "baud = 9600")).replace(
        'control = ""', f'control = "{sock_path}"'))
    daemon.wait_log(r"con: device .* open")
    done = subprocess.run([sys.executable, "-m", "bridge", "ctl", "set", "con", "baud=57600",
                           "--control", str(sock_path)], capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    wait_until(lambda: speed(dev) == termios.B57600, "never at 57600")
    client = serial.serial_for_url(f"rfc2217://127.0.0.1:{daemon.port_of('con')}", baudrate=115200, timeout=WAIT)
    wait_until(lambda: speed(dev) == termios.B115200, "never at 115200")
    client.close()
    daemon.wait_log(r"settings restored to the operator's 57600")
    assert speed(dev) == termios.B57600
    assert_no_traceback(daemon)
    daemon.stop()


# ============================================================ refused settings
def test_a_refused_setting_is_one_warning_and_ctl_says_it(start_daemon: Start, make_pty: MakePty,
                                                          tmp_path: Path) -> None:
    """parity = even on a pty (EINVAL): one WARNING line naming port, key, value asked and value
    in force; `ctl set` says what was not applied."""
    dev = make_pty()
    sock_path = tmp_path / "ctl.sock"
    daemon = start_daemon(config(port_block("con", dev.path), bridge="").replace(
        'control = ""', f'control = "{sock_path}"'))
    daemon.wait_log(r"con: device .* open")
    done = subprocess.run([sys.executable, "-m", "bridge", "ctl", "set", "con", "parity=even", "baud=19200",
                           "--control", str(sock_path)], capture_output=True, text=True, timeout=WAIT)
    assert "parity even not applied" in done.stderr and "none" in done.stderr, done.stderr
    assert "19200" in done.stdout
    assert done.returncode == 1
    line = daemon.wait_log(r"WARNING.*con.*parity")
    assert "'even'" in line and "'none'" in line
    assert sum("WARNING" in x and "parity" in x for x in daemon.lines) == 1
    assert [x for x in daemon.lines if "parity" in x and "WARNING" not in x] == []   # one line, not two
    assert_no_traceback(daemon)
    daemon.stop()


# ============================================================ Synch and AO
@pytest.mark.parametrize("profile", [None, "cisco-rommon"])
def test_synch_with_urgent_data_is_a_command(start_daemon: Start, make_pty: MakePty,
                                             profile: str | None) -> None:
    """`pre`, IAC as urgent data, DM in band, `post`: the device gets `prepost`; with dm_break
    (the cisco-rommon profile) one break as well."""
    extra = f'profile = "{profile}"\nbaud = 9600' if profile else ""
    daemon, dev, port = started(start_daemon, make_pty, extra)
    with connect(port) as sock:
        daemon.wait_log(r"con: client .* connected")
        sock.sendall(b"pre")
        assert dev.read(3) == b"pre"
        sock.send(b"\xff", socket.MSG_OOB)
        sock.send(b"\xf2")
        sock.sendall(b"post")
        got = dev.read_until(b"post")
    assert got == b"post"
    breaks = sum("sending break" in line for line in daemon.lines)
    if profile:
        daemon.wait_log(r"sending break")
        assert sum("sending break" in line for line in daemon.lines) == 1
    else:
        assert breaks == 0
    assert_no_traceback(daemon)
    daemon.stop()


def test_debian_telnet_send_synch_reaches_the_device_as_nothing(start_daemon: Start, make_pty: MakePty) -> None:
    """Debian's `telnet`: type pre, `send synch` at its prompt, type post: the device gets no 0xF2."""
    pexpect = pytest.importorskip("pexpect")
    if shutil.which("telnet") is None:
        pytest.skip("Debian's telnet is not installed")
    daemon, dev, port = started(start_daemon, make_pty)
    child = pexpect.spawn("telnet", ["127.0.0.1", str(port)], timeout=WAIT)
    try:
        child.expect("Escape character")
        daemon.wait_log(r"con: client .* connected")
        child.expect(r"\]\r\n")   # the banner
        child.send("pre")
        got = dev.read_until(b"pre")
        child.sendcontrol("]")
        child.expect("telnet> ")
        child.sendline("send synch")
        child.send("post")
        got += dev.read_until(b"post")
    finally:
        child.terminate(force=True)
    assert b"\xf2" not in got
    assert got.endswith(b"prepost") or got.replace(b"\r", b"").replace(b"\n", b"").endswith(b"prepost")
    assert_no_traceback(daemon)
    daemon.stop()


def test_ao_is_answered_with_a_synch(start_daemon: Start, make_pty: MakePty) -> None:
    """IAC AO: the client gets IAC DM with the DM as urgent data (RFC 854)."""
    daemon, dev, port = started(start_daemon, make_pty)
    with connect(port) as sock:
        daemon.wait_log(r"con: client .* connected")
        sock.sendall(IAC + bytes([Cmd.AO]))
        ready: list[object] = []
        deadline = time.monotonic() + WAIT
        in_band = bytearray()
        while not ready and time.monotonic() < deadline:
            readable, _, urgent = select.select([sock], [], [sock], 0.2)
            ready = list(urgent)
            if readable and not ready:
                in_band += sock.recv(65536)
        assert ready, "no urgent data came"
        assert sock.recv(1, socket.MSG_OOB) == bytes([Cmd.DM])
        in_band += sock.recv(65536) if select.select([sock], [], [], 0.2)[0] else b""
        # The Synch's IAC is in band, its DM (urgent) taken out of it: a lone IAC.
        assert re.search(rb"\xff(?![\xf0-\xff])|\xff$", bytes(in_band)), in_band
    assert_no_traceback(daemon)
    daemon.stop()


# ============================================================ connect rate
def test_two_hundred_quick_connects_leave_the_port_usable(start_daemon: Start, make_pty: MakePty) -> None:
    """A test farm connecting once per test: 200 connect/close cycles from one address within a
    minute (default connect_rate), then a session that works."""
    daemon, dev, port = started(start_daemon, make_pty, mode="raw")
    for _ in range(200):
        with connect(port) as sock:   # connect, use, close: one test of the farm
            sock.sendall(b".")
            assert dev.read(1) == b"."
    daemon.wait_log(r"con: client .* disconnected", count=200, timeout=30)
    with connect(port) as sock:
        daemon.wait_log(r"con: client .* connected", count=201)
        sock.sendall(b"still let in")
        assert dev.read(12) == b"still let in"
    assert not any("refused" in line for line in daemon.lines)
    daemon.stop()


# ============================================================ input while the device opens
def test_input_typed_while_the_device_opens_is_kept(start_daemon: Start) -> None:
    """A raw port on loop://: connect as soon as it listens, send 21 bytes: all 21 echo, 10 runs in 10."""
    for run in range(10):
        daemon = start_daemon(config(port_block("con", "loop://", 0, 'mode = "raw"')))
        port = daemon.port_of("con")
        with connect(port) as sock:
            sock.sendall(b"twenty-one bytes sent")
            assert recv_until(sock, b"twenty-one bytes sent") == b"twenty-one bytes sent", f"run {run}"
        daemon.stop()


# ============================================================ replay is opt-in
def _second_connection_output(start_daemon: Start, make_pty: MakePty, extra: str) -> bytes:
    daemon, dev, port = started(start_daemon, make_pty, extra)
    first = TelnetClient(port)
    first.read_until(b"]\r\n")
    dev.write(b"old output\r\n")
    first.read_until(b"old output")
    second = TelnetClient(port)
    second.read_until(b"]\r\n")
    dev.write(b"new output\r\n")
    got = second.read_until(b"new output")
    for c in (first, second):
        c.close()
    daemon.stop()
    return got


def test_a_new_connection_gets_no_old_output(start_daemon: Start, make_pty: MakePty) -> None:
    """By default a second connection is sent only output produced after it connected."""
    assert b"old output" not in _second_connection_output(start_daemon, make_pty, "")


def test_replay_on_connect_is_opt_in(start_daemon: Start, make_pty: MakePty) -> None:
    """replay = true: the second connection gets the history first."""
    assert b"old output" in _second_connection_output(start_daemon, make_pty, "replay = true")


def _relay(dev: object, proc: subprocess.Popen[bytes], until: float) -> None:
    """Carry bytes between the pty's device side and ``proc``'s pipes until it ends (bounded):
    a program on pipes cannot flush the pty's queues when it exits, as one on the pty would."""
    master = dev.master  # type: ignore[attr-defined]
    assert proc.stdin is not None and proc.stdout is not None
    out = proc.stdout.fileno()
    while proc.poll() is None and time.monotonic() < until:
        ready, _, _ = select.select([master, out], [], [], 0.1)
        if master in ready:
            try:
                data = os.read(master, 65536)
            except (BlockingIOError, OSError):
                data = b""
            if data:
                try:
                    proc.stdin.write(data)
                    proc.stdin.flush()
                except BrokenPipeError:
                    return
        if out in ready:
            data = os.read(out, 65536)
            if data:
                dev.write(data)  # type: ignore[attr-defined]


def test_xmodem_on_a_second_connection(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """lrzsz: a first connection sees an XMODEM receiver's C and ACK bytes; on a second
    connection `sx` sends a 33 KB file to `rx` on the device, and the file arrives whole
    (the old bytes replayed to it would read as acknowledgements and end it early)."""
    if shutil.which("sx") is None or shutil.which("rx") is None:
        pytest.skip("lrzsz (sx, rx) is not installed")
    daemon, dev, port = started(start_daemon, make_pty, mode="raw")
    old = b"C" + b"\x06" * 300
    with connect(port) as first:
        daemon.wait_log(r"con: client .* connected")
        dev.write(old)
        recv_until(first, old)
    daemon.wait_log(r"con: client .* disconnected")
    payload = bytes(range(256)) * 130   # 33 KB
    source, target = tmp_path / "send.bin", tmp_path / "got.bin"
    source.write_bytes(payload)
    with connect(port) as sock:
        sock.setblocking(True)
        daemon.wait_log(r"con: client .* connected", count=2)
        sender = subprocess.Popen(["sx", "-b", str(source)], stdin=sock.fileno(), stdout=sock.fileno(),
                                  stderr=subprocess.DEVNULL)
        receiver = subprocess.Popen(["rx", "-b", str(target)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
        try:
            _relay(dev, receiver, time.monotonic() + 60)
            assert receiver.wait(WAIT) == 0 and sender.wait(WAIT) == 0
        finally:
            for proc in (sender, receiver):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(WAIT)
    assert target.read_bytes()[:len(payload)] == payload
    daemon.stop()


# ============================================================ hold_open = false
def test_an_open_on_demand_is_not_announced_as_a_lost_device(start_daemon: Start, make_pty: MakePty) -> None:
    """hold_open = false: the first client's banner and messages say nothing of waiting for the device."""
    dev = make_pty()
    daemon = start_daemon(config(port_block("con", dev.path, 0, "hold_open = false")))
    port = daemon.port_of("con")
    client = TelnetClient(port)
    got = client.read_until(b"]\r\n")
    daemon.wait_log(r"con: device .* open")
    dev.write(b"ready\r\n")
    got += client.read_until(b"ready")
    assert b"waiting-for-device" not in got and b"device is back" not in got, got
    client.close()
    daemon.stop()


# ============================================================ status --json
def test_terminal_type_and_window_size_show_in_status(start_daemon: Start, make_pty: MakePty,
                                                      tmp_path: Path) -> None:
    """A client's TTYPE (every type it names as the server cycles, RFC 1091) and NAWS
    window appear in its session in `status --json`."""
    dev = make_pty()
    sock_path = tmp_path / "ctl.sock"
    daemon = start_daemon(config(port_block("con", dev.path)).replace('control = ""', f'control = "{sock_path}"'))
    daemon.wait_log(r"con: device .* open")
    port = daemon.port_of("con")
    client = TelnetClient(port)
    client.read_until(b"]\r\n")
    client.conn.request_enable(Opt.NAWS, Side.US)
    client.conn.request_enable(Opt.TTYPE, Side.US)
    client.flush()
    client.wait_for(lambda: client.conn.is_enabled(Opt.NAWS, Side.US))
    client.conn.send_window_size(132, 43)
    client.flush()
    names = iter(["XTERM-256COLOR", "XTERM", "VT100", "VT100"])   # a repeat ends the list

    def session() -> dict[str, object]:
        done = subprocess.run([sys.executable, "-m", "bridge", "status", "--json", "--control", str(sock_path)],
                              capture_output=True, text=True, timeout=WAIT)
        ports = json.loads(done.stdout)
        ports = ports.get("ports", ports) if isinstance(ports, dict) else ports
        return dict(ports[0]["sessions"][0])

    def answer_ttype() -> None:
        for event in list(client.events):
            if isinstance(event, TerminalTypeRequested):
                client.events.remove(event)
                client.conn.send_terminal_type(next(names, "VT100"))
                client.flush()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        client.pump(0.2)
        answer_ttype()
        now = session()
        if now.get("window") == [132, 43] and now.get("terminal_types") == ["XTERM-256COLOR", "XTERM", "VT100"]:
            break
    now = session()
    assert now.get("window") == [132, 43]
    assert now.get("terminal") == "VT100"
    assert now.get("terminal_types") == ["XTERM-256COLOR", "XTERM", "VT100"]
    client.close()
    daemon.stop()


# ============================================================ slow clients
MIB = 1024 * 1024


def _feed(dev: object, payload: bytes) -> threading.Thread:
    """Write ``payload`` to the pty's device side from a thread (bounded waits)."""
    def run() -> None:
        for at in range(0, len(payload), 4096):
            dev.write(payload[at:at + 4096])  # type: ignore[attr-defined]
    feeder = threading.Thread(target=run, daemon=True)
    feeder.start()
    return feeder


def test_a_client_that_never_reads_delays_no_other(start_daemon: Start, make_pty: MakePty) -> None:
    """Two clients, one never reads, 10 MiB of device output: the other sees every byte with no
    gap over 100 ms; the slow one is told in one bracketed line how much it lost."""
    daemon, dev, port = started(start_daemon, make_pty)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", port))
    reader = connect(port)
    daemon.wait_log(r"con: client .* connected", count=2)
    settle()   # both past their opening
    payload = b"0123456789abcdef" * (10 * MIB // 16) + b"|end of the flood|"
    received = bytearray()
    arrivals: list[float] = []
    feeder = _feed(dev, payload)
    deadline = time.monotonic() + 6 * WAIT
    while b"|end of the flood|" not in received[-4096:] and time.monotonic() < deadline:
        reader.settimeout(WAIT)
        chunk = reader.recv(1 << 20)
        assert chunk, "the reading client was disconnected"
        arrivals.append(time.monotonic())
        received += chunk
    feeder.join(WAIT)
    assert payload in received, "the reading client lost output"
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert max(gaps) < 0.1, f"the reading client waited {max(gaps) * 1000:.0f} ms"
    got = recv_until(stalled, b" bytes dropped]")
    assert re.search(rb"\[serial-bridge: \d+ bytes dropped\]", got)
    assert_no_traceback(daemon)
    daemon.stop()


def test_without_flow_control_the_port_keeps_reading_for_a_client_that_does_not(
        start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """A device that cannot hold its output (spy:// over a line: no flow control, not a
    pseudo-terminal to the bridge) and one client that never reads: the port keeps reading
    the device through 16 MiB, the log has every byte, and memory stays bounded."""
    dev = make_pty()
    logs = tmp_path / "logs"
    sock_path = tmp_path / "ctl.sock"
    daemon = start_daemon(config(port_block(
        "con", f"spy://{dev.path}?file=/dev/null", 0,
        'mode = "raw"\nlog_timestamps = false\nlog_max_bytes = 268435456\nstall_timeout = 600'),
        bridge=f'log_dir = "{logs}"').replace('control = ""', f'control = "{sock_path}"'))
    daemon.wait_log(r"con: device .* open")
    port = daemon.port_of("con")
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", port))
    daemon.wait_log(r"con: client .* connected")
    settle()
    before = rss_kib(daemon)
    payload = bytes(range(256)) * (16 * MIB // 256)
    for at in range(0, len(payload), 65536):
        dev.write(payload[at:at + 65536])   # a port that stopped reading leaves this stuck (TimeoutError)
    log = logs / "con.log"
    deadline = time.monotonic() + 3 * WAIT
    while (not log.exists() or log.stat().st_size < len(payload)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert log.read_bytes() == payload
    grown = rss_kib(daemon) - before
    assert grown < 32 * 1024, f"daemon grew {grown} KiB"
    done = subprocess.run([sys.executable, "-m", "bridge", "status", "--json", "--control", str(sock_path)],
                          capture_output=True, text=True, timeout=WAIT)
    ports = json.loads(done.stdout)
    ports = ports.get("ports", ports) if isinstance(ports, dict) else ports
    assert ports[0]["sessions"][0]["dropped"] > 0, "the slow client lost nothing: the port must have waited for it"
    stalled.close()
    assert_no_traceback(daemon)
    daemon.stop()


# ============================================================ the opening
def test_a_raw_socket_on_a_telnet_port_gets_output_at_once(start_daemon: Start, make_pty: MakePty) -> None:
    """A client that never answers the opening negotiation (`nc`) gets device output within 250 ms
    (a bounded wait of 750 ms here: before, it waited a whole second)."""
    daemon, dev, port = started(start_daemon, make_pty)
    with connect(port) as sock:
        daemon.wait_log(r"con: client .* connected")
        dev.write(b"right away")
        got = recv_until(sock, b"right away", timeout=0.75)
    assert b"right away" in got
    daemon.stop()


def test_a_flood_during_the_opening_costs_bounded_memory(start_daemon: Start, make_pty: MakePty) -> None:
    """64 MiB of device output to a client that never answers the opening but reads: the daemon's
    peak memory grows by less than 48 MB."""
    daemon, dev, port = started(start_daemon, make_pty)
    before = rss_kib(daemon)
    sock = connect(port)
    daemon.wait_log(r"con: client .* connected")
    done = threading.Event()
    total = [0]

    def drain() -> None:
        sock.settimeout(0.5)
        while not done.is_set():
            try:
                chunk = sock.recv(1 << 20)
            except (TimeoutError, OSError):
                continue
            if not chunk:
                return
            total[0] += len(chunk)
    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    feeder = _feed(dev, b"x" * (64 * MIB))
    feeder.join(6 * WAIT)
    done.set()
    drainer.join(WAIT)
    assert not feeder.is_alive()
    peak = peak_kib(daemon)
    sock.close()
    assert peak - before < 48 * 1000, f"daemon grew {peak - before} KiB"
    assert_no_traceback(daemon)
    daemon.stop()


def peak_kib(daemon: object) -> int:
    """The daemon's peak resident memory (VmHWM), KiB."""
    with open(f"/proc/{daemon.proc.pid}/status", encoding="ascii") as handle:  # type: ignore[attr-defined]
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")
