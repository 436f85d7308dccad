"""Real parts for whole-bridge tests: pseudo-terminal devices, the daemon as a
subprocess, loopback clients. Every wait is bounded."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

from bridge.telnet import Opt, OptionPolicy, Side, TelnetConnection, TimingMarkRequested

WAIT = 10.0  # seconds: the bound on any single wait in these tests


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PtyDevice:
    """A pseudo-terminal standing in for a serial device: the test holds the master."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        os.set_blocking(self.master, False)

    def write(self, data: bytes) -> None:
        """Bytes the device sends (bounded wait while the pty is full)."""
        view = memoryview(data)
        deadline = time.monotonic() + WAIT
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("pty stayed full") from None
                select.select([], [self.master], [], 0.5)

    def read(self, n: int, timeout: float = WAIT) -> bytes:
        """Exactly n bytes the bridge wrote to the device."""
        out = bytearray()
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"device got {len(out)} of {n} bytes: {bytes(out[-200:])!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    out += os.read(self.master, n - len(out))
                except (BlockingIOError, OSError):
                    pass
        return bytes(out)

    def read_until(self, marker: bytes, timeout: float = WAIT) -> bytes:
        """What the bridge wrote to the device, up to and including ``marker``."""
        out = bytearray()
        deadline = time.monotonic() + timeout
        while marker not in out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"device never got {marker!r}; got {bytes(out[-200:])!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    out += os.read(self.master, 65536)
                except (BlockingIOError, OSError):
                    pass
        return bytes(out)

    def drain(self) -> bytes:
        """Whatever is waiting, without blocking."""
        try:
            return os.read(self.master, 65536)
        except (BlockingIOError, OSError):
            return b""

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class Daemon:
    """`serial-bridge serve` in a subprocess, with its stderr collected."""

    def __init__(self, config_text: str, tmp: Path, args: tuple[str, ...] = ()) -> None:
        self.config_path = tmp / "bridge.toml"
        self.config_path.write_text(config_text)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--config", str(self.config_path), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_log(self, pattern: str, count: int = 1, timeout: float = WAIT) -> str:
        """Wait until ``count`` log lines match the regex ``pattern``; returns the last."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hits = [line for line in self.lines if regex.search(line)]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise TimeoutError(f"no log line matching {pattern!r}; log:\n" + "\n".join(self.lines))
                self._cond.wait(min(left, 0.5))

    def port_of(self, name: str, readonly: bool = False, start: int = 1) -> int:
        """The TCP port a port listens on, from the daemon's log (configs use listen = 0);
        ``start`` picks the n-th time it started listening (a restarted port binds anew)."""
        line = self.wait_log(rf"port {re.escape(name)}: listening on ", count=start)
        pattern = r"read-only on .*:(\d+)$" if readonly else r"listening on .*?:(\d+) \("
        match = re.search(pattern, line)
        assert match, line
        return int(match.group(1))

    def reload(self, config_text: str) -> None:
        self.config_path.write_text(config_text)
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(WAIT)
        finally:
            self._reader.join(WAIT)

    def wait_exit(self) -> int:
        """The exit code, once the daemon ends by itself (bounded wait)."""
        try:
            return self.proc.wait(WAIT)
        finally:
            self._reader.join(WAIT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)


def connect(port: int, timeout: float = WAIT) -> socket.socket:
    """A TCP client on 127.0.0.1:port, retried until the daemon listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def recv_until(sock: socket.socket, marker: bytes, timeout: float = WAIT) -> bytes:
    """Bytes from the socket up to and including ``marker``."""
    out = bytearray()
    deadline = time.monotonic() + timeout
    while marker not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"never got {marker!r}; got {bytes(out[-300:])!r}")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before {marker!r}; got {bytes(out[-300:])!r}")
        out += chunk
    return bytes(out)


CLIENT_POLICY = OptionPolicy(
    us=frozenset({Opt.BINARY, Opt.SGA, Opt.TTYPE, Opt.NAWS}),
    him=frozenset({Opt.BINARY, Opt.ECHO, Opt.SGA, Opt.STATUS, Opt.COM_PORT}),
)


class TelnetClient:
    """A Telnet client over a real socket, built on the project's own engine."""

    def __init__(self, port: int) -> None:
        self.sock = connect(port)
        # Urgent data in band, as netkit telnet reads it: a Synch's DM (the
        # answer to IAC AO) stays in the stream where the engine expects it.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
        self.conn = TelnetConnection(server=False, policy=CLIENT_POLICY)
        self.events: list[object] = []
        self.data = bytearray()
        self._lock = threading.Lock()  # the engine is not thread-safe; tests may read and write at once

    def send(self, data: bytes) -> None:
        with self._lock:
            self.conn.send_data(data)
            out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def flush(self) -> None:
        with self._lock:
            out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self, timeout: float) -> bool:
        """Read once (up to timeout); False at EOF."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return True
        with self._lock:
            events = self.conn.receive_data(chunk)
            for event in events:
                if isinstance(event, TimingMarkRequested):  # as real clients do (RFC 860)
                    self.conn.answer_timing_mark()
        for event in events:
            self.events.append(event)
            payload = getattr(event, "data", None)
            if type(event).__name__ == "DataReceived" and isinstance(payload, bytes):
                self.data += payload
        self.flush()
        return bool(chunk)

    def read_until(self, marker: bytes, timeout: float = WAIT) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"never got {marker!r}; got {bytes(self.data[-300:])!r}")
            if not self.pump(left):
                raise ConnectionError(f"closed before {marker!r}; got {bytes(self.data[-300:])!r}")
        end = self.data.index(marker) + len(marker)
        out = bytes(self.data[:end])
        del self.data[:end]
        return out

    def wait_for(self, predicate: object, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():  # type: ignore[operator]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("condition not reached")
            if not self.pump(min(left, 0.2)):
                raise ConnectionError("closed")

    def go_binary(self) -> None:
        """Ask for BINARY both ways and wait until it is in force."""
        self.conn.request_enable(Opt.BINARY, Side.US)
        self.conn.request_enable(Opt.BINARY, Side.HIM)
        self.flush()
        self.wait_for(lambda: self.conn.is_enabled(Opt.BINARY, Side.US)
                      and self.conn.is_enabled(Opt.BINARY, Side.HIM))

    def close(self) -> None:
        self.sock.close()
