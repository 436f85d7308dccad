"""Hostile Telnet input against the real daemon: the bridge keeps running, other
ports are untouched, the log holds no traceback and memory stays bounded."""

from __future__ import annotations

import random
import socket
import struct
import termios

import pytest

from bridge.telnet import Cmd, ComPortCmd, Opt, SERVER_OFFSET
from tests.integration.helpers import connect
from tests.integration.support import (
    IAC,
    MakePty,
    Start,
    assert_healthy,
    comport,
    read_for,
    read_match,
    rss_kib,
    two_ports,
    welcomed,
)

WILL_COMPORT = IAC + bytes([Cmd.WILL, Opt.COM_PORT])
DO_COMPORT = IAC + bytes([Cmd.DO, Opt.COM_PORT])


def ack(cmd: ComPortCmd, value: bytes) -> bytes:
    """The server's answer to ``cmd`` carrying ``value`` (IAC doubled)."""
    return (IAC + bytes([Cmd.SB, Opt.COM_PORT, cmd + SERVER_OFFSET]) + value.replace(IAC, IAC + IAC)
            + IAC + bytes([Cmd.SE]))


def comport_client(port: int) -> socket.socket:
    """A raw socket that has offered COM-PORT-OPTION and seen the server's DO."""
    sock = connect(port)
    sock.sendall(WILL_COMPORT)
    read_for(sock, DO_COMPORT)
    return sock


def test_random_bytes_leave_the_bridge_and_other_ports_working(start_daemon: Start, make_pty: MakePty) -> None:
    """256 KiB of seeded random bytes into a telnet port: the daemon, and a raw port beside it, carry on."""
    daemon, _dev, port, other, other_port = two_ports(start_daemon, make_pty)
    rng = random.Random(2217)
    for _ in range(4):
        with connect(port) as sock:
            for _ in range(16):
                sock.sendall(rng.randbytes(4096))
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_an_endless_subnegotiation_is_bounded_and_data_after_it_passes(start_daemon: Start,
                                                                        make_pty: MakePty) -> None:
    """IAC SB TTYPE followed by 8 MiB without IAC SE costs no memory, and data after IAC SE reaches the device."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty)
    client = welcomed(port)
    before = rss_kib(daemon)
    client.sock.sendall(IAC + bytes([Cmd.SB, Opt.TTYPE]))
    block = b"A" * 65536
    for _ in range(128):
        client.sock.sendall(block)
    client.sock.sendall(IAC + bytes([Cmd.SE]))
    client.send(b"after-sb")
    assert dev.read_until(b"after-sb").endswith(b"after-sb")
    assert rss_kib(daemon) - before < 4096
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_truncated_subnegotiations_then_a_vanishing_client_leave_the_port_usable(
        start_daemon: Start, make_pty: MakePty) -> None:
    """Clients that leave in the middle of IAC SB (COM-PORT, NAWS, bare IAC) leave the port serving the next one."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty)
    cuts = (IAC + bytes([Cmd.SB, Opt.COM_PORT, ComPortCmd.SET_BAUDRATE, 0, 0]),
            IAC + bytes([Cmd.SB, Opt.NAWS, 0, 80, Cmd.IAC]),
            IAC + bytes([Cmd.SB]), IAC, IAC + bytes([Cmd.WILL]))
    for count, cut in enumerate(cuts, 1):
        with connect(port) as sock:
            sock.sendall(WILL_COMPORT + cut)
        daemon.wait_log(r"con: client .* disconnected", count=count)
    client = welcomed(port)
    client.send(b"next-one")
    assert dev.read_until(b"next-one").endswith(b"next-one")
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_option_flapping_keeps_data_in_order(start_daemon: Start, make_pty: MakePty) -> None:
    """2,000 rounds of DO/DONT and WILL/WONT on several options, interleaved with data: every data byte arrives, in order."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty)
    client = welcomed(port)
    flap = b"".join(IAC + bytes([verb, opt]) for opt in (Opt.ECHO, Opt.BINARY, Opt.SGA, Opt.NAWS, 200)
                    for verb in (Cmd.DO, Cmd.WILL, Cmd.DONT, Cmd.WONT))
    expected = bytearray()
    got = bytearray()
    for batch in range(20):   # batches acknowledged at the device, so reads stay small
        for i in range(batch * 100, batch * 100 + 100):
            piece = b"%05d;" % i
            client.sock.sendall(flap + piece)
            expected += piece
        got += dev.read_until(b"%05d;" % (batch * 100 + 99))
    assert got[got.index(b"00000;"):] == bytes(expected)
    assert_healthy(daemon, other, other_port)
    daemon.stop()


@pytest.mark.parametrize("value", [b"", b"\x01", b"\x00\x00", b"\x00\x00\x25", b"\x00\x00\x25\x80\x00",
                                   b"\xff" * 12])
def test_a_baud_request_of_the_wrong_length_leaves_the_session_working(
        start_daemon: Start, make_pty: MakePty, value: bytes) -> None:
    """SET-BAUDRATE with a value that is not 4 bytes: the session still answers a proper query with 9600."""
    daemon, _dev, port, other, other_port = two_ports(start_daemon, make_pty, "baud = 9600")
    sock = comport_client(port)
    sock.sendall(comport(ComPortCmd.SET_BAUDRATE, value))
    sock.sendall(comport(ComPortCmd.SET_BAUDRATE, struct.pack(">I", 0)))
    read_for(sock, ack(ComPortCmd.SET_BAUDRATE, struct.pack(">I", 9600)))
    sock.close()
    assert_healthy(daemon, other, other_port)
    daemon.stop()


@pytest.mark.parametrize(("cmd", "value", "answer"), [
    (ComPortCmd.SET_DATASIZE, b"\x09", b"\x08"),
    (ComPortCmd.SET_DATASIZE, b"\xff", b"\x08"),
    (ComPortCmd.SET_PARITY, b"\x09", b"\x01"),
    (ComPortCmd.SET_STOPSIZE, b"\x07", b"\x01"),
])
def test_an_out_of_range_setting_is_answered_with_the_value_in_force(
        start_daemon: Start, make_pty: MakePty, cmd: ComPortCmd, value: bytes, answer: bytes) -> None:
    """Data size 9 or 255, parity 9, stop size 7: answered with 8N1 as in force, nothing changed."""
    daemon, _dev, port, other, other_port = two_ports(start_daemon, make_pty)
    sock = comport_client(port)
    sock.sendall(comport(cmd, value))
    read_for(sock, ack(cmd, answer))
    sock.close()
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_a_zero_baud_request_reports_the_rate_without_changing_it(start_daemon: Start, make_pty: MakePty) -> None:
    """SET-BAUDRATE 0 is a query (RFC 2217): answered with the configured 19200."""
    daemon, _dev, port, other, other_port = two_ports(start_daemon, make_pty, "baud = 19200")
    sock = comport_client(port)
    sock.sendall(comport(ComPortCmd.SET_BAUDRATE, b"\x00\x00\x00\x00"))
    read_for(sock, ack(ComPortCmd.SET_BAUDRATE, struct.pack(">I", 19200)))
    sock.close()
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_a_giant_baud_request_is_answered_and_logs_no_traceback(start_daemon: Start, make_pty: MakePty) -> None:
    """SET-BAUDRATE 4294967295: the client gets an answer (the rate in force) and the daemon logs no traceback."""
    daemon, _dev, port, other, other_port = two_ports(start_daemon, make_pty, "baud = 9600")
    sock = comport_client(port)
    sock.sendall(comport(ComPortCmd.SET_BAUDRATE, b"\xff\xff\xff\xff"))
    sock.sendall(comport(ComPortCmd.SET_BAUDRATE, b"\x00\x00\x00\x00"))
    answers = read_match(sock, rb"\xff\xfa\x2c\x65(.{4})\xff\xf0.*\xff\xfa\x2c\x65(.{4})\xff\xf0")
    assert answers.group(1) == answers.group(2)
    sock.close()
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_a_command_storm_does_not_stall_other_ports(start_daemon: Start, make_pty: MakePty) -> None:
    """1 MiB of IAC NOP into one telnet port: a raw port beside it still echoes within the usual wait."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty)
    storm = connect(port)
    storm.sendall((IAC + bytes([Cmd.NOP])) * (512 * 1024))
    assert_healthy(daemon, other, other_port)
    storm.close()
    daemon.kill()


def test_a_peer_that_echoes_every_byte_does_not_start_a_negotiation_loop(start_daemon: Start,
                                                                         make_pty: MakePty) -> None:
    """A client that sends back everything it receives: the server falls quiet within 20 rounds (RFC 1143, no loop)."""
    daemon, _dev, port, other, other_port = two_ports(start_daemon, make_pty)
    sock = connect(port)
    for _ in range(20):
        sock.settimeout(1.5)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break   # quiet: the negotiation settled
        assert chunk, "closed by the server"
        sock.sendall(chunk)
    else:
        raise AssertionError("the server was still negotiating after 20 echoed rounds")
    sock.close()
    assert_healthy(daemon, other, other_port)
    daemon.stop()


def test_com_port_requests_without_will_com_port_are_ignored(start_daemon: Start, make_pty: MakePty) -> None:
    """SB COM-PORT SET-BAUDRATE from a client that never offered COM-PORT: no answer, the device stays at 9600."""
    daemon, dev, port, other, other_port = two_ports(start_daemon, make_pty, "baud = 9600")
    with connect(port) as sock:
        sock.sendall(comport(ComPortCmd.SET_BAUDRATE, struct.pack(">I", 57600)) + b"mark")
        dev.read_until(b"mark")
        banner = read_for(sock, b"you are the writer]\r\n")
    assert bytes([Cmd.SB, Opt.COM_PORT]) not in banner
    assert termios.tcgetattr(dev.master)[5] == termios.B9600
    assert_healthy(daemon, other, other_port)
    daemon.stop()
