"""Access policies, vanishing clients, connection floods and commands from writers
and watchers, against the real daemon."""

from __future__ import annotations

import socket
import struct

import pytest

from bridge.telnet import Cmd
from tests.integration.helpers import TelnetClient, connect
from tests.integration.support import (
    IAC,
    MakePty,
    Start,
    assert_healthy,
    assert_no_traceback,
    closed_by_peer,
    read_for,
    started,
    two_ports,
    welcomed,
)


def vanish_with_rst(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer sees a reset, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_clients_that_reset_mid_stream_leave_the_port_serving(start_daemon: Start, make_pty: MakePty) -> None:
    """Ten clients that send and vanish with RST while the device talks: the next client still writes and reads."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty)
    for count in range(1, 11):
        sock = connect(port)
        sock.sendall(b"x" * 100)
        dev.write(b"y" * 4096)
        vanish_with_rst(sock)
        daemon.wait_log(r"con: client .* disconnected", count=count)
    client = welcomed(port)
    client.send(b"survivor")
    assert dev.read_until(b"survivor").endswith(b"survivor")
    dev.write(b"back-to-you")
    client.read_until(b"back-to-you")
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_a_connect_flood_past_max_connections_is_refused_with_a_message(start_daemon: Start,
                                                                          make_pty: MakePty) -> None:
    """max_connections = 2: a third and fourth client are told the port is full; a slot freed is usable again."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty, "max_connections = 2", mode="raw")
    first, second = connect(port), connect(port)
    daemon.wait_log(r"con: client .* connected", count=2)
    for _ in range(2):
        with connect(port) as extra:
            assert closed_by_peer(extra) == b""   # raw mode: no words, just closed
    first.close()
    daemon.wait_log(r"con: client .* disconnected", count=1)
    with connect(port) as third:
        daemon.wait_log(r"con: client .* connected", count=3)
        third.sendall(b"in-again")
        assert dev.read(8) == b"in-again"
    second.close()
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_telnet_clients_past_max_connections_are_told_why(start_daemon: Start, make_pty: MakePty) -> None:
    """max_connections = 1 on a telnet port: the second client reads "is full" and is closed."""
    daemon, _dev, port = started(start_daemon, make_pty, "max_connections = 1")
    holder = welcomed(port)
    with connect(port) as extra:
        assert b"[serial-bridge: port con is full (1 clients)]" in closed_by_peer(extra)
    holder.close()
    assert_no_traceback(daemon)
    daemon.stop()


def test_data_sent_before_the_welcome_reaches_the_device(start_daemon: Start, make_pty: MakePty) -> None:
    """A raw socket that types at once, before answering any negotiation, still reaches the device, then gets its banner."""
    daemon, dev, port = started(start_daemon, make_pty)
    with connect(port) as sock:
        sock.sendall(b"typed-early")
        assert dev.read_until(b"typed-early").endswith(b"typed-early")
        read_for(sock, b"you are the writer]\r\n")
    assert_no_traceback(daemon)
    daemon.stop()


def test_first_policy_skips_a_watcher_that_left_before_the_writer(start_daemon: Start, make_pty: MakePty) -> None:
    """access = "first": writer A, watchers B then C; B leaves, then A: C is promoted and its keys reach the device."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "first"')
    a = welcomed(port)
    b = welcomed(port)
    c = welcomed(port)
    b.close()
    daemon.wait_log(r"con: client .* disconnected", count=1)
    a.close()
    c.read_until(b"[serial-bridge: you now have write access]")
    c.send(b"c-writes")
    assert dev.read_until(b"c-writes").endswith(b"c-writes")
    assert_no_traceback(daemon)
    daemon.stop()


def test_first_policy_never_promotes_a_read_only_listener(start_daemon: Start, make_pty: MakePty) -> None:
    """access = "first" with a read-only client: the writer leaves, the read-only client stays a watcher, a newcomer writes."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "first"\nlisten_readonly = 0')
    ro = welcomed(daemon.port_of("con", readonly=True))
    a = welcomed(port)
    a.close()
    daemon.wait_log(r"con: client .* disconnected", count=1)
    ro.send(b"ro-keys")
    ro.read_until(b"[serial-bridge: you are watching: your input does not reach the device]")
    newcomer = TelnetClient(port)
    banner = newcomer.read_until(b"]\r\n")
    assert b"you are the writer" in banner
    newcomer.send(b"new-writes")
    got = dev.read_until(b"new-writes")
    assert b"ro-keys" not in got
    assert_no_traceback(daemon)
    daemon.stop()


def test_exclusive_without_takeover_admits_the_next_client_once_the_holder_leaves(
        start_daemon: Start, make_pty: MakePty) -> None:
    """access = "exclusive": a second client is refused naming the holder; after the holder leaves a third one writes."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "exclusive"')
    holder = welcomed(port)
    with connect(port) as refused:
        assert b"is in use by 127.0.0.1:" in closed_by_peer(refused)
    holder.close()
    daemon.wait_log(r"con: client .* disconnected", count=1)
    third = welcomed(port)
    third.send(b"third")
    assert dev.read_until(b"third").endswith(b"third")
    assert_no_traceback(daemon)
    daemon.stop()


def test_takeover_chain_leaves_only_the_last_client_writing(start_daemon: Start, make_pty: MakePty) -> None:
    """access = "exclusive", takeover: A, B, C in turn; A and B are told who took over and closed; C writes."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "exclusive"\ntakeover = true')
    a = welcomed(port)
    b = welcomed(port)
    assert b"[serial-bridge: taken over by 127.0.0.1:" in closed_by_peer(a.sock)
    c = welcomed(port)
    assert b"[serial-bridge: taken over by 127.0.0.1:" in closed_by_peer(b.sock)
    c.send(b"c-holds")
    assert dev.read_until(b"c-holds").endswith(b"c-holds")
    assert_no_traceback(daemon)
    daemon.stop()


@pytest.mark.parametrize(("command", "byte"), [(Cmd.IP, b"\x03"), (Cmd.EC, b"\x08"), (Cmd.EL, b"\x15")])
def test_a_writers_commands_reach_the_device_in_order(start_daemon: Start, make_pty: MakePty,
                                                      command: Cmd, byte: bytes) -> None:
    """IAC IP / EC / EL from a writer reach the device as 0x03 / 0x08 / 0x15, between the data around them."""
    daemon, dev, port = started(start_daemon, make_pty)
    client = welcomed(port)
    client.sock.sendall(b"<" + IAC + bytes([command]) + b">")
    assert dev.read_until(b">") == b"<" + byte + b">"
    assert_no_traceback(daemon)
    daemon.stop()


def test_a_watchers_commands_never_reach_the_device(start_daemon: Start, make_pty: MakePty) -> None:
    """A read-only client's IAC BRK, IP, EC, EL and data stay away from the device; it is told once; AYT still answers."""
    daemon, dev, port = started(start_daemon, make_pty, "listen_readonly = 0")
    writer = welcomed(port)
    ro = welcomed(daemon.port_of("con", readonly=True))
    ro.sock.sendall(b"".join(IAC + bytes([c]) for c in (Cmd.BRK, Cmd.IP, Cmd.EC, Cmd.EL)) + b"ro" + IAC
                    + bytes([Cmd.AYT]))
    answer = ro.read_until(b"client")
    assert answer.count(b"you are watching") == 1
    assert b"port con" in answer
    writer.send(b"mark")
    assert dev.read_until(b"mark") == b"mark"
    assert not any("sending break" in line for line in daemon.lines)
    assert_no_traceback(daemon)
    daemon.stop()


def test_telnet_commands_pass_untouched_through_a_raw_port(start_daemon: Start, make_pty: MakePty) -> None:
    """mode = "raw": IAC BRK/IP/AYT/AO/EC/EL bytes reach the device as they are, and device 0xFF reaches the client single."""
    daemon, dev, port = started(start_daemon, make_pty, mode="raw")
    wire = b"".join(IAC + bytes([c]) for c in (Cmd.BRK, Cmd.IP, Cmd.AYT, Cmd.AO, Cmd.EC, Cmd.EL)) + b"end"
    with connect(port) as sock:
        sock.sendall(wire)
        assert dev.read(len(wire)) == wire
        dev.write(b"\xff\xf6raw")
        assert read_for(sock, b"raw") == b"\xff\xf6raw"
    assert not any("sending break" in line for line in daemon.lines)
    assert_no_traceback(daemon)
    daemon.stop()


def test_ao_drops_only_what_is_queued_for_that_client(start_daemon: Start, make_pty: MakePty) -> None:
    """IAC AO from one client leaves the other client's output intact and the port working."""
    daemon, dev, port = started(start_daemon, make_pty)
    a = welcomed(port)
    b = welcomed(port)
    a.sock.sendall(IAC + bytes([Cmd.AO]) + b"ao-sent")
    dev.read_until(b"ao-sent")
    dev.write(b"for-both")
    a.read_until(b"for-both")
    b.read_until(b"for-both")
    assert_no_traceback(daemon)
    daemon.stop()
