"""`connect` and the bridge's access rules (issue 11): TLS ports, client certificates, allow lists."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.access.gate import HANDSHAKE_TIMEOUT
from bridge.client.app import CONNECT_TIMEOUT

from tests.access.certs import make_pki
from tests.client.helpers import Client
from tests.client.test_errors import fails, wait_listening
from tests.integration.helpers import WAIT, Daemon, PtyDevice, free_port

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def tls_bridge(start_daemon: Start, make_pty: MakePty, tmp_path: Path, *, client_ca: bool = False,
               mode: str = "telnet") -> tuple[Daemon, PtyDevice, int]:
    make_pki(tmp_path / "pki")
    dev = make_pty()
    pki = tmp_path / "pki"
    extra = f'tls_cert = "{pki}/cert.pem"\ntls_key = "{pki}/key.pem"\n'
    if client_ca:
        extra += f'tls_client_ca = "{pki}/ca.pem"\n'
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n{extra}\n[[port]]\nname = "sec"\ndevice = "{dev.path}"\n'
                          f'listen = 0\nmode = "{mode}"\nlock_files = false\ntls = true\n')
    daemon.wait_log(r"port sec: device .* open")
    return daemon, dev, daemon.port_of("sec")


def test_a_console_inside_tls(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, dev, port = tls_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"localhost:{port}", "--tls"], tmp_path,  # the CA as the control clients take it
                    env={"SERIAL_BRIDGE_TLS_CA": str(tmp_path / "pki" / "ca.pem")})
    try:
        client.expect("Escape key")
        client.send("secret\r")
        assert dev.read_until(b"\r") == b"secret\r"
        dev.write(b"inside TLS\r\n")
        client.expect("inside TLS")
        client.command("baud 19200")
        client.expect(r"\[baud now 19200\]")
        client.command("status")
        client.expect(r"tls: TLSv1\.[23], \S+, server CN=localhost")
        client.command("quit")
        assert client.wait_exit() == 0
        assert client.terminal_restored()
    finally:
        client.close()
        daemon.stop()


def test_a_tls_port_by_name_takes_tls_by_itself(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """`connect NAME` learns from the control API that the port takes only TLS and starts it,
    trusting the CA the control clients take ($SERIAL_BRIDGE_TLS_CA); no --tls needed."""
    make_pki(tmp_path / "pki")
    pki, dev, control = tmp_path / "pki", make_pty(), tmp_path / "ctl.sock"
    daemon = start_daemon(f'[bridge]\ncontrol = "{control}"\ntls_cert = "{pki}/cert.pem"\n'
                          f'tls_key = "{pki}/key.pem"\n\n[[port]]\nname = "sec"\ndevice = "{dev.path}"\n'
                          'listen = 0\nlock_files = false\ntls = true\n')
    daemon.wait_log(r"port sec: device .* open")
    client = Client(["sec", "--control", str(control)], tmp_path,
                    env={"SERIAL_BRIDGE_TLS_CA": str(pki / "ca.pem")})
    try:
        client.expect("Escape key")
        daemon.wait_log(r"port sec: client .* connected")
        dev.write(b"inside TLS by name\r\n")
        client.expect("inside TLS by name")
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_tls_refusals_are_one_line(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """Plain Telnet to a TLS port, an untrusted server certificate, a missing client certificate:
    each one line, exit 1, the terminal untouched; the right certificate gets in."""
    daemon, dev, port = tls_bridge(start_daemon, make_pty, tmp_path, client_ca=True)
    pki = tmp_path / "pki"
    try:
        fails(tmp_path, [f"localhost:{port}"],
              rf"serial-bridge: error: localhost:{port} (speaks TLS \(a port with tls = true\): connect with --tls"
              r"|closed the connection at once: .* takes only TLS \(then use --tls\))")
        fails(tmp_path, [f"localhost:{port}", "--tls"],
              rf"serial-bridge: error: cannot connect to localhost:{port}: TLS: the server's certificate is not "
              r"trusted \(.*; --tls-ca names the CA to trust\)")
        # The bridge closes without the alert OpenSSL made (asyncio drops it): the line names the likely cause.
        fails(tmp_path, [f"localhost:{port}", "--tls-ca", str(pki / "ca.pem")],
              rf"serial-bridge: error: localhost:{port} closed the TLS connection at once: the port may want a "
              r"client certificate \(--tls-cert and --tls-key give one\), or may refuse this address")
        fails(tmp_path, [f"localhost:{port}", "--tls-ca", str(pki / "ca.pem"), "--tls-cert", str(pki / "other.pem"),
                         "--tls-key", str(pki / "other.key")],
              rf"serial-bridge: error: localhost:{port} closed the TLS connection at once: the port may not accept "
              rf"our certificate \({re.escape(str(pki / 'other.pem'))}: is it signed by a CA in the port's "
              r"tls_client_ca\?\), or may refuse this address")
        daemon.wait_log(rf"port sec: TLS handshake with 127\.0\.0\.1:\d+ failed: ")
        client = Client([f"localhost:{port}", "--tls-ca", str(pki / "ca.pem"), "--tls-cert", str(pki / "client.pem"),
                         "--tls-key", str(pki / "client.key")], tmp_path)
        try:
            client.expect("Escape key")
            client.send("alice\r")
            assert dev.read_until(b"\r") == b"alice\r"
            client.command("quit")
            assert client.wait_exit() == 0
        finally:
            client.close()
    finally:
        daemon.stop()


def test_a_bad_tls_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    client = Client(["localhost:1", "--tls-ca", str(tmp_path / "junk.pem")], tmp_path)
    try:
        client.expect(r"serial-bridge: error: --tls-ca .*junk\.pem: ")
        assert client.wait_exit() == 2
    finally:
        client.close()


def test_an_allow_list_refusal(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    dev = make_pty()
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n[[port]]\nname = "shut"\ndevice = "{dev.path}"\nlisten = 0\n'
                          'lock_files = false\nallow = ["192.0.2.0/24"]\n')
    daemon.wait_log(r"port shut: device .* open")
    port = daemon.port_of("shut")
    try:
        fails(tmp_path, [f"127.0.0.1:{port}"],
              rf"serial-bridge: error: 127\.0\.0\.1:{port} closed the connection at once: this address may not "
              r"connect \(the port's allow list\)")
        daemon.wait_log(r"port shut: refused 127\.0\.0\.1")
    finally:
        daemon.stop()


def test_raw_tcp_to_a_tls_port(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """`tcp://` to a raw port with tls = true: the bridge waits for a ClientHello that never comes and closes
    after its handshake timeout without a byte; the client says so in one line naming TLS, exit 1 (not 0)."""
    daemon, dev, port = tls_bridge(start_daemon, make_pty, tmp_path, mode="raw")
    client = Client([f"tcp://127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")  # silence is normal for a raw port: the session starts
        screen = client.expect(r"serial-bridge: .*\r?\n", timeout=HANDSHAKE_TIMEOUT + WAIT)
        assert client.wait_exit() == 1
        assert client.terminal_restored()
        line = screen.splitlines()[-1].decode()
        assert re.fullmatch(rf"serial-bridge: 127\.0\.0\.1:{port} closed the connection after \d+\.\d s without "
                            r"sending a byte: the port may take only TLS \(then use --tls\), or may refuse this "
                            r"address", line.strip()), line
        assert b"closed by the server" not in screen + client.tail
        daemon.wait_log(rf"port sec: TLS handshake with 127\.0\.0\.1:\d+ failed: ")
    finally:
        client.close()
        daemon.stop()


def test_a_raw_server_that_closes_without_a_byte_in_a_pipe(tmp_path: Path) -> None:
    """The same rule without TLS, in a pipe: standard output stays empty, one line on standard error, exit 1."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])

    def serve() -> None:
        listener.settimeout(WAIT)
        with contextlib.suppress(OSError):
            sock, _ = listener.accept()
            sock.settimeout(WAIT)
            with contextlib.suppress(OSError):
                sock.recv(4096)  # the piped bytes, then close
            sock.close()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        proc = subprocess.run([*Client.command_prefix(), f"tcp://127.0.0.1:{port}"], input=b"hello\r",
                              capture_output=True, timeout=WAIT * 2)
    finally:
        thread.join(WAIT)
        listener.close()
    assert proc.returncode == 1
    assert proc.stdout == b""
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and re.fullmatch(
        rf"serial-bridge: 127\.0\.0\.1:{port} closed the connection after \d+\.\d s without sending a byte: .*--tls.*",
        lines[0]), lines


class AlertingTlsServer:
    """Python's ssl server (blocking sockets) asking for a client certificate: unlike asyncio's, it sends the
    TLS alert OpenSSL makes when it refuses one (TLS 1.3: after the client's side of the handshake)."""

    def __init__(self, pki: Path, connections: int) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki / "cert.pem", pki / "key.pem")
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_verify_locations(pki / "ca.pem")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)
        self._thread.start()

    def _serve(self, connections: int) -> None:
        self.listener.settimeout(WAIT)
        for _ in range(connections):
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.settimeout(WAIT)
            tls = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            try:
                tls.do_handshake()
                tls.recv(16)
            except (ssl.SSLError, OSError) as exc:
                self.errors.append(str(exc))
            raw = socket.socket(fileno=tls.detach())
            # Read what the client sent before closing: closing with unread bytes is a reset, which can
            # overtake the alert (the client then says what it says for a silent close).
            with contextlib.suppress(OSError), raw:
                raw.shutdown(socket.SHUT_WR)
                raw.settimeout(1.0)
                for _ in range(100):
                    if not raw.recv(65536):
                        break

    def close(self) -> None:
        self.listener.close()
        self._thread.join(WAIT)


def test_the_servers_alert_is_told(tmp_path: Path) -> None:
    """A server that sends its alert: `certificate required` without a certificate, `unknown ca` for one
    signed by another CA, each in one line naming what to give (docs/client.md's table)."""
    pki = tmp_path / "pki"
    make_pki(pki)
    server = AlertingTlsServer(pki, connections=2)
    try:
        fails(tmp_path, [f"localhost:{server.port}", "--tls-ca", str(pki / "ca.pem")],
              rf"serial-bridge: error: localhost:{server.port} refused our TLS connection: the server's alert: "
              r"certificate required \(--tls-cert and --tls-key give a client certificate\)")
        fails(tmp_path, [f"localhost:{server.port}", "--tls-ca", str(pki / "ca.pem"), "--tls-cert",
                         str(pki / "other.pem"), "--tls-key", str(pki / "other.key")],
              rf"serial-bridge: error: localhost:{server.port} refused our TLS connection: the server's alert: "
              rf"unknown ca \(our certificate: {re.escape(str(pki / 'other.pem'))}\)")
    finally:
        server.close()


def test_openssl_s_server_asking_for_a_certificate(tmp_path: Path) -> None:
    """`openssl s_server -Verify 1`, where installed: its alert is told the same way."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (the alert is covered by test_the_servers_alert_is_told)")
    pki = tmp_path / "pki"
    make_pki(pki)
    port = free_port()
    server = subprocess.Popen([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki / "cert.pem"),
                               "-key", str(pki / "key.pem"), "-CAfile", str(pki / "ca.pem"), "-Verify", "1",
                               "-naccept", "1", "-quiet"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port)
        fails(tmp_path, [f"localhost:{port}", "--tls-ca", str(pki / "ca.pem")],
              rf"serial-bridge: error: localhost:{port} refused our TLS connection: the server's alert: "
              r"certificate required \(--tls-cert and --tls-key give a client certificate\)")
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(WAIT)


def test_tls_to_the_wrong_ports(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """--tls to a TLS port whose allow list refuses us, to a plain Telnet port, to a plain raw port (silent
    until its 10 s connect timeout): each one line saying which, exit 1."""
    pki = tmp_path / "pki"
    make_pki(pki)
    devs = [make_pty() for _ in range(3)]
    daemon = start_daemon(
        f'[bridge]\ncontrol = ""\ntls_cert = "{pki}/cert.pem"\ntls_key = "{pki}/key.pem"\n'
        f'[[port]]\nname = "shut"\ndevice = "{devs[0].path}"\nlisten = 0\nlock_files = false\ntls = true\n'
        'allow = ["192.0.2.0/24"]\n'
        f'[[port]]\nname = "tel"\ndevice = "{devs[1].path}"\nlisten = 0\nlock_files = false\n'
        f'[[port]]\nname = "raw"\ndevice = "{devs[2].path}"\nlisten = 0\nmode = "raw"\nlock_files = false\n')
    try:
        for name in ("shut", "tel", "raw"):
            daemon.wait_log(rf"port {name}: device .* open")
        ca = ["--tls-ca", str(pki / "ca.pem")]
        port = daemon.port_of("shut")
        fails(tmp_path, [f"localhost:{port}", *ca],
              rf"serial-bridge: error: localhost:{port} closed the connection in the TLS handshake: this address "
              r"may not connect \(the port's allow list\)")
        port = daemon.port_of("tel")
        fails(tmp_path, [f"localhost:{port}", *ca],
              rf"serial-bridge: error: cannot connect to localhost:{port}: TLS: the server answered with something "
              r"other than TLS \(wrong version number\): a port without TLS\? then connect without --tls")
        port = daemon.port_of("raw")
        fails(tmp_path, [f"localhost:{port}", *ca],
              rf"serial-bridge: error: cannot connect to localhost:{port}: no TLS handshake within 10 s: a port "
              r"without TLS\? then connect without --tls", timeout=CONNECT_TIMEOUT + WAIT)
    finally:
        daemon.stop()


def test_a_tls_error_in_the_session_is_one_readable_line(tmp_path: Path) -> None:
    """A TLS server that, once the session runs, sends a record that is no valid TLS record: one line naming
    OpenSSL's reason (no `[SSL: ...] (_ssl.c:N)`), exit 1; what came before it is on standard output."""
    pki = tmp_path / "pki"
    make_pki(pki)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "cert.pem", pki / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])

    def serve() -> None:
        listener.settimeout(WAIT)
        with contextlib.suppress(OSError):
            sock, _ = listener.accept()
            sock.settimeout(WAIT)
            tls = context.wrap_socket(sock, server_side=True)
            tls.sendall(b"hello\r\n")
            time.sleep(0.6)  # past the client's 0.3 s settle: the session runs
            with socket.socket(fileno=tls.detach()) as raw:
                raw.sendall(b"\x15\x03\x03\x00\x02\x02\x50")  # a plaintext alert where TLS 1.3 wants a sealed one
                raw.shutdown(socket.SHUT_WR)
                for _ in range(100):
                    if not raw.recv(65536):
                        break
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        proc = subprocess.run([*Client.command_prefix(), f"localhost:{port}", "--tls-ca", str(pki / "ca.pem")],
                              input=b"", capture_output=True, timeout=WAIT)
    finally:
        thread.join(WAIT)
        listener.close()
    assert proc.stdout == b"hello\r\n"
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and re.fullmatch(r"serial-bridge: connection lost: TLS: [a-z0-9 ]+", lines[0]), lines
    assert proc.returncode == 1
