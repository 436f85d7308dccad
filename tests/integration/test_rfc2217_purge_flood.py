"""RFC 2217 PURGE-DATA while the device floods: never a false "device lost".

Reported (UAT after issue 10): a client sending PURGE-DATA 1 (what pyserial's
``reset_input_buffer`` sends) every 50 ms while a pty flooded at 1 MB/s made the
bridge log "device lost: ... (end of file)" 2-4 times in 200 purges and reopen
the device, telling every client "device disconnected". The purge emptied the
tty between the loop's readiness and its read, and with pyserial's VMIN 0 that
read is 0 bytes, the mark of end of file. The kind (any emptied buffer, any tty
device) is tested in tests/device/; this is the reported input through the daemon.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time

from bridge.telnet import Cmd, ComPortCmd, Opt
from tests.integration.helpers import WAIT
from tests.integration.support import MakePty, SocketReader, Start, assert_no_traceback, comport, started

FLOOD = 4 * 1024 * 1024   # bytes the device sends
PURGES = 200
IAC = Cmd.IAC


def _flood(master: int, stop: threading.Event) -> None:
    """FLOOD bytes on the pty's master as fast as the tty takes them (no IAC)."""
    chunk = bytes(range(1, 255)) * 64
    sent = 0
    deadline = time.monotonic() + WAIT * 4
    while sent < FLOOD and not stop.is_set() and time.monotonic() < deadline:
        try:
            sent += os.write(master, chunk[:FLOOD - sent])
        except BlockingIOError:
            select.select([], [master], [], 0.05)


def test_purges_during_a_flood_never_lose_the_device(start_daemon: Start, make_pty: MakePty) -> None:
    """200 PURGE-DATA 1 (and 3) from a raw RFC 2217 client while 4 MiB flood the
    port: no "device lost" line, no reopen, and a plain client gets every byte
    (the purges flush nothing of the device's while it is there)."""
    daemon, dev, port = started(start_daemon, make_pty)
    os.set_blocking(dev.master, False)
    stop = threading.Event()
    watcher = SocketReader(socket.create_connection(("127.0.0.1", port), timeout=WAIT))
    purger = SocketReader(socket.create_connection(("127.0.0.1", port), timeout=WAIT))
    flood = threading.Thread(target=_flood, args=(dev.master, stop), daemon=True)
    try:
        purger.sock.sendall(bytes([IAC, Cmd.DO, Opt.BINARY, IAC, Cmd.WILL, Opt.BINARY,
                                   IAC, Cmd.WILL, Opt.COM_PORT]))
        for thread in (watcher, purger, flood):
            thread.start()
        for n in range(PURGES):
            purger.sock.sendall(comport(ComPortCmd.PURGE_DATA, bytes([1 if n % 2 else 3])))
            time.sleep(0.005)
        flood.join(WAIT * 4)
        deadline = time.monotonic() + WAIT
        while watcher.count < FLOOD and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        flood.join(WAIT)
        watcher.finish()
        purger.finish()
    lost = [line for line in daemon.lines if "device lost" in line or "went away" in line]
    assert not lost, "\n".join(lost)
    # The watcher is a Telnet client: its banner and NVT's CR NUL come on top.
    assert watcher.count >= FLOOD, f"the watcher read {watcher.count} of {FLOOD} bytes"
    assert_no_traceback(daemon)
    daemon.stop()
