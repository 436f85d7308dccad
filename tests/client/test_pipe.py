"""Standard input not a terminal: bytes pass through untouched, for scripts."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.client.helpers import ROOT, start_bridge
from tests.integration.helpers import WAIT, Daemon, PtyDevice

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]
SIZE = 1 << 20


def spawn(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "bridge", "connect", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(ROOT))


def read_exactly(stream: object, n: int, out: list[bytes]) -> None:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read1(n - len(buf))  # type: ignore[attr-defined]
        if not chunk:
            break
        buf += chunk
    out.append(bytes(buf))


def test_a_mebibyte_of_random_bytes_both_ways_over_raw_tcp(start_daemon: Start, make_pty: MakePty,
                                                          tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path, mode="raw")
    up, down = os.urandom(SIZE), os.urandom(SIZE)
    proc = spawn([f"tcp://127.0.0.1:{port}", "--linger", "0.5"])
    assert proc.stdin is not None and proc.stdout is not None
    at_device: list[bytes] = []
    on_stdout: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: at_device.append(dev.read(SIZE, timeout=6 * WAIT))),
        threading.Thread(target=read_exactly, args=(proc.stdout, SIZE, on_stdout)),
        threading.Thread(target=lambda: dev.write(down)),
    ]
    try:
        daemon.wait_log(r"rtr1: client .* connected")  # output before it would not be sent to it
        for thread in threads:
            thread.start()
        proc.stdin.write(up)
        proc.stdin.flush()
        for thread in threads:
            thread.join(6 * WAIT)
        proc.stdin.close()
        assert proc.wait(WAIT) == 0
        assert at_device == [up]
        assert on_stdout == [down]
        assert proc.stderr is not None and proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT)
        daemon.stop()


def test_telnet_in_a_pipe_is_8_bit_clean(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """Through Telnet too: IAC, CR, NUL and CR LF pass unchanged both ways (BINARY is asked in a pipe)."""
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    tricky = b"a\rb\r\x00c\xff\xffd\r\n\xff\xfb\x01e\r"
    proc = spawn([f"127.0.0.1:{port}", "--linger", "0.5"])
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(tricky)
        proc.stdin.flush()
        assert dev.read(len(tricky)) == tricky
        dev.write(b"<start>" + tricky + b"<end>")
        proc.stdin.close()
        out = proc.stdout.read()
        assert proc.wait(WAIT) == 0
        assert out[out.index(b"<start>") + 7:] == tricky + b"<end>"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT)
        daemon.stop()


def test_standard_input_from_a_file_or_dev_null(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """`connect ... < FILE` and `< /dev/null` (which epoll refuses to watch): the file's bytes reach the device,
    the device's reach standard output, exit 0; no internal error."""
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path, mode="raw")
    commands = tmp_path / "commands.txt"
    commands.write_bytes(b"show version\r" * 1000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        for source, expected in ((commands, commands.read_bytes()), (Path(os.devnull), b"")):
            with source.open("rb") as stdin:
                proc = subprocess.Popen([sys.executable, "-m", "bridge", "connect", f"tcp://127.0.0.1:{port}",
                                         "--linger", "3"], stdin=stdin, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=env, cwd=str(ROOT))
                try:
                    if expected:
                        assert dev.read(len(expected)) == expected
                    daemon.wait_log(r"rtr1: client .* connected", count=1 if expected else 2)
                    dev.write(b"answer\r\n")
                    out, err = proc.communicate(timeout=WAIT)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait(WAIT)
            assert proc.returncode == 0, err
            assert out == b"answer\r\n", (source, out, err)
            assert b"internal error" not in err
    finally:
        daemon.stop()


def test_a_server_that_closes_before_binary_is_agreed(tmp_path: Path) -> None:
    """A pipe waits up to 2 s for BINARY before reading standard input; a server that closes in that wait
    (it speaks no Telnet) ends the client with its one line, nothing else on standard error (no warning
    about a coroutine never awaited)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])

    def serve() -> None:
        listener.settimeout(WAIT)
        with contextlib.suppress(OSError):
            sock, _ = listener.accept()
            with sock:
                sock.sendall(b"hello\r\n")
                time.sleep(0.6)  # past the client's 0.3 s settle, within its BINARY wait
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(WAIT)
                for _ in range(100):  # read until the client closes: no reset
                    if not sock.recv(65536):
                        break
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "bridge", "connect", f"127.0.0.1:{port}"], input=b"",
                              capture_output=True, timeout=WAIT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        thread.join(WAIT)
        listener.close()
    assert proc.stdout == b"hello\r\n"
    assert proc.stderr.decode().splitlines() == ["serial-bridge: connection closed by the server"]
    assert proc.returncode == 0
