"""`connect` and the bridge's access rules (issue 11): TLS ports, client certificates, allow lists."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from bridge.access.gate import HANDSHAKE_TIMEOUT

from tests.access.certs import make_pki
from tests.client.helpers import Client
from tests.client.test_errors import fails
from tests.integration.helpers import WAIT, Daemon, PtyDevice

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
        fails(tmp_path, [f"localhost:{port}", "--tls-ca", str(pki / "ca.pem")],
              rf"serial-bridge: error: (localhost:{port} refused our TLS connection: .*certificate required"
              rf"|cannot connect to localhost:{port}: TLS refused: |localhost:{port} closed the TLS connection at once)")
        fails(tmp_path, [f"localhost:{port}", "--tls-ca", str(pki / "ca.pem"), "--tls-cert", str(pki / "other.pem"),
                         "--tls-key", str(pki / "other.key")],
              rf"serial-bridge: error: (localhost:{port} refused our TLS connection: "
              rf"|cannot connect to localhost:{port}: TLS refused: |localhost:{port} closed the TLS connection at once)")
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

