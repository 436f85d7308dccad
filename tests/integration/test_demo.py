"""`serial-bridge demo`: the simulated board through the real bridge, as a newcomer uses it."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from bridge.telnet import Cmd
from tests.integration.helpers import WAIT, TelnetClient, recv_until


class Demo:
    def __init__(self) -> None:
        self.runtime = tempfile.TemporaryDirectory(prefix="sbdemo-")   # its own default socket folder
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "demo", "--no-dashboard", "--port", "0", "--time-scale", "0.02"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=dict(os.environ, XDG_RUNTIME_DIR=self.runtime.name))
        self.lines: list[str] = []
        self.port_found = threading.Event()
        self.port = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            self.lines.append(line)
            match = re.search(r"telnet 127\.0\.0\.1 (\d+)", line)
            if match:
                self.port = int(match.group(1))
                self.port_found.set()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(WAIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.runtime.cleanup()


def test_demo_board_logs_in_and_answers_a_command_through_the_bridge() -> None:
    """A telnet client sees the boot, logs in with the printed credentials and runs `uname -a`."""
    demo = Demo()
    try:
        assert demo.port_found.wait(WAIT), "".join(demo.lines)
        client = TelnetClient(demo.port)
        client.read_until(b"demo-board login: ", timeout=20)
        client.send(b"root\r\n")
        client.read_until(b"Password: ")
        client.send(b"bridge\r\n")
        client.read_until(b"# ")
        client.send(b"uname -a\r\n")
        answer = client.read_until(b"# ")
        assert b"Linux demo-board" in answer
        client.conn.send_command(Cmd.BRK)
        client.flush()
        client.read_until(b"[break received]")
        client.close()
    finally:
        code = demo.stop()
    assert code == 0, "".join(demo.lines)


def test_every_client_the_demo_suggests_suits_the_port() -> None:
    """UAT 12: the headless demo prints only clients that work on its port: a raw client
    (`nc`) only where the port sends no negotiation, and `serial-bridge connect` reaches the board."""
    demo = Demo()
    try:
        assert demo.port_found.wait(WAIT), "".join(demo.lines)
        text = "".join(demo.lines)
        for match in re.finditer(r"\bnc (\S+) (\d+)", text):   # a raw client: its first bytes are the board's
            with socket.create_connection((match.group(1), int(match.group(2))), timeout=WAIT) as sock:
                first = recv_until(sock, b"login: ", timeout=20)
                assert bytes([Cmd.IAC]) not in first, f"{match.group(0)} gets Telnet negotiation: {first[:40]!r}"
        connect = re.search(r"serial-bridge connect (\S+)", text)
        assert connect, text
        if shutil.which("telnet") is not None:
            assert re.search(r"telnet 127\.0\.0\.1 \d+", text)
        client = subprocess.Popen([sys.executable, "-m", "bridge", "connect", connect.group(1)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert client.stdin is not None and client.stdout is not None
            os.set_blocking(client.stdout.fileno(), False)
            got = b""
            deadline = time.monotonic() + 20
            while b"login: " not in got and time.monotonic() < deadline:
                ready, _, _ = select.select([client.stdout], [], [], 0.5)
                if ready:
                    chunk = client.stdout.read(65536) or b""
                    if not chunk and client.poll() is not None:
                        break
                    got += chunk
            assert b"login: " in got and bytes([Cmd.IAC]) not in got, got[-300:]
        finally:
            client.kill()
            client.wait(WAIT)
    finally:
        code = demo.stop()
    assert code == 0, "".join(demo.lines)
