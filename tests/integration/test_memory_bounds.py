"""Every buffer has a bound (DESIGN.md): what a client makes the daemon hold is
measured on the real process's resident memory."""

from __future__ import annotations

import os
import select
import socket
import threading
import time


from bridge.telnet import Cmd, ComPortCmd, Opt
from tests.integration.helpers import WAIT, PtyDevice, connect
from tests.integration.support import (IAC, MakePty, Start, assert_healthy, comport, read_for, rss_kib, started,
                                       two_ports)

MIB = 1024 * 1024
LIMIT_KIB = 8 * 1024   # growth allowed: far below what each attack pushes (24 MiB or more)


def push_socket(sock: socket.socket, data: bytes, stall: float = 2.0) -> int:
    """Send ``data`` until done or until the peer stops reading for ``stall`` seconds; bytes sent."""
    sock.setblocking(False)
    view = memoryview(data)
    sent = 0
    deadline = time.monotonic() + 6 * WAIT
    while sent < len(data) and time.monotonic() < deadline:
        _, ready, _ = select.select([], [sock], [], stall)
        if not ready:
            break
        try:
            sent += sock.send(view[sent:sent + 65536])
        except BlockingIOError:
            continue
    sock.setblocking(True)
    return sent


def push_device(dev: PtyDevice, total: int, stall: float = 2.0) -> int:
    """Device output until ``total`` bytes or until the bridge stops reading for ``stall`` s; bytes written."""
    block = b"d" * 4096
    written = 0
    deadline = time.monotonic() + 6 * WAIT
    while written < total and time.monotonic() < deadline:
        _, ready, _ = select.select([], [dev.master], [], stall)
        if not ready:
            break
        try:
            written += os.write(dev.master, block)
        except BlockingIOError:
            continue
    return written


def test_an_ayt_storm_from_a_client_that_never_reads_is_bounded(start_daemon: Start, make_pty: MakePty) -> None:
    """1 Mi IAC AYT (about 70 MiB of answers) from a client that never reads makes the daemon hold at most 16 MiB more.

    The bound is looser than the others: answers to the AYTs of one read (up to 256 KiB) are
    made before the bridge can stop reading, about 9 MiB.
    """
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty, "stall_timeout = 600")
    sock = connect(port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    before = rss_kib(daemon)
    push_socket(sock, (IAC + bytes([Cmd.AYT])) * (1024 * 1024) + b"ayt-done")
    try:   # the marker arrives once every AYT was handled, unless the bridge stopped reading this client
        dev.read_until(b"ayt-done", timeout=5.0)
    except TimeoutError:
        pass
    grown = rss_kib(daemon) - before
    sock.close()
    assert grown < 2 * LIMIT_KIB, f"daemon grew {grown} KiB"
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_data_queued_behind_a_break_storm_is_bounded(start_daemon: Start, make_pty: MakePty) -> None:
    """1,000 IAC BRK (minutes of breaks) then 32 MiB of data: the daemon stops reading rather than hold it all."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty, 'break_sequence = "~~b"', mode="raw")
    sock = connect(port)
    before = rss_kib(daemon)
    push_socket(sock, b"\r~~b" * 1000 + b"x" * (32 * MIB))
    grown = rss_kib(daemon) - before
    sock.close()
    assert grown < LIMIT_KIB, f"daemon grew {grown} KiB"
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_a_suspended_rfc2217_writer_does_not_make_the_daemon_hold_device_output(
        start_daemon: Start, make_pty: MakePty) -> None:
    """After FLOWCONTROL-SUSPEND, 32 MiB of device output is held back by pausing the device, not in memory."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty)
    sock = connect(port)
    sock.sendall(IAC + bytes([Cmd.WILL, Opt.COM_PORT]))
    read_for(sock, IAC + bytes([Cmd.DO, Opt.COM_PORT]))
    sock.sendall(comport(ComPortCmd.FLOWCONTROL_SUSPEND, b"") + b"suspended")
    dev.read_until(b"suspended")
    before = rss_kib(daemon)
    push_device(dev, 32 * MIB)
    grown = rss_kib(daemon) - before
    sock.close()
    assert grown < LIMIT_KIB, f"daemon grew {grown} KiB"
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_a_stalled_raw_watcher_costs_bounded_memory(start_daemon: Start, make_pty: MakePty) -> None:
    """A read-only raw client that never reads while the device sends 32 MiB to another client,
    which reads, costs at most 8 MiB."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty, "listen_readonly = 0", mode="raw")
    ro = connect(daemon.port_of("con", readonly=True))
    ro.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    daemon.wait_log(r"con: client .* connected .*watcher")
    reader = connect(port)
    daemon.wait_log(r"con: client .* connected .*writer")
    done = threading.Event()

    def drain() -> None:
        reader.settimeout(0.5)
        while not done.is_set():
            try:
                if not reader.recv(1 << 20):
                    return
            except (TimeoutError, OSError):
                continue
    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    before = rss_kib(daemon)
    try:
        assert push_device(dev, 32 * MIB) >= 32 * MIB
    finally:
        done.set()
        drainer.join(WAIT)
    grown = rss_kib(daemon) - before
    reader.close()
    ro.close()
    assert grown < LIMIT_KIB, f"daemon grew {grown} KiB"
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_connected_clients_cost_little_memory_each(start_daemon: Start, make_pty: MakePty) -> None:
    """48 more raw clients that each type a line cost the daemon under 24 KiB apiece, and
    every line reaches the device whole.

    Issue 10 (64 ports under 32 MB): each session once kept its own 64 KiB socket read
    buffer, 3 MiB for these clients; now the sessions of a loop share one.
    """
    clients = 48
    daemon, dev, port = started(start_daemon, make_pty,
                                f"max_connections = {clients + 1}\nconnect_rate = 0", mode="raw")
    first = connect(port)
    first.sendall(b"<warm-up>")
    dev.read_until(b"<warm-up>")
    before = rss_kib(daemon)
    socks = [connect(port) for _ in range(clients)]
    lines = [f"<line {index:02d} typed by one of the clients>".encode() for index in range(clients)]
    for sock, line in zip(socks, lines):
        sock.sendall(line)
    got = dev.read(sum(map(len, lines)))
    grown = rss_kib(daemon) - before
    for sock in [first, *socks]:
        sock.close()
    assert all(line in got for line in lines), got
    assert grown < clients * 24, f"daemon grew {grown} KiB for {clients} clients"
    daemon.stop()
