"""pyserial over a slow link opens while the device floods (UAT after issue 10).

Reported: at a 300 ms round trip and 1 MB/s of device output, 2 of 5 pyserial
``rfc2217://`` opens failed (an answer came after pyserial's 3 s wait). The port's
fixed 250 ms wait after a request was shorter than the link's round trip, so the
held output went out between pyserial's requests and its next answers waited behind
it. The waits now count the client's round trip and end at its PURGE of the
transmit buffer (docs/sessions.md, "An RFC 2217 client's opening").

Real parts: the daemon, a pty, a first client reading everything, pyserial's own
client, and between pyserial and the port a TCP relay on loopback that delays every
chunk 150 ms each way.
"""

from __future__ import annotations

import collections
import os
import select
import socket
import threading
import time

import serial

from tests.integration.helpers import WAIT
from tests.integration.support import MakePty, SocketReader, Start, assert_no_traceback, started

DELAY = 0.15           # s each way
RATE = 1024 * 1024     # bytes/s of device output
OPENS = 2


class _SlowLink(threading.Thread):
    """Accepts one connection at a time on loopback and relays it to ``port``,
    each chunk DELAY seconds late in both directions."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.address = self.server.getsockname()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                near, _ = self.server.accept()
            except socket.timeout:
                continue
            far = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
            done = threading.Event()
            pumps = [threading.Thread(target=self._pump, args=(a, b, done), daemon=True)
                     for a, b in ((near, far), (far, near))]
            for pump in pumps:
                pump.start()
            done.wait()
            for pump in pumps:
                pump.join(WAIT)
            near.close()
            far.close()
        self.server.close()

    def _pump(self, src: socket.socket, dst: socket.socket, done: threading.Event) -> None:
        """Read ``src``, send each chunk to ``dst`` DELAY after it came."""
        late: collections.deque[tuple[float, bytes]] = collections.deque()
        src.setblocking(False)
        while not (done.is_set() or self.stop.is_set()):
            wait = max(0.0, late[0][0] - time.monotonic()) if late else 0.05
            ready, _, _ = select.select([src], [], [], min(wait, 0.05))
            if ready:
                try:
                    chunk = src.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    done.set()
                    return
                late.append((time.monotonic() + DELAY, chunk))
            while late and late[0][0] <= time.monotonic():
                try:
                    dst.sendall(late.popleft()[1])
                except OSError:
                    done.set()
                    return


def _flood(master: int, stop: threading.Event) -> None:
    """RATE bytes a second on the pty's master until stop (no IAC)."""
    chunk = bytes(range(1, 255)) * 16
    start, sent = time.monotonic(), 0
    while not stop.is_set():
        try:
            sent += os.write(master, chunk)
        except BlockingIOError:
            select.select([], [master], [], 0.05)
        ahead = sent / RATE - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)


def test_pyserial_opens_over_a_300_ms_link_while_the_device_floods(start_daemon: Start, make_pty: MakePty) -> None:
    """Two pyserial opens through a 300 ms round trip, each while the device sends
    1 MiB/s: every one succeeds (pyserial gives each answer 3 s)."""
    daemon, dev, port = started(start_daemon, make_pty)
    os.set_blocking(dev.master, False)
    stop = threading.Event()
    first = SocketReader(socket.create_connection(("127.0.0.1", port), timeout=WAIT))
    link = _SlowLink(port, stop)
    threads = [first, threading.Thread(target=_flood, args=(dev.master, stop), daemon=True), link]
    for thread in threads:
        thread.start()
    failures = []
    try:
        time.sleep(0.5)
        for n in range(OPENS):
            try:
                client = serial.serial_for_url(f"rfc2217://{link.address[0]}:{link.address[1]}", timeout=0.1)
            except serial.SerialException as exc:
                failures.append(f"open {n}: {exc}")
                continue
            client.close()
    finally:
        stop.set()
        first.finish()
        for thread in threads:
            thread.join(WAIT)
    assert not failures, failures
    assert_no_traceback(daemon)
    daemon.stop()
