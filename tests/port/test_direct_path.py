"""The direct path (issue 10, the keystroke): while a port has one client that needs nothing
else of it, reads go socket -> device and device -> socket in a frame or two
(PortWorker._update_direct_path, ClientSession.start_direct). These tests check
that it is taken when it may be, left when it must be, and that no byte is lost, doubled or
reordered across the changes, with Telnet commands, end-of-line rules and back-pressure
handled as on the full path.

Real parts: the worker runs on the lean loop (the daemon's default) in a thread, its device
is a pseudo-terminal opened by the real opener, clients are loopback sockets. Every wait is
bounded.
"""

from __future__ import annotations

import asyncio
import os
import random
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import Future
from typing import Any, TypeVar

import pytest

from bridge.config.load import parse_config
from bridge.leanloop import LeanEventLoop, lean_supported
from bridge.port.worker import PortWorker
from tests.integration.helpers import PtyDevice, free_port

pytestmark = pytest.mark.skipif(not lean_supported(), reason="this Python lacks the asyncio internals")

WAIT = 10.0
T = TypeVar("T")


class LivePort:
    """A PortWorker on a pty, served by a LeanEventLoop in a thread."""

    def __init__(self, extra: str = "", mode: str = "raw", loop: str = "lean", history: int = 4096) -> None:
        self.pty = PtyDevice()
        self.listen = free_port()
        text = (f'[bridge]\ncontrol = ""\n[[port]]\nname = "p"\ndevice = "{self.pty.path}"\n'
                f'listen = {self.listen}\nmode = "{mode}"\nlock_files = false\nbanner = false\n'
                f"history = {history}\n{extra}\n")
        self.worker = PortWorker(parse_config(text, "<test>").ports[0])
        self.loop = LeanEventLoop() if loop == "lean" else asyncio.SelectorEventLoop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> LivePort:
        self._thread.start()
        self.run(self.worker.start())
        assert self.worker.first_open is not None
        self.run(asyncio.wait_for(asyncio.shield(self.worker.first_open), WAIT))
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.worker.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(WAIT)
        self.loop.close()
        self.pty.close()

    def run(self, coro: Any) -> Any:
        """Await ``coro`` on the port's loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(WAIT)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the port's loop and return its result."""
        done: Future[T] = Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:   # handed to the test's thread
                done.set_exception(exc)
        self.loop.call_soon_threadsafe(run)
        return done.result(WAIT)

    def direct(self) -> bool:
        return self.call(lambda: self.worker.direct_path)

    def wait_direct(self, on: bool) -> None:
        deadline = time.monotonic() + WAIT
        while self.direct() != on:
            assert time.monotonic() < deadline, f"direct path never turned {'on' if on else 'off'}"
            time.sleep(0.01)

    def client(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.listen), timeout=WAIT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    @contextmanager
    def reading_client(self) -> Iterator[socket.socket]:
        """A client that reads (and drops) all it is sent, in a thread, while the block runs:
        the port's first client, so that it keeps reading the device."""
        sock = self.client()
        stop = threading.Event()

        def drain() -> None:
            sock.settimeout(0.1)
            while not stop.is_set():
                try:
                    if not sock.recv(65536):
                        return
                except socket.timeout:
                    continue
                except OSError:
                    return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            yield sock
        finally:
            stop.set()
            reader.join(WAIT)
            sock.close()


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes from ``sock`` (bounded by WAIT)."""
    out = bytearray()
    deadline = time.monotonic() + WAIT
    while len(out) < size:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(size - len(out))
        assert chunk, f"connection closed after {len(out)} of {size} bytes"
        out += chunk
    return bytes(out)


def recv_until(sock: socket.socket, marker: bytes) -> bytes:
    out = bytearray()
    deadline = time.monotonic() + WAIT
    while marker not in out:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before {marker!r}; got {bytes(out[-200:])!r}"
        out += chunk
    return bytes(out)


@pytest.fixture
def noise() -> bytes:
    """256 KiB of every byte value, in a fixed pseudo-random order."""
    return random.Random(10).randbytes(256 * 1024)


@pytest.mark.parametrize("history", [4096, 0])
def test_one_raw_client_takes_the_direct_path_and_every_byte_passes_both_ways(noise: bytes, history: int) -> None:
    """One writer on a raw port: direct; 256 KiB each way (every byte value) arrive intact and in
    order, and the counters of the port and the session and the history (when kept) say so."""
    with LivePort(history=history) as port:
        client = port.client()
        port.wait_direct(True)
        sender = threading.Thread(target=client.sendall, args=(noise,))
        sender.start()
        assert port.pty.read(len(noise)) == noise
        sender.join(WAIT)
        writer = threading.Thread(target=port.pty.write, args=(noise,))
        writer.start()
        assert recv_exactly(client, len(noise)) == noise
        writer.join(WAIT)
        status = port.call(port.worker.status)
        assert (status.tx_bytes, status.rx_bytes) == (len(noise), len(noise))
        assert (status.sessions[0].bytes_in, status.sessions[0].bytes_out) == (len(noise), len(noise))
        assert port.call(port.worker.history.snapshot) == noise[len(noise) - history:]
        assert port.call(lambda: port.worker.last_activity) is not None
        assert port.direct()
        client.close()
        port.wait_direct(False)


@pytest.mark.parametrize("loop", ["lean", "asyncio"])
def test_a_stop_and_wait_exchange_loses_no_lone_byte(loop: str) -> None:
    """XMODEM's shape (the UAT's sx uploads that hung at their end): a 132-byte block from
    the client, one byte back from the device (ACK, or NAK and the block again), 600 blocks,
    then a lone EOT and its ACK. Every block and every lone byte arrives once and in order,
    and the counters say so; on the lean loop the whole exchange stays on the direct path."""
    ack, nak, eot = b"\x06", b"\x15", b"\x04"
    rng = random.Random(11)
    blocks = [bytes([1, n % 256, 255 - n % 256]) + rng.randbytes(129) for n in range(1, 601)]
    sent = answered = 0
    with LivePort(loop=loop) as port:
        client = port.client()
        if loop == "lean":
            port.wait_direct(True)
        for n, block in enumerate(blocks):
            for answer in ((nak, ack) if n % 50 == 7 else (ack,)):   # now and then a NAK: sent again
                client.sendall(block)
                sent += len(block)
                assert port.pty.read(len(block)) == block, f"block {n + 1}"
                port.pty.write(answer)
                answered += 1
                assert recv_exactly(client, 1) == answer, f"the answer to block {n + 1}"
        client.sendall(eot)
        assert port.pty.read(1) == eot
        port.pty.write(ack)
        assert recv_exactly(client, 1) == ack
        status = port.call(port.worker.status)
        assert (status.tx_bytes, status.rx_bytes) == (sent + 1, answered + 1)
        assert (status.sessions[0].bytes_in, status.sessions[0].bytes_out) == (sent + 1, answered + 1)
        assert port.direct() is (loop == "lean")
        client.close()


def test_a_second_client_ends_it_and_the_first_loses_nothing_meanwhile(noise: bytes) -> None:
    """The device streams while a second client joins (full path: both get the output) and leaves
    (direct again): the first client gets every byte once, in order."""
    with LivePort() as port:
        first = port.client()
        port.wait_direct(True)
        got = bytearray()
        reader = threading.Thread(target=lambda: got.extend(recv_exactly(first, len(noise))))
        reader.start()
        quarter = len(noise) // 4
        port.pty.write(noise[:quarter])
        second = port.client()
        port.wait_direct(False)
        port.pty.write(noise[quarter:2 * quarter])
        recv_exactly(second, 1)   # the second client is served too
        second.close()
        port.wait_direct(True)
        port.pty.write(noise[2 * quarter:])
        reader.join(WAIT)
        assert bytes(got) == noise
        first.close()


def test_telnet_commands_and_end_of_line_rules_hold_on_the_direct_path() -> None:
    """A Telnet port, no BINARY, newline = "cr": an escaped IAC, CR NUL, CR LF and IAC AYT from
    the client, IAC and a bare CR from the device: each as the full path does it, the direct
    path taken again after each command (RFC 854)."""
    with LivePort('newline = "cr"', mode="telnet") as port:
        client = port.client()
        port.wait_direct(True)   # a client that says nothing is a raw one after the opening
        client.sendall(b"ab\xff\xffc")
        assert port.pty.read(4) == b"ab\xffc"
        port.wait_direct(True)
        client.sendall(b"x\r\ny")
        assert port.pty.read(3) == b"x\ry"   # newline = "cr"
        client.sendall(b"p\r")
        assert port.pty.read(2) == b"p\r"     # at once, not held for the NUL that follows
        client.sendall(b"\x00q")
        assert port.pty.read(1) == b"q"       # the NUL of CR NUL dropped
        client.sendall(b"\xff\xf6")           # IAC AYT: answered, nothing to the device
        recv_until(client, b"\r\n")
        port.pty.write(b"o\xffk\r!")
        assert recv_until(client, b"!").endswith(b"o\xff\xffk\r\x00!")   # IAC doubled, CR NUL
        client.sendall(b"z")
        assert port.pty.read(1) == b"z"
        assert port.direct()
        client.close()


def test_a_command_or_cr_nul_split_across_reads_is_decoded_on_the_direct_path() -> None:
    """A read that is plain by itself (no IAC, no CR) but completes an IAC or a CR NUL begun in
    the read before goes through the engine: IAC AYT split after its IAC is answered and never
    reaches the device, the NUL of a split CR NUL is dropped (RFC 854); plain reads around
    them pass as they are."""
    with LivePort(mode="telnet") as port:
        client = port.client()
        port.wait_direct(True)
        client.sendall(b"a\xff")
        port.wait_direct(True)
        assert port.pty.read(1) == b"a"
        client.sendall(b"\xf6b")   # the AYT's second byte, then data
        recv_until(client, b"\r\n")   # the AYT's answer
        assert port.pty.read(1) == b"b"
        client.sendall(b"x\r")
        assert port.pty.read(2) == b"x\r"
        client.sendall(b"\x00y")
        assert port.pty.read(1) == b"y"   # the NUL of CR NUL dropped
        client.sendall(b"z")
        assert port.pty.read(1) == b"z"
        assert port.direct()
        client.close()


def test_what_the_engine_has_queued_goes_out_ahead_of_device_output_on_the_direct_path() -> None:
    """Bytes the engine holds for the client (not yet flushed) go out before the next device
    output, which is not sent around them (the direct path skips the engine only when its
    queue is empty)."""
    with LivePort(mode="telnet") as port:
        client = port.client()
        port.wait_direct(True)
        conn = port.call(lambda: port.worker.sessions[0].conn)
        assert conn is not None
        port.call(lambda: conn.send_data(b"Q"))   # queued, not flushed
        port.pty.write(b"R")
        got = recv_until(client, b"R")
        assert got.endswith(b"QR")
        assert port.direct()
        client.close()


@pytest.mark.parametrize("loop", ["lean", "asyncio"])
@pytest.mark.parametrize("newline", ["cr", "lf"])
def test_a_cr_lf_split_across_reads_still_becomes_the_ports_newline(loop: str, newline: str) -> None:
    """newline = "cr" (UAT) or "lf": Enter as CR LF in two TCP segments: the CR reaches the
    device at once, as the port's newline, and the LF that completes it is dropped when it
    comes; a LF that follows no CR is kept, and so is one after a whole CR LF. Enter as
    CR NUL is the port's newline too. On the direct path (lean loop) and the full path
    (asyncio's loop) alike. (Before, with "lf" a split CR LF reached the device as CR LF,
    and with "cr" a LF after a whole CR LF was dropped.)"""
    eol = b"\r" if newline == "cr" else b"\n"
    with LivePort(f'newline = "{newline}"', mode="telnet", loop=loop) as port:
        client = port.client()
        time.sleep(0.5)   # past the opening: a client that says nothing gets output as a raw one
        client.sendall(b"y\r")
        assert port.pty.read(2) == b"y" + eol    # at once
        client.sendall(b"\nz")
        assert port.pty.read(1) == b"z"      # the split CR LF's LF dropped
        client.sendall(b"\n")
        assert port.pty.read(1) == b"\n"     # a LF after no CR is data
        client.sendall(b"k\r\n\r")
        assert port.pty.read(3) == b"k" + eol + eol
        client.sendall(b"\n\n")
        assert port.pty.read(1) == b"\n"     # one LF completes the CR, the second is data
        client.sendall(b"m\r\n")
        assert port.pty.read(2) == b"m" + eol
        client.sendall(b"\n")
        assert port.pty.read(1) == b"\n"     # a whole CR LF came before: this LF is data
        client.sendall(b"p\r\x00q")
        assert port.pty.read(3) == b"p" + eol + b"q"   # CR NUL
        client.close()


@pytest.mark.parametrize("extra", ['break_sequence = "~b"', "log = \"off\""])
def test_a_break_sequence_keeps_the_full_path(extra: str) -> None:
    """A port that watches for its break sequence reads every key on the full path; a plain one
    (here with its log off) takes the direct path."""
    with LivePort(extra) as port:
        client = port.client()
        client.sendall(b"warm")
        assert port.pty.read(4) == b"warm"
        watched = "break_sequence" in extra
        if not watched:
            port.wait_direct(True)
        assert port.direct() is not watched
        client.close()


def test_a_tail_and_a_watcher_take_the_full_path_while_they_are_there() -> None:
    """A tail (the control API's live output) and a watcher client (access = "first") both need
    every read: the port leaves the direct path while they are there and takes it again after."""
    with LivePort('access = "first"') as port:
        writer = port.client()
        port.wait_direct(True)
        seen: list[bytes] = []
        remove = port.call(lambda: port.worker.add_tail(seen.append))
        assert not port.direct()
        port.pty.write(b"tailed")
        assert recv_exactly(writer, 6) == b"tailed"
        assert port.call(lambda: b"".join(seen)) == b"tailed"   # the tail ran in that same callback
        port.call(remove)
        port.wait_direct(True)
        watcher = port.client()
        port.wait_direct(False)
        port.pty.write(b"both")
        assert recv_exactly(writer, 4) == b"both"
        assert recv_until(watcher, b"both").endswith(b"both")
        watcher.close()
        port.wait_direct(True)
        writer.close()


def test_a_device_that_takes_input_slowly_loses_none_of_it() -> None:
    """1 MiB from the client while the device reads nothing for a while: the pty fills, the
    port buffers and holds the client (the full path's back-pressure, which the direct path
    keeps), and every byte reaches the device in order once it reads."""
    data = random.Random(5).randbytes(1 << 20)
    with LivePort() as port:
        client = port.client()
        port.wait_direct(True)
        sender = threading.Thread(target=client.sendall, args=(data,))
        sender.start()
        time.sleep(0.5)   # the device reads nothing meanwhile
        assert port.call(lambda: port.worker.device is not None and port.worker.device.write_buffer_size > 0)
        assert port.pty.read(len(data), timeout=30) == data
        sender.join(WAIT)
        assert port.call(port.worker.status).tx_bytes == len(data)
        assert port.direct()
        client.close()


def test_a_client_that_stops_reading_leaves_the_direct_path_and_loses_nothing_it_can_hold() -> None:
    """The client stops reading: the port leaves the direct path (its socket is past the
    high-water mark); on a pty the line is held, so once the client reads again it gets all."""
    data = random.Random(6).randbytes(16 << 20)
    with LivePort() as port:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before connect: a small window
        client.settimeout(WAIT)
        client.connect(("127.0.0.1", port.listen))
        port.wait_direct(True)
        writer = threading.Thread(target=_write_all, args=(port.pty.master, data))
        writer.start()
        port.wait_direct(False)
        got = recv_exactly(client, len(data))
        writer.join(WAIT)
        assert got == data
        port.wait_direct(True)
        client.close()


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to a non-blocking fd, waiting while it is full (at most 60 s in all)."""
    view = memoryview(data)
    deadline = time.monotonic() + 60
    while view and time.monotonic() < deadline:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [], 0.5)


def test_a_lost_device_ends_the_direct_path_and_the_client_is_told() -> None:
    """The device goes away while the port relays directly: the client stays and is told, as on
    the full path, and the port waits for the device."""
    with LivePort(mode="telnet") as port:
        client = port.client()
        port.wait_direct(True)
        os.close(port.pty.master)
        port.pty.master = os.open(os.devnull, os.O_RDONLY)   # closed by __exit__, never a reused number
        recv_until(client, b"device disconnected")
        port.wait_direct(False)
        deadline = time.monotonic() + WAIT
        while port.call(lambda: port.worker.state) != "waiting-for-device":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert port.call(lambda: len(port.worker.sessions)) == 1
        client.close()


@pytest.fixture(autouse=True)
def _no_stray_threads() -> Iterator[None]:
    before = threading.active_count()
    yield
    deadline = time.monotonic() + WAIT
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_client_blocked_again_while_its_queue_drains_is_not_read() -> None:
    """A client stops reading while the device floods (its output queued, its input not
    read), then reads a little: the port writes its queue out, the socket fills again at
    once, and its input stays unread (before: reading resumed while its output was blocked)."""
    with LivePort() as port, port.reading_client():
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before connect: a small window
        slow.settimeout(WAIT)
        slow.connect(("127.0.0.1", port.listen))
        deadline = time.monotonic() + WAIT
        while port.call(lambda: len(port.worker.sessions)) < 2:
            assert time.monotonic() < deadline, "the second client never arrived"
            time.sleep(0.01)

        def session() -> Any:
            return port.worker.sessions[1]
        # a small kernel send buffer, so that the transport's own buffer fills
        port.call(lambda: session().transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 4096))
        port.pty.write(b"A" * (1 << 20))
        deadline = time.monotonic() + WAIT
        while not port.call(lambda: port.worker.rx_bytes == 1 << 20 and session().blocked):
            assert time.monotonic() < deadline, "the client's output never queued"
            time.sleep(0.01)
        queued = port.call(lambda: session().pending_output)
        assert not port.call(lambda: session().transport.is_reading())
        deadline = time.monotonic() + WAIT
        while port.call(lambda: session().pending_output) >= queued:   # read until the queue goes out
            assert time.monotonic() < deadline, "the queue never drained"
            slow.recv(16384)
        assert port.call(lambda: session().blocked)
        assert not port.call(lambda: session().transport.is_reading())
        slow.close()


def test_what_the_direct_path_carried_is_counted_once_across_its_end_and_its_return() -> None:
    """The direct path counts what it carries itself (bridge.port.direct): the port's and the
    session's counters include it while it lasts, keep it once it ends (a second client),
    and add the full path's and the next direct path's traffic to it, each byte once."""
    with LivePort(history=0) as port:
        first = port.client()
        port.wait_direct(True)
        first.sendall(b"12345")
        assert port.pty.read(5) == b"12345"
        port.pty.write(b"abc")
        assert recv_exactly(first, 3) == b"abc"

        def totals() -> tuple[int, int, int, int]:
            status = port.worker.status()
            mine = next(s for s in status.sessions if s.id == port.worker.sessions[0].id)
            return status.tx_bytes, status.rx_bytes, mine.bytes_in, mine.bytes_out
        assert port.call(totals) == (5, 3, 5, 3)
        second = port.client()
        port.wait_direct(False)
        assert port.call(totals) == (5, 3, 5, 3)
        first.sendall(b"67")                  # the full path
        assert port.pty.read(2) == b"67"
        port.pty.write(b"de")
        assert recv_exactly(first, 2) == b"de"
        assert recv_exactly(second, 2) == b"de"
        assert port.call(totals) == (7, 5, 7, 5)
        second.close()
        port.wait_direct(True)
        first.sendall(b"8")
        assert port.pty.read(1) == b"8"
        port.pty.write(b"f")
        assert recv_exactly(first, 1) == b"f"
        assert port.call(totals) == (8, 6, 8, 6)
        first.close()


def test_the_last_activity_and_the_idle_timeout_see_direct_path_traffic() -> None:
    """Input on the direct path keeps a client with ``idle_timeout`` connected (the session's
    last_input includes it) and output moves the port's last_activity (Unix time); once
    the client stops typing it is disconnected as on the full path."""
    with LivePort(extra="idle_timeout = 1") as port:
        client = port.client()
        port.wait_direct(True)
        started = time.time()
        for _ in range(8):                    # 1.6 s of typing, one key every 0.2 s
            client.sendall(b"k")
            assert port.pty.read(1) == b"k"
            time.sleep(0.2)
        assert port.direct()                  # still connected, still direct
        port.pty.write(b"!")
        assert recv_exactly(client, 1) == b"!"
        activity = port.call(lambda: port.worker.last_activity)
        assert activity is not None and started + 1.5 <= activity <= time.time()
        assert port.call(lambda: time.monotonic() - port.worker.sessions[0].last_input) < 1.0
        client.settimeout(WAIT)               # no more keys: the idle timeout ends it
        assert client.recv(100) == b""
        assert port.call(lambda: len(port.worker.sessions)) == 0
        client.close()
