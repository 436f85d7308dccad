"""Allow lists (issue 11): the real daemon, connections from 127.0.0.1 allowed and refused."""

from __future__ import annotations

import socket

from bridge.access.allow import AllowList, RefusalLog, is_loopback
from bridge.access.policy import exposure_warnings
from bridge.config import parse_config
from tests.access.helpers import MakePty, Start, bridge_block, closed_without_a_byte, port_block, recv_until
from tests.integration.helpers import connect, free_port


def test_allow_lists_match_networks_of_both_families() -> None:
    """CIDR networks and addresses, IPv4 and IPv6; a v4-mapped v6 peer is its v4 address."""
    allow = AllowList(["192.0.2.0/24", "2001:db8::/32", "127.0.0.1/32"])
    assert allow.permits("192.0.2.200") and allow.permits("2001:db8::1") and allow.permits("::ffff:127.0.0.1")
    assert not allow.permits("192.0.3.1") and not allow.permits("::1") and not allow.permits("10.1.1.1")
    assert AllowList(None).permits("203.0.113.9")


def test_refusals_are_logged_once_per_source() -> None:
    """A second refusal of one source within the minute is not logged; another source is."""
    log = RefusalLog()
    assert log.should_log("192.0.2.1") and not log.should_log("192.0.2.1") and log.should_log("192.0.2.2")


def test_a_port_refuses_a_source_outside_its_allow_list_before_any_byte(start_daemon: Start,
                                                                        make_pty: MakePty) -> None:
    """allow on a port: 127.0.0.1 outside it is closed at once (not even the Telnet negotiation),
    logged once a minute; a port allowing it works as before."""
    shut, open_ = make_pty(), make_pty()
    daemon = start_daemon(bridge_block()
                          + port_block("shut", shut.path, mode="telnet",
                                       extra='allow = ["192.0.2.0/24"]\nlisten_readonly = "127.0.0.1:0"')
                          + port_block("open", open_.path, extra='allow = ["127.0.0.0/8", "::1"]'))
    daemon.wait_log(r"port open: device .* open")
    for _ in range(3):
        sock = connect(daemon.port_of("shut"))
        assert closed_without_a_byte(sock)
        sock.close()
    sock = connect(daemon.port_of("shut", readonly=True))    # the read-only listener too
    assert closed_without_a_byte(sock)
    sock.close()
    ok = connect(daemon.port_of("open"))
    # A client gets only output produced after the port took it (no replay by default).
    daemon.wait_log(r"port open: client 127.0.0.1:\d+ connected")
    open_.write(b"hello from open\r\n")
    assert b"hello from open" in recv_until(ok, b"hello from open")
    ok.sendall(b"typed")
    assert open_.read(5) == b"typed"
    refusals = [line for line in daemon.lines if "port shut: refused 127.0.0.1" in line]
    assert len(refusals) == 1, refusals
    assert "not in the allow list" in refusals[0]
    ok.close()
    daemon.stop()


def test_bridge_allow_is_every_ports_default(start_daemon: Start, make_pty: MakePty) -> None:
    """[bridge] allow guards every port that has none of its own."""
    dev = make_pty()
    daemon = start_daemon(bridge_block('allow = ["198.51.100.0/24"]') + port_block("p", dev.path))
    sock = connect(daemon.port_of("p"))
    assert closed_without_a_byte(sock)
    daemon.wait_log(r"port p: refused 127\.0\.0\.1")
    daemon.stop()


def test_the_tcp_control_endpoint_honours_bridge_allow(start_daemon: Start, make_pty: MakePty) -> None:
    """The control endpoint over TCP closes a refused source before answering anything."""
    dev = make_pty()
    control = free_port()
    daemon = start_daemon(f'[bridge]\ncontrol = "127.0.0.1:{control}"\ncontrol_token = "t0ken"\n'
                          'allow = ["198.51.100.0/24"]\n' + port_block("p", dev.path, extra='allow = ["127.0.0.1"]'))
    daemon.wait_log(r"control endpoint on")
    sock = connect(control)
    sock.sendall(b'{"v": 1, "id": 1, "cmd": "hello", "token": "t0ken"}\n')
    assert closed_without_a_byte(sock)
    daemon.wait_log(r"control endpoint: refused 127\.0\.0\.1")
    daemon.stop()


def test_one_warning_per_port_open_to_the_network() -> None:
    """A port beyond loopback with neither allow nor client certificates is named, once."""
    config = parse_config('[bridge]\nbind = "0.0.0.0"\n'
                          '[[port]]\nname = "wide"\ndevice = "/dev/null"\nlisten = 7001\n'
                          '[[port]]\nname = "fenced"\ndevice = "/dev/null"\nlisten = 7002\nallow = ["10.0.0.0/8"]\n'
                          '[[port]]\nname = "local"\ndevice = "/dev/null"\nlisten = "127.0.0.1:7003"\n'
                          '[[port]]\nname = "ro"\ndevice = "/dev/ttyS9"\nlisten = "127.0.0.1:7004"\n'
                          'listen_readonly = "[::]:7005"\n', "bridge.toml")
    lines = exposure_warnings(config, list(config.ports))
    assert lines == [
        "port wide: reachable from the network on 0.0.0.0, in clear (no TLS), with no allow list: "
        "anyone who can reach this host can use /dev/null",
        "port ro: reachable from the network on ::, in clear (no TLS), with no allow list: "
        "anyone who can reach this host can use /dev/ttyS9",
    ]
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("192.0.2.1")


def test_socket_helper_sees_a_clean_close() -> None:
    """closed_without_a_byte is False for a peer that talks (the helper itself is sound)."""
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    peer.sendall(b"x")
    assert not closed_without_a_byte(client)
    for s in (peer, client, server):
        s.close()
