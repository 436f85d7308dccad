"""bridge.leanloop: asyncio's selector loop with a short dispatch keeps asyncio's behaviour
(issue 10, the keystroke path). Real sockets on loopback and socketpairs; every wait is bounded."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.leanloop import LeanEventLoop, LeanSocketTransport, lean_supported

pytestmark = pytest.mark.skipif(not lean_supported(), reason="this Python lacks the asyncio internals")


@pytest.fixture
def loop() -> Iterator[LeanEventLoop]:
    made = LeanEventLoop()
    yield made
    made.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_readers_run_and_call_soon_runs_after_the_polls_callbacks(
        loop: LeanEventLoop, pair: tuple[socket.socket, socket.socket]) -> None:
    """Ready readers of one poll run in turn; what they schedule with call_soon runs after them."""
    a, b = pair
    c, d = socket.socketpair()
    order: list[str] = []

    def on_a() -> None:
        order.append(f"a:{a.recv(10)!r}")
        loop.call_soon(order.append, "soon-from-a")

    def on_c() -> None:
        order.append(f"c:{c.recv(10)!r}")
        loop.stop()

    loop.add_reader(a, on_a)
    loop.add_reader(c, on_c)
    b.send(b"x")
    d.send(b"y")
    loop.call_later(5, loop.stop)   # bound
    loop.run_forever()
    loop.run_until_complete(asyncio.sleep(0))
    assert set(order[:2]) == {"a:b'x'", "c:b'y'"}
    assert order[2] == "soon-from-a"
    c.close()
    d.close()


def test_a_timer_fires_while_a_socket_stays_readable(
        loop: LeanEventLoop, pair: tuple[socket.socket, socket.socket]) -> None:
    """Timers are not starved by a busy fd: a reader that leaves data unread wakes every poll,
    and a call_later still runs when due."""
    a, b = pair
    b.send(b"z" * 100_000)
    reads = 0

    def on_a() -> None:
        nonlocal reads
        reads += 1
        a.recv(1)          # leaves most of it: the fd stays readable

    fired: list[float] = []

    def due() -> None:
        fired.append(loop.time())
        loop.stop()

    loop.add_reader(a, on_a)
    loop.call_later(0.05, due)
    loop.call_later(5, loop.stop)   # bound
    loop.run_forever()
    assert fired and reads > 10


def test_a_timer_past_epolls_largest_timeout_does_not_stop_the_loop(
        loop: LeanEventLoop, pair: tuple[socket.socket, socket.socket]) -> None:
    """A timer past epoll's largest timeout (24.8 days) as the only timer: the loop still polls
    and serves its readers (asyncio's bound of a day per poll instead)."""
    a, b = pair
    got: list[bytes] = []

    def on_a() -> None:
        got.append(a.recv(10))
        loop.stop()

    loop.call_later(40 * 86400, print)   # 40 days, the only timer: the next polls wait for it
    loop.add_reader(a, on_a)
    bound = threading.Timer(5, loop.call_soon_threadsafe, (loop.stop,))
    bound.start()
    threading.Timer(0.1, b.send, (b"x",)).start()   # after the loop's first polls
    try:
        loop.run_forever()
    finally:
        bound.cancel()
    assert got == [b"x"]


def test_a_subclass_with_its_own_clock_has_its_timers_run_by_it() -> None:
    """As asyncio's loop: timers are due by ``loop.time()``, also where a subclass changes it."""

    class ShiftedClock(LeanEventLoop):
        def time(self) -> float:
            return super().time() + 1000.0

    loop = ShiftedClock()
    try:
        fired: list[bool] = []

        def due() -> None:
            fired.append(True)
            loop.stop()

        def give_up() -> None:
            fired.append(False)
            loop.stop()

        loop.call_later(0.05, due)   # 1000 s away by the monotonic clock
        bound = threading.Timer(5, loop.call_soon_threadsafe, (give_up,))
        bound.start()
        try:
            loop.run_forever()
        finally:
            bound.cancel()
        assert fired[:1] == [True]
    finally:
        loop.close()


def test_an_exception_in_a_reader_goes_to_the_exception_handler_and_the_loop_goes_on(
        loop: LeanEventLoop, pair: tuple[socket.socket, socket.socket]) -> None:
    """As Handle._run: the handler gets the exception and the handle; the next callbacks still run."""
    a, b = pair
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context))

    def broken() -> None:
        a.recv(10)
        raise ValueError("boom")

    loop.add_reader(a, broken)
    b.send(b"1")
    loop.call_later(0.05, loop.stop)
    loop.run_forever()
    assert len(seen) == 1
    assert isinstance(seen[0]["exception"], ValueError)
    assert isinstance(seen[0]["handle"], asyncio.Handle)
    b.send(b"2")
    loop.call_later(0.05, loop.stop)
    loop.run_forever()
    assert len(seen) == 2


def test_a_reader_removed_by_an_earlier_callback_of_the_same_poll_does_not_run(
        loop: LeanEventLoop) -> None:
    """remove_reader cancels at once, as asyncio does, even when the fd was already reported ready."""
    pairs = [socket.socketpair() for _ in range(2)]
    ran: list[int] = []

    def make(i: int) -> Any:
        def on_ready() -> None:
            ran.append(i)
            pairs[i][0].recv(10)
            other = pairs[1 - i][0]
            loop.remove_reader(other)   # the other one must not run in this poll or later
            loop.call_soon(loop.stop)
        return on_ready

    for i, (s, peer) in enumerate(pairs):
        s.setblocking(False)
        loop.add_reader(s, make(i))
        peer.send(b"x")
    loop.call_later(5, loop.stop)
    loop.run_forever()
    assert len(ran) == 1
    for s, peer in pairs:
        s.close()
        peer.close()


def test_call_soon_threadsafe_and_signals_wake_the_loop(loop: LeanEventLoop) -> None:
    """The self-pipe is an ordinary reader: a thread's call_soon_threadsafe is run promptly."""
    import threading

    done: list[str] = []

    def from_thread() -> None:
        done.append("x")
        loop.stop()

    threading.Timer(0.02, lambda: loop.call_soon_threadsafe(from_thread)).start()
    loop.call_later(5, loop.stop)
    loop.run_forever()
    assert done == ["x"]


class _LeanReader(asyncio.Protocol):
    lean_reads = True

    def __init__(self) -> None:
        self.data = bytearray()
        self.eof = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> bool | None:
        self.eof = True
        return None


class _Buffered(asyncio.BufferedProtocol):
    def __init__(self) -> None:
        self.buf = bytearray(16)
        self.data = bytearray()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self.buf)

    def buffer_updated(self, nbytes: int) -> None:
        self.data += self.buf[:nbytes]


async def _accept_one(factory: Any) -> tuple[Any, socket.socket]:
    loop = asyncio.get_running_loop()
    made: asyncio.Future[Any] = loop.create_future()

    def make() -> Any:
        proto = factory()
        if not made.done():
            made.set_result(proto)
        return proto

    server = await loop.create_server(make, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    proto = await asyncio.wait_for(made, 5)
    await _until(lambda: proto.transport is not None)   # connection_made comes a loop turn later
    server.close()
    return proto, client


async def _until(check: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_a_lean_reads_protocol_gets_bytes_pauses_and_sees_eof(loop: LeanEventLoop) -> None:
    """Accepted TCP connections get LeanSocketTransport; data_received, pause/resume, write, EOF."""
    async def main() -> None:
        proto, client = await _accept_one(_LeanReader)
        assert isinstance(proto.transport, LeanSocketTransport)
        client.sendall(b"hello")
        await _until(lambda: bytes(proto.data) == b"hello")
        proto.transport.pause_reading()
        client.sendall(b" world")
        await asyncio.sleep(0.05)
        assert bytes(proto.data) == b"hello"
        proto.transport.resume_reading()
        await _until(lambda: bytes(proto.data) == b"hello world")
        proto.transport.write(b"back")
        assert client.recv(10) == b"back"
        client.shutdown(socket.SHUT_WR)
        await _until(lambda: proto.eof)
        client.close()

    loop.run_until_complete(main())


def test_writes_are_sent_at_once_or_buffered_and_drained_in_order(loop: LeanEventLoop) -> None:
    """write: bytes go out at once; what the kernel refuses is buffered, the protocol is paused
    past the high-water mark and resumed, and every byte arrives in order."""
    paused: list[str] = []

    class Writer(_LeanReader):
        def pause_writing(self) -> None:
            paused.append("pause")

        def resume_writing(self) -> None:
            paused.append("resume")

    async def main() -> None:
        proto, client = await _accept_one(Writer)
        assert proto.transport is not None
        proto.transport.write(b"first")
        assert client.recv(10) == b"first"
        block = bytes(range(256)) * 4096            # 1 MiB: more than the socket buffers take
        for _ in range(8):
            proto.transport.write(block)
        proto.transport.write(bytearray(b"tail"))   # not bytes: asyncio's own write
        assert proto.transport.get_write_buffer_size() > 0 and paused == ["pause"]
        received = bytearray()
        client.setblocking(False)
        for _ in range(5000):
            try:
                chunk = client.recv(1 << 20)
            except BlockingIOError:
                await asyncio.sleep(0.001)
                continue
            received += chunk
            if len(received) >= 8 * len(block) + 4:
                break
        assert bytes(received) == block * 8 + b"tail"
        assert paused == ["pause", "resume"]
        client.close()

    loop.run_until_complete(main())


def test_a_buffered_protocol_still_reads_through_asyncios_path(loop: LeanEventLoop) -> None:
    """A protocol without lean_reads is read as asyncio reads it (get_buffer, buffer_updated)."""
    async def main() -> None:
        proto, client = await _accept_one(_Buffered)
        client.sendall(b"x" * 40)   # more than its 16-byte buffer: several reads
        await _until(lambda: len(proto.data) == 40)
        client.close()

    loop.run_until_complete(main())


def test_tls_and_streams_run_on_the_lean_loop(loop: LeanEventLoop, tmp_path: Path) -> None:
    """start_tls over a LeanSocketTransport, through asyncio streams, with the ssl module's client."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                           "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
                          capture_output=True, timeout=60, check=False)
    if made.returncode != 0:
        pytest.skip("openssl cannot make a test certificate here")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))

    async def main() -> None:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"), 10)
        writer.write(b"over tls\n")
        assert await asyncio.wait_for(reader.readline(), 10) == b"over tls\n"
        writer.close()
        server.close()
        await server.wait_closed()

    loop.run_until_complete(main())


def test_a_socket_already_in_a_transport_is_refused(loop: LeanEventLoop) -> None:
    """As asyncio: a second transport on the same socket is an error, not two readers."""
    async def main() -> None:
        proto, client = await _accept_one(_LeanReader)
        assert proto.transport is not None
        sock = proto.transport.get_extra_info("socket")
        with pytest.raises(RuntimeError, match="used by transport"):
            await asyncio.get_running_loop().connect_accepted_socket(_LeanReader, sock._sock)
        client.close()

    loop.run_until_complete(main())


def test_a_fast_reader_stands_for_the_fds_reader_until_that_reader_goes(
        loop: LeanEventLoop, pair: tuple[socket.socket, socket.socket]) -> None:
    """set_fast_reader: an fd that is only readable runs the shortcut instead of its handle;
    it needs a reader, and is forgotten when the reader is removed or replaced (an fd number
    reused by another socket never reaches an old shortcut)."""
    a, b = pair
    ran: list[str] = []

    def drain(tag: str) -> Any:
        def callback() -> None:
            ran.append(tag)
            a.recv(100)
            loop.stop()
        return callback

    assert loop.set_fast_reader(a.fileno(), drain("fast")) is False   # no reader yet
    loop.add_reader(a, drain("handle"))
    assert loop.set_fast_reader(a.fileno(), drain("fast")) is True
    for _ in range(3):
        b.send(b"x")
        loop.call_later(5, loop.stop)   # bound
        loop.run_forever()
    assert ran == ["fast"] * 3
    loop.add_reader(a, drain("new reader"))   # replaced: the shortcut stood for the old one
    b.send(b"x")
    loop.run_forever()
    loop.remove_reader(a)
    loop.add_reader(a, drain("after removal"))
    b.send(b"x")
    loop.run_forever()
    assert ran[3:] == ["new reader", "after removal"]
    loop.remove_reader(a)


def test_an_exception_in_a_fast_reader_goes_to_the_exception_handler(
        loop: LeanEventLoop, pair: tuple[socket.socket, socket.socket]) -> None:
    """A shortcut's exception reaches the loop's exception handler; the loop and the fd go on."""
    a, b = pair
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    calls: list[bytes] = []

    def broken() -> None:
        calls.append(a.recv(10))
        if len(calls) == 1:
            raise ValueError("boom")
        loop.stop()

    loop.add_reader(a, broken)
    loop.set_fast_reader(a.fileno(), broken)
    b.send(b"1")
    loop.call_later(0.2, b.send, b"2")
    loop.call_later(5, loop.stop)
    loop.run_forever()
    assert calls == [b"1", b"2"]
    assert len(seen) == 1 and isinstance(seen[0]["exception"], ValueError)
    loop.remove_reader(a)


def test_a_transports_reads_can_be_lent_and_given_back(loop: LeanEventLoop) -> None:
    """LeanSocketTransport.lend_reads: the lent reader reads the socket (direct_socket's fd),
    then data_received again; end of file still ends the protocol through on_eof; the
    loop's shortcut follows the reader; an os.write to the fd goes out at once."""
    async def main() -> None:
        proto, client = await _accept_one(_LeanReader)
        transport = proto.transport
        fd, _write, on_eof, _fatal, state = transport.direct_socket()
        assert state is transport and fd == transport.get_extra_info("socket").fileno()
        lent: list[bytes] = []

        def reader() -> None:
            data = os.read(fd, 100)
            if data:
                lent.append(data)
            else:
                on_eof()
        assert transport.lend_reads(reader) is True
        assert loop._lean_fast.get(transport._sock_fd) is reader
        client.sendall(b"to the reader")
        await _until(lambda: b"".join(lent) == b"to the reader")
        assert bytes(proto.data) == b""
        assert transport.lend_reads(None) is True
        assert loop._lean_fast.get(transport._sock_fd) is not reader
        client.sendall(b"back")
        await _until(lambda: bytes(proto.data) == b"back")
        assert transport.lend_reads(reader) is True
        assert os.write(fd, b"now") == 3
        assert client.recv(10) == b"now"
        client.shutdown(socket.SHUT_WR)
        await _until(lambda: proto.eof)
        transport.close()
        assert transport._conn_lost   # what the direct path reads before it sends
        client.close()

    loop.run_until_complete(main())


def test_a_protocol_without_lean_reads_cannot_lend_its_reads(loop: LeanEventLoop) -> None:
    """A buffered protocol reads through asyncio's code: lend_reads says no and changes nothing."""
    async def main() -> None:
        proto, client = await _accept_one(_Buffered)
        assert proto.transport.lend_reads(lambda: None) is False
        client.sendall(b"abc")
        await _until(lambda: bytes(proto.data) == b"abc")
        client.close()

    loop.run_until_complete(main())
