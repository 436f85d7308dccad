"""`connect` against ser2net 4 (RFC 2217 Telnet and raw TCP), where ser2net is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.client.helpers import Client
from tests.integration.helpers import WAIT, PtyDevice, free_port

MakePty = Callable[[], PtyDevice]
SER2NET = shutil.which("ser2net") or shutil.which("/usr/sbin/ser2net")


@pytest.fixture
def ser2net(make_pty: MakePty, tmp_path: Path) -> Iterator[tuple[PtyDevice, int, int]]:
    """ser2net bridging one pty on two ports: telnet(rfc2217) and raw tcp. Yields (pty, telnet port, tcp port)."""
    if SER2NET is None:
        pytest.skip("ser2net is not installed (apt-get install ser2net)")
    dev = make_pty()
    telnet_port, tcp_port = free_port(), free_port()
    config = tmp_path / "ser2net.yaml"
    lines = ["%YAML 1.1", "---"]
    for name, accepter, port in (("t", "telnet(rfc2217),tcp", telnet_port), ("r", "tcp", tcp_port)):
        lines += [f"connection: &{name}", f"  accepter: {accepter},127.0.0.1,{port}",
                  f"  connector: serialdev,{dev.path},9600n81,local", "  options:", "    kickolduser: true"]
    config.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([SER2NET, "-n", "-d", "-u", "-c", str(config)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WAIT
        for port in (telnet_port, tcp_port):
            while f":{port:04X} 00000000:0000 0A" not in Path("/proc/net/tcp").read_text():
                assert proc.poll() is None, "ser2net exited"
                if time.monotonic() > deadline:
                    raise TimeoutError(f"ser2net never listened on {port}")
                time.sleep(0.05)
        yield dev, telnet_port, tcp_port
    finally:
        proc.terminate()
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(WAIT)


def test_a_console_on_ser2net_with_rfc2217(ser2net: tuple[PtyDevice, int, int], tmp_path: Path) -> None:
    dev, port, _ = ser2net
    client = Client([f"127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.send("hello\r")
        assert dev.read_until(b"\r").endswith(b"hello\r")
        dev.write(b"ser2net says hi\r\n")
        client.expect("ser2net says hi")
        client.command("baud 19200")
        client.expect(r"\[baud now 19200\]")
        assert termios.tcgetattr(dev.master)[5] == termios.B19200
        client.command("status")
        screen = client.expect(r"log: off")
        assert re.search(rb"server's: .*COM_PORT|ours: .*COM_PORT", screen)
        assert b"line: 19200 baud 8N1" in screen
        client.command("quit")
        assert client.wait_exit() == 0
        assert client.terminal_restored()
    finally:
        client.close()


def test_raw_tcp_on_ser2net(ser2net: tuple[PtyDevice, int, int], tmp_path: Path) -> None:
    dev, _, port = ser2net
    client = Client([f"tcp://127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.send(b"\xff\r")
        assert dev.read(2) == b"\xff\r"
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
