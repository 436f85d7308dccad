"""RFC 860 TIMING-MARK keeps its place in a client's output: the answer to a client's
DO TIMING-MARK goes behind the device output already queued for that client, never ahead
of it and never dropped with it (a Telnet client flushing output after IAC IP waits for
the mark and shows what follows it).

Real parts: the port on the lean loop in a thread with a pseudo-terminal for its device
(tests/port/test_direct_path.py's LivePort), a first client that reads everything, and a
second one, a watcher (``access = "first"``), that holds its output with RFC 2217
FLOWCONTROL-SUSPEND: a watcher does not hold the device, so its output queues while its
input is still read.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bridge.port.session import OUTPUT_QUEUE_BYTES
from tests.port.test_direct_path import WAIT, LivePort, recv_until

IAC, SB, SE, WILL, DO = 255, 250, 240, 251, 253
TIMING_MARK, COM_PORT = 6, 44
SUSPEND, RESUME = 8, 9   # RFC 2217 FLOWCONTROL-SUSPEND / -RESUME (client to server)
WILL_TM = bytes((IAC, WILL, TIMING_MARK))


def _comport(code: int) -> bytes:
    return bytes((IAC, SB, COM_PORT, code, IAC, SE))


def _pending(port: LivePort) -> int:
    """What waits for the watcher (the port's second client)."""
    return port.call(lambda: port.worker.sessions[1].pending_output if len(port.worker.sessions) > 1 else 0)


def _wait_pending(port: LivePort, at_least: int) -> None:
    deadline = time.monotonic() + WAIT
    while _pending(port) < at_least:
        assert time.monotonic() < deadline, f"output never queued ({_pending(port)} bytes)"
        time.sleep(0.01)


def _mark_handled(port: LivePort, client: socket.socket) -> bytes:
    """Send DO TIMING-MARK and an RFC 2217 baud-rate query behind it; return what the client
    has received once the query is answered (COM-PORT answers are not held) and the port's
    work for the mark is done."""
    client.sendall(bytes((IAC, DO, TIMING_MARK)) + bytes((IAC, SB, COM_PORT, 1, 0, 0, 0, 0, IAC, SE)))
    early = recv_until(client, bytes((IAC, SB, COM_PORT, 101)))
    deadline = time.monotonic() + WAIT
    while port.call(lambda: bool(port.worker.sessions[1].work)):
        assert time.monotonic() < deadline, "the mark was never handled"
        time.sleep(0.01)
    return early


@contextmanager
def _suspended_watcher(port: LivePort) -> Iterator[socket.socket]:
    """A Telnet watcher past the opening, COM-PORT agreed, its output suspended; beside it
    the port's writer, a client that reads everything."""
    with port.reading_client():
        client = port.client()
        try:
            client.sendall(bytes((IAC, WILL, COM_PORT)))
            recv_until(client, bytes((IAC, DO, COM_PORT)))
            deadline = time.monotonic() + WAIT
            while not port.call(lambda: len(port.worker.sessions) == 2 and port.worker.sessions[1].welcomed):
                assert time.monotonic() < deadline, "the opening never ended"
                time.sleep(0.01)
            client.sendall(_comport(SUSPEND))
            while not port.call(lambda: len(port.worker.sessions) == 2 and port.worker.sessions[1].suspended):
                assert time.monotonic() < deadline, "FLOWCONTROL-SUSPEND never took effect"
                time.sleep(0.01)
            yield client
        finally:
            client.close()


def test_the_answer_to_do_timing_mark_follows_the_output_queued_before_it() -> None:
    """Output queued while the client is suspended, then DO TIMING-MARK, then more output:
    the client reads every byte of the first output before WILL TIMING-MARK."""
    with LivePort(mode="telnet", extra='access = "first"') as port, _suspended_watcher(port) as client:
        before = b"A" * 3000
        port.pty.write(before)
        _wait_pending(port, len(before))
        early = _mark_handled(port, client)
        port.pty.write(b"B" * 100)
        _wait_pending(port, len(before) + 100)
        client.sendall(_comport(RESUME))
        got = early + recv_until(client, b"B" * 100)
        assert WILL_TM in got
        mark = got.index(WILL_TM)
        assert got[:mark].count(b"A") == len(before)
        assert b"A" not in got[mark:]
        assert got[mark + len(WILL_TM):].strip(b"B") == b""


def test_an_answer_waiting_in_the_queue_survives_a_drop_and_abort_output() -> None:
    """The slow-client policy drops the oldest output past the queue's bound, and IAC AO
    drops it all: the waiting WILL TIMING-MARK is neither, and still arrives."""
    with LivePort(mode="telnet", extra='access = "first"') as port, _suspended_watcher(port) as client:
        port.pty.write(b"A" * 1000)
        _wait_pending(port, 1000)
        _mark_handled(port, client)
        flood = OUTPUT_QUEUE_BYTES + 64 * 1024   # past the bound: the oldest output goes
        port.pty.write(b"C" * flood)
        deadline = time.monotonic() + WAIT
        while port.call(lambda: port.worker.rx_bytes) < 1000 + flood:
            assert time.monotonic() < deadline, "the port never read the whole flood"
            time.sleep(0.01)
        assert port.call(lambda: port.worker.sessions[1].dropped) > 0
        client.sendall(bytes((IAC, 245)))   # IAC AO: drop what is queued
        deadline = time.monotonic() + WAIT
        while _pending(port) != len(WILL_TM):
            assert time.monotonic() < deadline, f"AO left {_pending(port)} bytes"
            time.sleep(0.01)
        client.sendall(_comport(RESUME))
        recv_until(client, WILL_TM)
