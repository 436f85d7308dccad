"""Sessions through the real daemon: access policies, history, logs, back-pressure, banners."""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.helpers import WAIT, Daemon, PtyDevice, TelnetClient, connect, recv_until

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def config(dev: str, port: int, extra: str = "", bridge: str = "") -> str:
    return (f'[bridge]\ncontrol = ""\n{bridge}\n[[port]]\nname = "con"\ndevice = "{dev}"\n'
            f'listen = {port}\nlock_files = false\n{extra}\n')


def started(start_daemon: Start, make_pty: MakePty, extra: str = "", bridge: str = "") -> tuple[Daemon, PtyDevice, int]:
    dev = make_pty()
    daemon = start_daemon(config(dev.path, 0, extra, bridge))
    daemon.wait_log(r"con: device .* open")
    return daemon, dev, daemon.port_of("con")


def welcomed(port: int) -> TelnetClient:
    """A telnet client that has its banner."""
    client = TelnetClient(port)
    client.read_until(b"]\r\n")
    return client


def test_two_writers_in_shared_mode_both_reach_the_device(start_daemon: Start, make_pty: MakePty) -> None:
    """access = "shared": every client writes, and both see the device's output."""
    daemon, dev, port = started(start_daemon, make_pty)
    a, b = welcomed(port), welcomed(port)
    a.send(b"from-a;")
    assert dev.read(7) == b"from-a;"
    b.send(b"from-b;")
    assert dev.read(7) == b"from-b;"
    dev.write(b"both see this\r\n")
    a.read_until(b"both see this")
    b.read_until(b"both see this")
    daemon.stop()


def test_banner_names_port_device_settings_access_and_others(start_daemon: Start, make_pty: MakePty) -> None:
    """The connect banner is one line with port, device, settings, access and who else is connected."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "first"')
    first = TelnetClient(port)
    banner1 = first.read_until(b"]\r\n").decode()
    assert "port con" in banner1 and dev.path in banner1 and "9600 8N1" in banner1
    assert "you are the writer" in banner1
    second = TelnetClient(port)
    banner2 = second.read_until(b"]\r\n").decode()
    assert "you are the watcher" in banner2 and "(writer)" in banner2
    daemon.stop()


def test_first_writer_hands_over_to_the_oldest_watcher(start_daemon: Start, make_pty: MakePty) -> None:
    """access = "first": a watcher's keys never reach the device; when the writer leaves, it is promoted and told."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "first"')
    writer = welcomed(port)
    watcher = welcomed(port)
    watcher.send(b"ignored")
    watcher.read_until(b"you are watching")
    writer.send(b"W")
    assert dev.read(1) == b"W"  # the watcher's bytes were not written before it
    writer.close()
    watcher.read_until(b"you now have write access")
    watcher.send(b"now mine")
    assert dev.read(8) == b"now mine"
    daemon.stop()


def test_exclusive_refuses_a_second_client_and_takeover_pushes_the_first_off(
        start_daemon: Start, make_pty: MakePty) -> None:
    """access = "exclusive" refuses a newcomer; with takeover = true the newcomer takes the port and both are told."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "exclusive"')
    holder = welcomed(port)
    refused = TelnetClient(port)
    refused.read_until(b"in use by")
    daemon.stop()
    daemon, dev, port = started(start_daemon, make_pty, 'access = "exclusive"\ntakeover = true')
    old = welcomed(port)
    new = TelnetClient(port)
    old.read_until(b"taken over by")
    new.read_until(b"you are the writer")
    new.send(b"mine")
    assert dev.read(4) == b"mine"
    holder.close()
    daemon.stop()


def test_read_only_listener_clients_only_watch(start_daemon: Start, make_pty: MakePty) -> None:
    """A client of listen_readonly sees the output but its input never reaches the device."""
    daemon, dev, port = started(start_daemon, make_pty, "listen_readonly = 0")
    ro = daemon.port_of("con", readonly=True)
    watcher = welcomed(ro)
    writer = welcomed(port)
    watcher.send(b"nope")
    watcher.read_until(b"you are watching")
    writer.send(b"yes")
    assert dev.read(3) == b"yes"
    dev.write(b"output for all\r\n")
    watcher.read_until(b"output for all")
    daemon.stop()


def test_history_is_replayed_after_the_banner_within_its_limit(start_daemon: Start, make_pty: MakePty) -> None:
    """With replay = true, the last `history` bytes of output, sent while nobody watched, come after the banner."""
    daemon, dev, port = started(start_daemon, make_pty, "history = 32\nreplay = true")
    first = welcomed(port)  # once it has the output, the bridge has read it into the history
    dev.write(b"A" * 100 + b"|the last part of the boot log|")
    first.read_until(b"boot log|")
    client = TelnetClient(port)
    client.read_until(b"]\r\n")
    got = client.read_until(b"boot log|")
    assert got == (b"A" * 100 + b"|the last part of the boot log|")[-32:]
    daemon.stop()
    daemon, dev, port = started(start_daemon, make_pty, "history = 0")
    first = welcomed(port)
    dev.write(b"before anyone came\r\n")
    first.read_until(b"anyone came")
    client = welcomed(port)
    dev.write(b"live\r\n")
    assert client.read_until(b"live") == b"live"
    daemon.stop()


def test_a_stalled_watcher_never_slows_the_writer(start_daemon: Start, make_pty: MakePty) -> None:
    """A watcher that never reads loses output (and is told); the writer gets a 10 MiB burst intact."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "first"\nmode = "raw"')
    writer = connect(port)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", port))
    burst = os.urandom(10 << 20)
    import threading
    def feed() -> None:
        for i in range(0, len(burst), 65536):
            dev.write(burst[i:i + 65536])
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    got = bytearray()
    writer.settimeout(30)
    while len(got) < len(burst):
        chunk = writer.recv(1 << 20)
        assert chunk
        got += chunk
    feeder.join(30)
    assert bytes(got) == burst
    stalled.close()
    writer.close()
    daemon.stop()


def test_a_stalled_telnet_watcher_is_told_how_much_it_lost(start_daemon: Start, make_pty: MakePty) -> None:
    """Once a blocked watcher reads again it gets `[serial-bridge: N bytes dropped]`."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "first"')
    writer = welcomed(port)
    watcher = welcomed(port)
    blob = b"x" * (256 << 10)
    total = 0
    received = 0
    deadline = time.monotonic() + WAIT * 3
    # More than the kernel's socket buffers on both ends (several MiB) and the
    # watcher's queue can hold, while the watcher reads nothing.
    while total < (32 << 20) and time.monotonic() < deadline:
        dev.write(blob)
        total += len(blob)
        while received < total - (256 << 10) and time.monotonic() < deadline:
            writer.pump(1)
            received += len(writer.data)
            writer.data.clear()
    assert received >= total - (256 << 10), "the writer fell behind"
    watcher.read_until(b"bytes dropped]", timeout=30)
    daemon.stop()


def test_a_stalled_writer_is_disconnected_after_stall_timeout(start_daemon: Start, make_pty: MakePty) -> None:
    """A client that stops reading is disconnected after stall_timeout seconds."""
    daemon, dev, port = started(start_daemon, make_pty, 'mode = "raw"\nstall_timeout = 1')
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", port))
    daemon.wait_log(r"client .* connected")
    import threading
    stop = threading.Event()

    def flood() -> None:
        blob = b"y" * 4096
        end = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < end:
            try:
                dev.write(blob)
            except TimeoutError:
                pass
    feeder = threading.Thread(target=flood, daemon=True)
    feeder.start()
    daemon.wait_log(r"not reading for 1 s, disconnecting", timeout=15)
    later = connect(port)
    later.settimeout(WAIT)
    assert later.recv(4096)  # the port moved on: fresh output flows to the next client
    stop.set()
    feeder.join(WAIT)
    stalled.close()
    later.close()
    daemon.stop()


def _rss_kib(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    assert match
    return int(match.group(1))


def test_a_paste_into_a_slow_device_is_held_back_not_buffered(start_daemon: Start, make_pty: MakePty) -> None:
    """When the device does not take data, the bridge stops reading the client: memory stays bounded, nothing is lost."""
    daemon, dev, port = started(start_daemon, make_pty, 'mode = "raw"')
    client = connect(port)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    daemon.wait_log(r"client .* connected")
    before = _rss_kib(daemon.proc.pid)
    paste = os.urandom(8 << 20)
    client.settimeout(2)
    sent = 0
    try:
        while sent < len(paste):
            sent += client.send(paste[sent:sent + 65536])
    except TimeoutError:
        pass
    assert sent < len(paste), "the bridge swallowed the whole paste while the device took nothing"
    assert _rss_kib(daemon.proc.pid) - before < 16 * 1024
    import threading
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(dev.read(len(paste), timeout=60)), daemon=True)
    reader.start()
    client.settimeout(60)
    client.sendall(paste[sent:])
    reader.join(60)
    assert got and got[0] == paste
    client.close()
    daemon.stop()


def test_session_log_has_timestamps_and_rotates(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """With log_dir, device output is logged with a timestamp on each line and rotated by size."""
    logs = tmp_path / "logs"
    daemon, dev, port = started(start_daemon, make_pty, "log_max_bytes = 4096\nlog_keep = 2",
                                bridge=f'log_dir = "{logs}"')
    client = connect(port)
    for n in range(300):
        dev.write(f"line {n:04d} of the console output\r\n".encode())
    recv_until(client, b"line 0299")
    deadline = time.monotonic() + WAIT
    # Until the last line is logged (no rotation after it): a rotation renames .1 to .2,
    # then the log to .1, and a reader in between sees one missing.
    def settled() -> bool:
        try:
            return b"line 0299" in (logs / "con.log").read_bytes() and (logs / "con.log.2").exists()
        except FileNotFoundError:
            return False
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (logs / "con.log.1").exists() and (logs / "con.log.2").exists()
    assert not (logs / "con.log.3").exists()
    for name in ("con.log", "con.log.1"):
        for line in (logs / name).read_bytes().splitlines():
            assert re.match(rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] ", line), line
    client.close()
    daemon.stop()


def test_an_unwritable_log_dir_is_reported_once_and_the_port_works(start_daemon: Start, make_pty: MakePty,
                                                                   tmp_path: Path) -> None:
    """A log directory that cannot be created gives one error line; clients are not affected."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    daemon, dev, port = started(start_daemon, make_pty, 'mode = "raw"', bridge=f'log_dir = "{blocker}/logs"')
    client = connect(port)
    daemon.wait_log(r"client .* connected")   # a client gets only output produced after it joined
    for n in range(3):
        dev.write(f"output {n}\n".encode())
        recv_until(client, f"output {n}".encode())
    daemon.wait_log(r"cannot write session log")
    client.sendall(b"still writable")
    assert dev.read(14) == b"still writable"
    daemon.stop()
    assert sum("cannot write session log" in line for line in daemon.lines) == 1
