"""Each way a connection fails: one line, exit 1, the terminal untouched (`stty -g` the same)."""

from __future__ import annotations

import shutil
import time
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.client.helpers import Client, TelnetServer, start_bridge
from tests.integration.helpers import WAIT, Daemon, PtyDevice, free_port

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def fails(tmp_path: Path, args: list[str], message: str, timeout: float = WAIT) -> bytes:
    """Runs the client under a pty; checks the one error line (within ``timeout`` seconds), exit 1
    and the terminal."""
    client = Client(args, tmp_path)
    try:
        screen = client.expect(message, timeout=timeout)
        assert client.wait_exit() == 1
        screen += client.tail
        assert client.terminal_restored()
        lines = [line for line in screen.splitlines() if line.strip()]
        assert lines[-1].startswith(b"CLIENT-DONE")
        assert len(lines) == 2 and lines[0].startswith(b"serial-bridge: error: "), lines  # one line, nothing else
        return screen
    finally:
        client.close()


def test_connection_refused(tmp_path: Path) -> None:
    port = free_port()
    fails(tmp_path, [f"127.0.0.1:{port}"],
          rf"serial-bridge: error: cannot connect to 127\.0\.0\.1:{port}: connection refused")


def test_unknown_host(tmp_path: Path) -> None:
    fails(tmp_path, ["no-such-host.invalid:7001"],
          r"serial-bridge: error: cannot connect to no-such-host\.invalid:7001: unknown host 'no-such-host\.invalid'")


def test_unknown_port_name(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, _, _, control = start_bridge(start_daemon, make_pty, tmp_path)
    try:
        fails(tmp_path, ["nope", "--control", str(control)],
              r"serial-bridge: error: unknown port 'nope' on the bridge at .*control\.sock")
    finally:
        daemon.stop()


def test_no_bridge_to_resolve_a_name(tmp_path: Path) -> None:
    fails(tmp_path, ["rtr1", "--control", str(tmp_path / "none.sock")],
          r"serial-bridge: error: cannot look up port 'rtr1': cannot reach the bridge at .*none\.sock")


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_server_that_refuses_at_once_like_an_allow_list(tmp_path: Path, how: str) -> None:
    """An allow list closes the connection at once; so does a TLS-only port to plain Telnet."""
    server = TelnetServer(on_connect=how)
    try:
        fails(tmp_path, [f"127.0.0.1:{server.port}"],
              rf"serial-bridge: error: 127\.0\.0\.1:{server.port} closed the connection at once: this address "
              r"may not connect \(the port's allow list\), or the port takes only TLS")
    finally:
        server.close()


def test_a_tls_port(tmp_path: Path) -> None:
    """A TLS server answers Telnet's opening with a TLS alert record."""
    server = TelnetServer(on_connect="tls-alert")
    try:
        fails(tmp_path, [f"127.0.0.1:{server.port}"],
              rf"serial-bridge: error: 127\.0\.0\.1:{server.port} speaks TLS \(a port with tls = true\)")
    finally:
        server.close()


def test_a_real_tls_server(tmp_path: Path) -> None:
    """`openssl s_server`, where installed: refused in one line, whichever way it ends the connection."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (the TLS refusal is covered by test_a_tls_port)")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True,
                   timeout=WAIT)
    port = free_port()
    server = subprocess.Popen([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert),
                               "-key", str(key), "-naccept", "1", "-quiet"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port)
        fails(tmp_path, [f"127.0.0.1:{port}"], rf"serial-bridge: error: 127\.0\.0\.1:{port} .*TLS")
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(WAIT)


def wait_listening(port: int) -> None:
    """Wait until something listens on the port, without connecting to it (/proc/net/tcp)."""
    deadline = time.monotonic() + WAIT
    needle = f":{port:04X} 00000000:0000 0A"
    while needle not in Path("/proc/net/tcp").read_text():
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {port}")
        time.sleep(0.05)


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    client = Client(["ftp://x:1"], tmp_path)
    try:
        client.expect(r"serial-bridge: error: target 'ftp://x:1': unknown scheme 'ftp'")
        assert client.wait_exit() == 2
        assert client.terminal_restored()
    finally:
        client.close()
    for args, message in ((["h:1", "--escape", "xy"], "escape key 'xy'"), (["h:1", "--baud", "x"], "baud 'x'"),
                          (["h:1", "--framing", "9X9"], "framing '9X9'"), (["h:1", "--dtr", "1"], "--dtr '1'")):
        proc = subprocess.run([*Client.command_prefix(), *args], capture_output=True, timeout=WAIT)
        assert proc.returncode == 2
        assert proc.stderr.decode().strip().startswith("serial-bridge: error: " + message), proc.stderr
