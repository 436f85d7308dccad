"""A pyserial RFC 2217 client opening while the device floods (issue 10 follow-up).

pyserial opens an ``rfc2217://`` port with one COM-PORT request at a time, waiting up
to 3 s for each answer, and ends with a PURGE of the receive buffer: what it reads
after ``open()`` returns should be output produced after it opened. The port holds a
new RFC 2217 client's output until its opening requests are done, and the PURGE drops
what was held (docs/sessions.md, "An RFC 2217 client's opening").

This is the real client's view of it: the open succeeds while the device floods, and
the client then reads nothing from before its open. (Before the fix this case passed
too, slowly: pyserial decoded the whole flood ahead of its answers and its purge
dropped it. The ordering itself, which made opens fail when the kernel held more than
3 s of pyserial's decoding, is checked byte for byte in
tests/port/test_comport_opening.py, which failed before the fix.)

Real parts: the daemon, a pty, a first client that reads everything (so the port
keeps reading the device), and pyserial's own client; the flood starts at a fixed
point of pyserial's opening (its "Negotiated options" log line, after its option
negotiation and before its first COM-PORT request).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time

import serial

from tests.integration.helpers import WAIT
from tests.integration.support import MakePty, SocketReader, Start, assert_no_traceback, started

FLOOD = 1024 * 1024   # bytes of device output in the opening: 5 s of pyserial's decoding
MARK = b"\x00\x00END"     # the flood has no NUL


class _FloodAtNegotiated(logging.Handler):
    """At pyserial's "Negotiated options" line the device starts sending FLOOD bytes
    (a thread): they come while pyserial makes its requests."""

    def __init__(self, master: int) -> None:
        super().__init__()
        self.master = master
        self.flood: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.flood is None and record.getMessage().startswith("Negotiated options"):
            self.flood = threading.Thread(target=self._send, daemon=True)
            self.flood.start()

    def _send(self) -> None:
        chunk = bytes(range(1, 255)) * 128   # 32512 bytes, no IAC, no NUL
        sent = 0
        deadline = time.monotonic() + WAIT
        while sent < FLOOD and time.monotonic() < deadline:
            try:
                sent += os.write(self.master, chunk[:FLOOD - sent])
            except BlockingIOError:
                select.select([], [self.master], [], 0.05)


def test_a_pyserial_client_opening_in_a_flood_is_answered_and_reads_only_new_output(
        start_daemon: Start, make_pty: MakePty) -> None:
    """The device sends 2 MiB between pyserial's negotiation and its first request:
    the open succeeds, and the client then reads the mark the device sends next and
    nothing of the flood before it."""
    daemon, dev, port = started(start_daemon, make_pty)
    os.set_blocking(dev.master, False)
    first = SocketReader(socket.create_connection(("127.0.0.1", port), timeout=WAIT))
    first.start()
    log = logging.getLogger("pySerial.rfc2217")
    hook = _FloodAtNegotiated(dev.master)
    log.addHandler(hook)
    client = None
    try:
        try:
            client = serial.serial_for_url(f"rfc2217://127.0.0.1:{port}?logging=info", timeout=0.1)
        except serial.SerialException as exc:   # pyserial's 3 s wait for an answer ran out
            raise AssertionError(f"the open failed: {exc}") from None
        assert hook.flood is not None, "pyserial never logged its negotiation"
        hook.flood.join(WAIT)
        deadline = time.monotonic() + WAIT
        while first.count < FLOOD and time.monotonic() < deadline:   # the port has read it all
            time.sleep(0.01)
        dev.write(MARK)
        got = b""
        deadline = time.monotonic() + WAIT
        while MARK not in got and time.monotonic() < deadline:
            got += client.read(65536)
        assert got == MARK, f"{len(got) - len(MARK)} bytes of output from before the open came first"
    finally:
        log.removeHandler(hook)
        log.setLevel(logging.NOTSET)
        if client is not None:
            client.close()
        first.finish()
    assert_no_traceback(daemon)
    daemon.stop()
