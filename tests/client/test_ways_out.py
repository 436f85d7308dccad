"""The terminal's settings are the same after `connect` as before it, on every way out (`stty -g`)."""

from __future__ import annotations

import signal
import socket
import struct
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from tests.client.helpers import Client, TelnetServer, start_bridge
from tests.integration.helpers import Daemon, PtyDevice

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def test_quit(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.command("quit")
        assert client.wait_exit() == 0
        assert client.terminal_restored()
    finally:
        client.close()
        daemon.stop()


def test_the_server_closes(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """The daemon stops (SIGTERM): its notice reaches the screen, the client says why it ends, exit 0."""
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.send("x")  # a round trip: the opening negotiation is over (a close with unread input is a reset)
        dev.read(1)
        daemon.stop()
        client.expect("shutting down")
        client.expect(r"connection closed by the server\.")
        assert client.wait_exit() == 0
        assert client.terminal_restored()
    finally:
        client.close()


def test_the_connection_is_reset(tmp_path: Path) -> None:
    """A reset (RST) is a failed connection: one line on standard error, exit 1."""
    server = TelnetServer([("will", 1), ("will", 3)])
    client = Client([f"127.0.0.1:{server.port}"], tmp_path)
    try:
        client.expect("Escape key")
        server.wait_for(lambda: server.sock is not None, "no connection")
        assert server.sock is not None
        server.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        server.close()
        client.expect(r"serial-bridge: connection reset by the server")
        assert client.wait_exit() == 1
        assert client.terminal_restored()
    finally:
        client.close()
        server.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signals(start_daemon: Start, make_pty: MakePty, tmp_path: Path, sig: signal.Signals) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.signal(sig)
        client.expect(rf"stopped by {sig.name}\.")
        assert client.wait_exit() == 0
        assert client.terminal_restored()
    finally:
        client.close()
        daemon.stop()


def test_an_exception_standard_output_closed(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """Standard output is a pipe whose reader goes away: the write fails, the client leaves (exit 1),
    and the terminal on standard input is restored all the same."""
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"127.0.0.1:{port}"], tmp_path, pipe_stdout_to="head -c 1 > /dev/null")
    try:
        daemon.wait_log(r"rtr1: .*(client|session)")
        for _ in range(50):  # bounded: output until the client has written into the closed pipe
            dev.write(b"output nobody reads\r\n" * 50)
            try:
                client.expect(r"serial-bridge: standard output closed", timeout=0.2)
                break
            except pexpect.TIMEOUT:
                continue
        assert client.wait_exit() == 1
        assert client.terminal_restored()
    finally:
        client.close()
        daemon.stop()
