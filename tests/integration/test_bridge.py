"""The whole bridge: the real daemon on pseudo-terminals, real loopback clients."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import threading
from collections.abc import Callable

from bridge.telnet import Cmd, Opt, Side
from tests.integration.helpers import (
    WAIT,
    Daemon,
    PtyDevice,
    TelnetClient,
    connect,
    recv_until,
)

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def port_block(name: str, device: str, port: int, mode: str = "telnet", extra: str = "") -> str:
    return (f'[[port]]\nname = "{name}"\ndevice = "{device}"\nlisten = {port}\n'
            f'mode = "{mode}"\nlock_files = false\n{extra}\n')


def bridge_block() -> str:
    return '[bridge]\ncontrol = ""\nbanner = false\n'


def _pump_both_ways(sock: socket.socket, dev: PtyDevice, payload_up: bytes, payload_down: bytes,
                    client_write: Callable[[bytes], None], client_read: Callable[[int], bytes]) -> tuple[bytes, bytes]:
    """Send payload_up from client to device and payload_down from device to client at once."""
    got_down: list[bytes] = []
    got_up: list[bytes] = []
    errors: list[BaseException] = []

    def device_side() -> None:
        try:
            got_up.append(dev.read(len(payload_up), timeout=60))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def device_writer() -> None:
        try:
            for i in range(0, len(payload_down), 4096):
                dev.write(payload_down[i:i + 4096])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def client_reader() -> None:
        try:
            got_down.append(client_read(len(payload_down)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=f, daemon=True) for f in (device_side, device_writer, client_reader)]
    for t in threads:
        t.start()
    for i in range(0, len(payload_up), 65536):
        client_write(payload_up[i:i + 65536])
    for t in threads:
        t.join(90)
    assert not errors, errors
    return got_up[0], got_down[0]


def test_raw_mode_moves_8_mib_each_way_byte_exact(start_daemon: Start, make_pty: MakePty) -> None:
    """Raw mode passes 8 MiB of random bytes both ways at once, unchanged."""
    dev = make_pty()
    daemon = start_daemon(bridge_block() + port_block("raw1", dev.path, 0, mode="raw"))
    daemon.wait_log(r"raw1: device .* open")
    port = daemon.port_of("raw1")
    sock = connect(port)
    up, down = os.urandom(8 << 20), os.urandom(8 << 20)

    def read_n(n: int) -> bytes:
        buf = bytearray()
        sock.settimeout(60)
        while len(buf) < n:
            chunk = sock.recv(1 << 20)
            assert chunk, "closed early"
            buf += chunk
        return bytes(buf)
    got_up, got_down = _pump_both_ways(sock, dev, up, down, sock.sendall, read_n)
    assert hashlib.sha256(got_up).digest() == hashlib.sha256(up).digest()
    assert hashlib.sha256(got_down).digest() == hashlib.sha256(down).digest()
    sock.close()
    assert daemon.stop() == 0


def test_telnet_binary_moves_8_mib_each_way_with_iac_doubled_on_the_wire(start_daemon: Start,
                                                                         make_pty: MakePty) -> None:
    """In telnet BINARY mode 0xFF travels doubled on the wire and single at the device, both ways."""
    dev = make_pty()
    daemon = start_daemon(bridge_block() + port_block("bin1", dev.path, 0))
    daemon.wait_log(r"bin1: device .* open")
    port = daemon.port_of("bin1")
    client = TelnetClient(port)
    client.go_binary()
    up = os.urandom(8 << 20) + b"\xff\xff\xff"
    down = os.urandom(8 << 20) + b"\xff\r\x00\r"

    def read_n(n: int) -> bytes:
        while len(client.data) < n:
            assert client.pump(60), "closed early"
        out = bytes(client.data[:n])
        del client.data[:n]
        return out

    def write(data: bytes) -> None:
        client.send(data)
    got_up, got_down = _pump_both_ways(client.sock, dev, up, down, write, read_n)
    assert got_up == up
    assert got_down == down
    client.close()
    assert daemon.stop() == 0


def test_nvt_text_mode_maps_end_of_line_both_ways(start_daemon: Start, make_pty: MakePty) -> None:
    """Without BINARY, CR LF reaches the device as CR LF, CR NUL as CR; a device CR goes out as CR NUL."""
    dev = make_pty()
    daemon = start_daemon(bridge_block() + port_block("nvt", dev.path, 0))
    daemon.wait_log(r"nvt: device .* open")
    port = daemon.port_of("nvt")
    sock = connect(port)
    sock.sendall(b"show version\r\nab\r\x00cd\r\n")
    assert dev.read_until(b"cd\r\n") .endswith(b"show version\r\nab\rcd\r\n")
    dev.write(b"line one\r\nprompt\r> ")
    got = recv_until(sock, b"> ")
    assert got.endswith(b"line one\r\nprompt\r\x00> ")
    sock.close()
    daemon.stop()


def test_two_ports_are_independent_and_a_missing_device_does_not_stop_the_others(
        start_daemon: Start, make_pty: MakePty, tmp_path: object) -> None:
    """Two working ports carry their own data; a third port's missing device only makes it wait."""
    a, b = make_pty(), make_pty()
    daemon = start_daemon(bridge_block()
                          + port_block("a", a.path, 0, mode="raw")
                          + port_block("b", b.path, 0, mode="raw")
                          + port_block("c", "/dev/serial-bridge-test-missing", 0, mode="raw"))
    daemon.wait_log(r"a: device .* open")
    daemon.wait_log(r"b: device .* open")
    daemon.wait_log(r"c: waiting for device")
    pa, pb, pc = daemon.port_of("a"), daemon.port_of("b"), daemon.port_of("c")
    sa, sb = connect(pa), connect(pb)
    sa.sendall(b"to-a")
    sb.sendall(b"to-b")
    assert a.read(4) == b"to-a"
    assert b.read(4) == b"to-b"
    a.write(b"from-a")
    b.write(b"from-b")
    assert recv_until(sa, b"from-a") == b"from-a"
    assert recv_until(sb, b"from-b") == b"from-b"
    sc = connect(pc)  # the waiting port still accepts clients
    sc.close()
    sa.close()
    sb.close()
    assert daemon.stop() == 0


def test_sighup_adds_and_removes_ports_and_keeps_untouched_sessions(start_daemon: Start,
                                                                     make_pty: MakePty) -> None:
    """SIGHUP starts a new port, stops a removed one, and a session on an untouched port carries on."""
    keep, gone, new = make_pty(), make_pty(), make_pty()
    base = bridge_block() + port_block("keep", keep.path, 0, mode="raw")
    daemon = start_daemon(base + port_block("gone", gone.path, 0, mode="raw"))
    daemon.wait_log(r"keep: device .* open")
    daemon.wait_log(r"gone: device .* open")
    pk, pg = daemon.port_of("keep"), daemon.port_of("gone")
    sk = connect(pk)
    sg = connect(pg)
    sk.sendall(b"before")
    assert keep.read(6) == b"before"
    daemon.reload(base + port_block("new", new.path, 0, mode="raw"))
    daemon.wait_log(r"reload: .*added \['new'\]")
    daemon.wait_log(r"new: device .* open")
    pn = daemon.port_of("new")
    sg.settimeout(WAIT)
    assert sg.recv(100) == b""  # the removed port closed its session
    sn = connect(pn)
    sn.sendall(b"hello-new")
    assert new.read(9) == b"hello-new"
    sk.sendall(b"after")  # the untouched session is still the same connection
    assert keep.read(5) == b"after"
    keep.write(b"still here")
    assert recv_until(sk, b"still here") == b"still here"
    for s in (sk, sg, sn):
        s.close()
    assert daemon.stop() == 0


def test_sigterm_tells_telnet_clients_and_exits_zero(start_daemon: Start, make_pty: MakePty) -> None:
    """SIGTERM closes sessions with a message and the daemon exits 0."""
    dev = make_pty()
    daemon = start_daemon(bridge_block() + port_block("t", dev.path, 0))
    daemon.wait_log(r"t: device .* open")
    port = daemon.port_of("t")
    client = TelnetClient(port)
    client.send(b"x")
    dev.read(1)
    daemon.proc.send_signal(signal.SIGTERM)
    client.read_until(b"shutting down")
    assert daemon.wait_exit() == 0


def test_break_and_ip_and_ayt_from_a_telnet_client(start_daemon: Start, make_pty: MakePty) -> None:
    """IAC IP sends Ctrl-C to the device, IAC AYT is answered, IAC BRK is logged as a break sent."""
    dev = make_pty()
    daemon = start_daemon(bridge_block() + port_block("sig", dev.path, 0))
    daemon.wait_log(r"sig: device .* open")
    port = daemon.port_of("sig")
    client = TelnetClient(port)
    client.conn.send_command(Cmd.IP)
    client.flush()
    assert dev.read(1) == b"\x03"
    client.conn.send_command(Cmd.AYT)
    client.flush()
    answer = client.read_until(b"]")
    assert b"port sig" in answer and b"up" in answer
    client.conn.send_command(Cmd.BRK)
    client.flush()
    daemon.wait_log(r"sig: sending break \(250 ms\)")
    client.close()
    daemon.stop()


def test_sighup_restarts_a_changed_port_and_survives_a_bad_config(start_daemon: Start, make_pty: MakePty) -> None:
    """A port whose settings changed restarts with them (its clients told); a broken config is refused and logged."""
    import termios

    dev = make_pty()
    base = bridge_block() + port_block("chg", dev.path, 0, mode="telnet")
    daemon = start_daemon(base)
    daemon.wait_log(r"chg: device .* open")
    client = TelnetClient(daemon.port_of("chg"))
    client.wait_for(lambda: client.conn.is_enabled(Opt.ECHO, Side.HIM))
    daemon.reload(base + "baud = 38400\n")
    client.read_until(b"configuration changed")
    daemon.wait_log(r"chg: device .* open \(38400 8N1\)")
    assert termios.tcgetattr(dev.master)[5] == termios.B38400
    daemon.reload(base + "baud = 38400\nbogus_key = 1\n")
    daemon.wait_log(r"reload: .*bogus_key")
    again = connect(daemon.port_of("chg", start=2))  # still serving, with the last good config
    again.close()
    assert daemon.stop() == 0


def test_ayt_is_answered_on_an_rfc2217_session(start_daemon: Start, make_pty: MakePty) -> None:
    """An RFC 2217 session gets no unsolicited notices, but IAC AYT is a question: it is
    answered (RFC 854), as `serial-bridge connect`'s `ayt` relies on."""
    dev = make_pty()
    daemon = start_daemon(bridge_block() + port_block("com", dev.path, 0))
    daemon.wait_log(r"com: device .* open")
    sock = connect(daemon.port_of("com"))
    sock.sendall(b"\xff\xfb\x2c")                           # IAC WILL COM-PORT-OPTION
    recv_until(sock, b"\xff\xfd\x2c")                        # IAC DO COM-PORT-OPTION
    daemon.wait_log(r"com: client .* RFC 2217|com: client .* connected")
    sock.sendall(b"\xff\xf6")                               # IAC AYT
    answer = recv_until(sock, b"port com")
    assert b"port com" in answer
    sock.close()
    daemon.stop()
