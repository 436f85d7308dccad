"""TLS on port listeners (issue 11): Python's ssl client and openssl s_client against the real daemon."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from tests.access.certs import make_pki
from tests.access.helpers import (
    MakePty,
    Start,
    bridge_block,
    closed_without_a_byte,
    port_block,
    read_to_close,
    recv_until,
    tls_client,
)
from tests.integration.helpers import WAIT, connect


def _tls_bridge(pki_dir: Path, client_ca: bool = False) -> str:
    extra = f'tls_cert = "{pki_dir}/cert.pem"\ntls_key = "{pki_dir}/key.pem"\n'
    if client_ca:
        extra += f'tls_client_ca = "{pki_dir}/ca.pem"\n'
    return bridge_block(extra)


def test_data_both_ways_over_tls_in_telnet_and_raw(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """A TLS port speaks Telnet (banner, options) or raw bytes inside TLS 1.2+, unchanged."""
    pki = make_pki(tmp_path / "pki")
    tel, raw = make_pty(), make_pty()
    daemon = start_daemon(_tls_bridge(tmp_path / "pki")
                          + port_block("tel", tel.path, mode="telnet", extra="tls = true")
                          + port_block("raw", raw.path, extra="tls = true"))
    daemon.wait_log(r"port raw: device .* open")
    daemon.wait_log(r"port tel: device .* open")
    with tls_client(daemon.port_of("raw"), pki.ca) as client:
        assert client.version() in ("TLSv1.2", "TLSv1.3")
        daemon.wait_log(r"port raw: client .* connected")   # a client gets output from when it joined
        raw.write(b"raw hello\r\n")
        assert b"raw hello" in recv_until(client, b"raw hello")
        client.sendall(b"\x00\xffbinary")
        assert raw.read(8) == b"\x00\xffbinary"
    with tls_client(daemon.port_of("tel"), pki.ca) as client:
        assert b"\xff\xfb\x01" in recv_until(client, b"\xff\xfb\x01")   # IAC WILL ECHO, inside TLS
        client.sendall(b"typed")
        assert tel.read(5) == b"typed"
    daemon.stop()


def test_client_certificates_are_required_and_named(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """With tls_client_ca: no certificate or one from another CA is refused; a good one
    gets in and its subject's CN is the session's user."""
    pki = make_pki(tmp_path / "pki", client="alice")
    dev = make_pty()
    daemon = start_daemon(_tls_bridge(tmp_path / "pki", client_ca=True) + port_block("p", dev.path, extra="tls = true"))
    daemon.wait_log(r"port p: device .* open")
    port = daemon.port_of("p")
    for cert in (None, (pki.other_client_cert, pki.other_client_key)):
        try:
            with tls_client(port, pki.ca, cert) as client:
                client.sendall(b"sneak")    # TLS 1.3: the refusal arrives after the client's handshake
                assert closed_without_a_byte(client)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass
    with tls_client(port, pki.ca, (pki.client_cert, pki.client_key)) as client:
        client.sendall(b"alice was here")
        assert dev.read(14) == b"alice was here"
        daemon.wait_log(r"port p: session \d+ \(127\.0\.0\.1:\d+\) is TLS client alice")
    assert dev.drain() == b""    # nothing of the refused clients reached the device
    daemon.wait_log(r"port p: TLS handshake with 127\.0\.0\.1:\d+ failed")
    daemon.stop()


def test_a_plain_telnet_client_on_a_tls_port_is_refused_cleanly(start_daemon: Start, make_pty: MakePty,
                                                                 tmp_path: Path) -> None:
    """Plain text on a TLS port: the connection is closed, one log line, the port still serves TLS."""
    pki = make_pki(tmp_path / "pki")
    dev = make_pty()
    daemon = start_daemon(_tls_bridge(tmp_path / "pki") + port_block("p", dev.path, mode="telnet", extra="tls = true"))
    daemon.wait_log(r"port p: device .* open")
    port = daemon.port_of("p")
    plain = connect(port)
    plain.sendall(b"hello\r\n")
    # the bridge answers with a TLS alert at most, then closes; never Telnet
    answer, closed = read_to_close(plain)
    assert closed and b"\xff\xfb" not in answer    # closed, and no Telnet negotiation in clear
    daemon.wait_log(r"port p: TLS handshake with 127\.0\.0\.1:\d+ failed: not TLS \(a plain Telnet or TCP client\?\)")
    with tls_client(port, pki.ca) as client:
        client.sendall(b"ok")
        assert dev.read(2) == b"ok"
    assert "Traceback" not in "\n".join(daemon.lines)
    daemon.stop()


def test_sighup_reloads_the_certificate(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """New certificate files at the same paths are used for connections made after SIGHUP."""
    old = make_pki(tmp_path / "pki")
    dev = make_pty()
    text = _tls_bridge(tmp_path / "pki") + port_block("p", dev.path, extra="tls = true")
    daemon = start_daemon(text)
    daemon.wait_log(r"port p: device .* open")
    port = daemon.port_of("p")
    with tls_client(port, old.ca) as client:
        client.sendall(b"1")
        assert dev.read(1) == b"1"
    old_ca = tmp_path / "old-ca.pem"
    shutil.copyfile(old.ca, old_ca)
    new = make_pki(tmp_path / "new")
    for name in ("cert.pem", "key.pem", "ca.pem"):
        shutil.copyfile(tmp_path / "new" / name, tmp_path / "pki" / name)
    daemon.reload(text)
    daemon.wait_log(r"TLS: certificate .* loaded")
    with tls_client(port, new.ca) as client:
        client.sendall(b"2")
        assert dev.read(1) == b"2"
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_client(port, old_ca)
    daemon.stop()


def test_openssl_s_client_reaches_the_console(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """openssl s_client, with a client certificate, data both ways."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl program is not installed")
    pki = make_pki(tmp_path / "pki")
    dev = make_pty()
    daemon = start_daemon(_tls_bridge(tmp_path / "pki", client_ca=True) + port_block("p", dev.path, extra="tls = true"))
    daemon.wait_log(r"port p: device .* open")
    port = daemon.port_of("p")
    proc = subprocess.Popen([openssl, "s_client", "-quiet", "-connect", f"127.0.0.1:{port}",
                             "-CAfile", str(pki.ca), "-cert", str(pki.client_cert), "-key", str(pki.client_key),
                             "-verify_return_error"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        daemon.wait_log(r"is TLS client alice")
        proc.stdin.write(b"from openssl\n")
        proc.stdin.flush()
        assert b"from openssl" in dev.read_until(b"from openssl")
        dev.write(b"to openssl\n")
        deadline = time.monotonic() + WAIT
        line = b""
        while b"to openssl" not in line and time.monotonic() < deadline:
            line += proc.stdout.readline()
        assert b"to openssl" in line
    finally:
        proc.kill()
        proc.wait(WAIT)
    daemon.stop()


def test_plain_ports_beside_tls_ports_stay_plain(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """tls is per port: a port without it still takes plain connections."""
    make_pki(tmp_path / "pki")
    a, b = make_pty(), make_pty()
    daemon = start_daemon(_tls_bridge(tmp_path / "pki") + port_block("a", a.path, extra="tls = true")
                          + port_block("b", b.path))
    daemon.wait_log(r"port b: device .* open")
    sock = socket.create_connection(("127.0.0.1", daemon.port_of("b")), timeout=WAIT)
    sock.sendall(b"plain")
    assert b.read(5) == b"plain"
    sock.close()
    daemon.stop()


class _TlsTunnel:
    """What stunnel or socat do on a client: plain TCP on 127.0.0.1, TLS (with a client
    certificate) to the bridge. One connection, two copying threads."""

    def __init__(self, port: int, ca: Path, cert: tuple[Path, Path]) -> None:
        import threading

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = (port, ca, cert)
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def _accept(self) -> None:
        import threading

        self.listener.settimeout(WAIT)
        plain, _ = self.listener.accept()
        port, ca, cert = self.target
        secure = tls_client(port, ca, cert)
        secure.settimeout(None)
        plain.settimeout(None)
        for src, dst in ((plain, secure), (secure, plain)):
            thread = threading.Thread(target=self._copy, args=(src, dst), daemon=True)
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _copy(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        for s in (src, dst):    # shutdown wakes the other thread's recv; close alone does not
            try:
                socket.socket.shutdown(s, socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.listener.close()
        for thread in self._threads:
            thread.join(WAIT)


def _rfc2217_through(local_port: int, dev: object) -> None:
    """pyserial's rfc2217:// client through a tunnel: settings negotiated, data both ways."""
    import serial

    from tests.integration.helpers import PtyDevice

    assert isinstance(dev, PtyDevice)
    port = serial.serial_for_url(f"rfc2217://127.0.0.1:{local_port}", baudrate=115200, timeout=WAIT)
    try:
        port.write(b"AT\r")
        assert dev.read(3) == b"AT\r"
        dev.write(b"OK\r\n")
        assert port.read_until(b"OK\r\n") == b"OK\r\n"
        port.baudrate = 57600
        assert port.baudrate == 57600
    finally:
        port.close()


def test_pyserial_rfc2217_through_a_tls_tunnel(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """RFC 2217 automation over TLS with a client certificate, through a local tunnel (as stunnel does)."""
    pki = make_pki(tmp_path / "pki")
    dev = make_pty()
    daemon = start_daemon(_tls_bridge(tmp_path / "pki", client_ca=True)
                          + port_block("dut", dev.path, mode="telnet", extra="tls = true\nbanner = false"))
    daemon.wait_log(r"port dut: device .* open")
    tunnel = _TlsTunnel(daemon.port_of("dut"), pki.ca, (pki.client_cert, pki.client_key))
    try:
        _rfc2217_through(tunnel.port, dev)
    finally:
        tunnel.close()
    daemon.wait_log(r"port dut: settings now 57600 8N1")
    daemon.stop()


def test_pyserial_rfc2217_through_socat_openssl(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """The recipe of docs/security.md: socat's OPENSSL: address as the client's tunnel."""
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed")
    from tests.integration.helpers import free_port

    pki = make_pki(tmp_path / "pki")
    dev = make_pty()
    daemon = start_daemon(_tls_bridge(tmp_path / "pki", client_ca=True)
                          + port_block("dut", dev.path, mode="telnet", extra="tls = true\nbanner = false"))
    daemon.wait_log(r"port dut: device .* open")
    local = free_port()
    proc = subprocess.Popen([socat, f"TCP-LISTEN:{local},bind=127.0.0.1,reuseaddr,fork",
                             f"OPENSSL:127.0.0.1:{daemon.port_of('dut')},cafile={pki.ca},cert={pki.client_cert},"
                             f"key={pki.client_key},verify=1,commonname=localhost"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        connect(local).close()    # waits until socat listens
        _rfc2217_through(local, dev)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(WAIT)
    daemon.stop()


def test_a_stalled_tls_client_is_dropped_after_stall_timeout(start_daemon: Start, make_pty: MakePty,
                                                            tmp_path: Path) -> None:
    """uat 1 on TLS: a client that stops reading is disconnected after stall_timeout, its TCP
    connection closed by the bridge although the client never reads again."""
    import threading
    pki = make_pki(tmp_path / "pki")
    dev = make_pty()
    daemon = start_daemon(_tls_bridge(tmp_path / "pki") + port_block("p", dev.path, extra="tls = true\nstall_timeout = 1"))
    daemon.wait_log(r"port p: device .* open")
    client = tls_client(daemon.port_of("p"), pki.ca)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    daemon.wait_log(r"port p: client .* connected")
    stop = threading.Event()

    def flood() -> None:
        end = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < end:
            try:
                dev.write(b"z" * 4096)
            except TimeoutError:
                pass
    feeder = threading.Thread(target=flood, daemon=True)
    feeder.start()
    try:
        daemon.wait_log(r"port p: session \d+ .*not reading for 1 s", timeout=15)
        daemon.wait_log(r"port p: client .* disconnected")
        stop.set()
        # the bridge's end of the TCP connection is closed (no longer ESTABLISHED), though the client never read
        server_end = (daemon.port_of("p"), client.getsockname()[1])
        deadline = time.monotonic() + WAIT
        while _tcp_established(*server_end):
            assert time.monotonic() < deadline, "the stalled TLS client's connection stayed established"
            time.sleep(0.1)
    finally:
        stop.set()
        feeder.join(WAIT)
        client.close()
    daemon.stop()


def _tcp_established(local_port: int, remote_port: int) -> bool:
    """Whether 127.0.0.1:local_port has an ESTABLISHED connection to 127.0.0.1:remote_port (/proc/net/tcp)."""
    with open("/proc/net/tcp") as table:
        for row in table.readlines()[1:]:
            fields = row.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if (int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port
                    and state == "01"):
                return True
    return False
