"""`connect` and the bridge's access rules (issue 11): TLS ports, client certificates, allow lists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.access.certs import make_pki
from tests.client.helpers import Client
from tests.client.test_errors import fails
from tests.integration.helpers import Daemon, PtyDevice

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def tls_bridge(start_daemon: Start, make_pty: MakePty, tmp_path: Path, *, client_ca: bool = False,
               ) -> tuple[Daemon, PtyDevice, int]:
    make_pki(tmp_path / "pki")
    dev = make_pty()
    pki = tmp_path / "pki"
    extra = f'tls_cert = "{pki}/cert.pem"\ntls_key = "{pki}/key.pem"\n'
    if client_ca:
        extra += f'tls_client_ca = "{pki}/ca.pem"\n'
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n{extra}\n[[port]]\nname = "sec"\ndevice = "{dev.path}"\n'
                          'listen = 0\nmode = "telnet"\nlock_files = false\ntls = true\n')
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
