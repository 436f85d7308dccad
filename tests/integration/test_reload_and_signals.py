"""SIGHUP with odd changes and SIGTERM at awkward moments, against the real daemon."""

from __future__ import annotations

import re
import signal
import socket
import threading


from bridge.telnet import Cmd, Opt
from tests.integration.helpers import WAIT, connect, free_port
from tests.integration.support import IAC, MakePty, Start, assert_no_traceback, closed_by_peer, config, port_block, \
    read_for, welcomed


def test_two_ports_swapping_their_listen_ports_both_work(start_daemon: Start, make_pty: MakePty) -> None:
    """SIGHUP swapping the TCP ports of a and b: each TCP port then reaches the other device."""
    dev_a, dev_b = make_pty(), make_pty()
    p1, p2 = free_port(), free_port()
    daemon = start_daemon(config(port_block("a", dev_a.path, p1, 'mode = "raw"'),
                                 port_block("b", dev_b.path, p2, 'mode = "raw"')))
    daemon.wait_log(r"a: device .* open")
    daemon.wait_log(r"b: device .* open")
    daemon.reload(config(port_block("a", dev_a.path, p2, 'mode = "raw"'),
                         port_block("b", dev_b.path, p1, 'mode = "raw"')))
    daemon.wait_log(r"reload: changed")
    daemon.wait_log(r"a: device .* open", count=2)
    daemon.wait_log(r"b: device .* open", count=2)
    with connect(p2) as sock:
        sock.sendall(b"to-a")
        assert dev_a.read(4) == b"to-a"
    with connect(p1) as sock:
        sock.sendall(b"to-b")
        assert dev_b.read(4) == b"to-b"
    assert_no_traceback(daemon)
    assert daemon.stop() == 0


def test_a_renamed_port_serves_on_the_same_tcp_port(start_daemon: Start, make_pty: MakePty) -> None:
    """SIGHUP renaming port old to new (same device, same listen): the TCP port reaches the device again."""
    dev = make_pty()
    port = free_port()
    daemon = start_daemon(config(port_block("old", dev.path, port, 'mode = "raw"')))
    daemon.wait_log(r"old: device .* open")
    daemon.reload(config(port_block("new", dev.path, port, 'mode = "raw"')))
    daemon.wait_log(r"reload: added \['new'\], removed \['old'\]")
    daemon.wait_log(r"new: device .* open")
    with connect(port) as sock:
        sock.sendall(b"renamed")
        assert dev.read(7) == b"renamed"
    assert_no_traceback(daemon)
    assert daemon.stop() == 0


def test_a_mode_change_tells_the_raw_client_nothing_and_the_next_client_speaks_telnet(
        start_daemon: Start, make_pty: MakePty) -> None:
    """raw -> telnet by SIGHUP: the raw client is closed without a word, a new client gets WILL ECHO first."""
    dev = make_pty()
    port = free_port()
    daemon = start_daemon(config(port_block("con", dev.path, port, 'mode = "raw"')))
    daemon.wait_log(r"con: device .* open")
    raw = connect(port)
    daemon.wait_log(r"con: client .* connected")
    daemon.reload(config(port_block("con", dev.path, port, 'mode = "telnet"')))
    assert closed_by_peer(raw) == b""
    raw.close()
    daemon.wait_log(r"reload: changed \['con'\]")
    with connect(port) as sock:
        assert read_for(sock, IAC + bytes([Cmd.WILL, Opt.ECHO])).startswith(IAC + bytes([Cmd.WILL, Opt.ECHO]))
    assert_no_traceback(daemon)
    assert daemon.stop() == 0


def test_a_sighup_during_a_reload_starts_each_new_port_once(start_daemon: Start, make_pty: MakePty) -> None:
    """A second SIGHUP while the first reload adds 30 ports: each new port listens exactly once."""
    dev = make_pty()
    daemon = start_daemon(config(port_block("a", dev.path)))
    daemon.wait_log(r"a: device .* open")
    daemon.config_path.write_text(config(port_block("a", dev.path),
                                         *(port_block(f"n{i}", f"/nonexistent/n{i}") for i in range(30))))
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log(r"port n0: listening on")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log(r"reload: ", count=2)
    listening = [line for line in daemon.lines if re.search(r"port n\d+: listening on", line)]
    assert len(listening) == 30, "\n".join(listening)
    assert daemon.stop() == 0


def test_a_reload_to_a_taken_listen_port_keeps_the_old_port_serving(start_daemon: Start, make_pty: MakePty) -> None:
    """SIGHUP moving a port to a TCP port another program holds: the error is logged and the old listener still works."""
    dev = make_pty()
    old = free_port()
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    daemon = start_daemon(config(port_block("con", dev.path, old, 'mode = "raw"')))
    daemon.wait_log(r"con: device .* open")
    daemon.reload(config(port_block("con", dev.path, taken, 'mode = "raw"')))
    daemon.wait_log(r"reload: ")
    daemon.wait_log(r"con: device .* open", count=2)   # the old config, started again
    holder.close()
    with connect(old, timeout=1.0) as sock:
        sock.sendall(b"still")
        assert dev.read(5) == b"still"
    assert daemon.stop() == 0


def test_sigterm_mid_transfer_tells_the_client_and_exits_zero(start_daemon: Start, make_pty: MakePty) -> None:
    """SIGTERM while the device streams to a telnet client: the client gets the shutdown notice and EOF; exit 0."""
    dev = make_pty()
    daemon = start_daemon(config(port_block("con", dev.path)))
    daemon.wait_log(r"con: device .* open")
    client = welcomed(daemon.port_of("con"))
    stop = threading.Event()

    def stream() -> None:
        for _ in range(2000):   # bounded: at most 8 MiB
            if stop.is_set():
                return
            try:
                dev.write(b"s" * 4096)
            except (TimeoutError, OSError):
                return
    feeder = threading.Thread(target=stream, daemon=True)
    feeder.start()
    client.read_until(b"s" * 4096)
    daemon.proc.send_signal(signal.SIGTERM)
    tail = bytearray()
    while client.pump(WAIT):
        tail = client.data[-200:]
    stop.set()
    feeder.join(WAIT)
    assert b"[serial-bridge: the bridge is shutting down]" in bytes(tail)
    assert daemon.wait_exit() == 0
    assert_no_traceback(daemon)


def test_sigterm_during_a_long_break_exits_zero_promptly(start_daemon: Start, make_pty: MakePty) -> None:
    """SIGTERM while a client's 10 s break is held: the daemon still exits 0 within the usual wait."""
    dev = make_pty()
    daemon = start_daemon(config(port_block("con", dev.path, 0, "break_ms = 10000")))
    daemon.wait_log(r"con: device .* open")
    client = welcomed(daemon.port_of("con"))
    client.sock.sendall(IAC + bytes([Cmd.BRK]))
    daemon.wait_log(r"con: sending break")
    assert daemon.stop() == 0
    assert_no_traceback(daemon)


def test_sigterm_during_a_reload_starts_no_more_ports(start_daemon: Start, make_pty: MakePty) -> None:
    """SIGTERM while a SIGHUP adds 60 ports: the reload stops starting ports (at most the one in flight)
    and shutdown waits for it, so every port started is stopped again; exit 0."""
    dev = make_pty()
    daemon = start_daemon(config(port_block("a", dev.path)))
    daemon.wait_log(r"a: device .* open")
    daemon.config_path.write_text(config(port_block("a", dev.path),
                                         *(port_block(f"n{i}", f"/nonexistent/n{i}") for i in range(60))))
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log(r"port n0: listening on")
    assert daemon.stop() == 0
    stopping = next(i for i, line in enumerate(daemon.lines) if "SIGTERM: stopping" in line)
    late = [line for line in daemon.lines[stopping:] if "listening on" in line]
    assert len(late) <= 1, "\n".join(late)
