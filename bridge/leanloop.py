"""asyncio's selector event loop with a shorter path from a ready fd to its callback.

A keystroke through the bridge is two wake-ups of the daemon (the socket is
readable, then the device is), and on asyncio's loop each wake-up runs
``_run_once`` in full: timer upkeep, ``selectors.EpollSelector.select``
building a list of ``(key, events)``, ``_process_events`` appending a handle
per ready fd to the ready queue, then a second pass running that queue. For
one or two ready fds that bookkeeping costs more than the work itself
(docs/performance.md, "Keystroke round trip"). The socket transport adds
three Python frames of its own per read (``_read_ready`` ->
``_read_ready__get_buffer`` -> ``get_buffer`` -> ``buffer_updated``).

``LeanEventLoop`` is ``asyncio.SelectorEventLoop`` (the standard library's,
not a new loop) with two changes, both falling back to the inherited code
whenever anything but the common case is in front of them:

* ``_run_once``: when no callback is ready, the loop is not stopping, not in
  debug mode and no timer is due, it calls ``epoll.poll`` itself and runs
  each ready fd's reader and writer handle at once (``Handle._run``, so the
  context, the exception handler and cancellation behave as before). In
  every other case the inherited ``_run_once`` runs. The order of callbacks
  is asyncio's: I/O callbacks of one poll in fd order, reader before writer,
  and what they schedule with ``call_soon`` on the next iteration.
* accepted and connected TCP sockets get ``LeanSocketTransport``, asyncio's
  socket transport whose read callback hands a protocol that declares
  ``lean_reads = True`` (``bridge.port.session.ClientSession``) its bytes
  with one ``recv`` and one ``data_received`` call (on a port's direct
  path, the reader lent with ``lend_reads`` does the ``recv``). Every other
  protocol (TLS's ``SSLProtocol``, streams) reads through asyncio's own code.
* ``set_fast_reader``: the transport and the tty device (bridge.device.fd_device)
  register their read callback, and the lean iteration calls it directly,
  without a ``Handle`` or ``Context.run``, when a poll reports the fd only
  readable. The shortcut is dropped whenever the fd's reader is removed or
  replaced, and everything else (errors, hang-ups, the inherited iteration)
  runs the handle as before.

The private attributes this relies on (``_selector._fd_to_key``,
``_scheduled``, ``_ready``, ``_read_ready__on_eof`` ...) exist in CPython 3.11
to 3.13; where they do not, ``lean_supported()`` is false and ``serve`` uses
the standard loop unchanged. The whole test suite runs on this loop (the
daemon's default); ``serve --loop asyncio`` is the standard one.
"""

from __future__ import annotations

import asyncio
import select
import selectors
import socket
import time
from asyncio import selector_events
from collections.abc import Callable
from typing import Any, NamedTuple

MAX_TIMEOUT = 24 * 3600.0   # seconds: asyncio's own bound on one poll
READ_SIZE = 65536           # bytes per socket recv: under glibc's mmap threshold, so no mmap per read
# fds reported by one poll at most; more are reported by the next (the epoll is
# level-triggered). 32 keeps epoll.poll's event array (12 bytes an event on
# x86-64, 16 elsewhere) within pymalloc's 512 bytes, so a wake-up costs no
# glibc malloc and free (docs/performance.md).
MAX_EVENTS = 32

_Base: Any = getattr(selector_events, "_SelectorSocketTransport", None)


def lean_supported() -> bool:
    """Whether this Python's asyncio has the internals the lean loop uses."""
    if _Base is None or not all(hasattr(_Base, name) for name in
                                ("_read_ready", "_read_ready__on_eof", "_fatal_error", "set_protocol")):
        return False
    loop = asyncio.SelectorEventLoop()
    try:
        sel = getattr(loop, "_selector", None)
        return (isinstance(sel, selectors.EpollSelector) and hasattr(sel, "_fd_to_key")
                and hasattr(sel, "_selector") and hasattr(loop, "_scheduled")
                and hasattr(loop, "_ready") and hasattr(loop, "_run_once")
                and hasattr(loop, "_clock_resolution") and hasattr(loop, "_timer_cancelled_count")
                and hasattr(loop, "_make_socket_transport"))
    finally:
        loop.close()


class DirectSocket(NamedTuple):
    """A client socket's part of a port's direct path (``LeanSocketTransport.direct_socket``)."""

    fd: int                                   # the socket's: os.read and os.write
    write: Callable[[bytes], None]            # the transport's: buffers what os.write did not take
    on_eof: Callable[[], None]                # the peer closed its side
    fatal: Callable[[BaseException, str], None]   # a read error: the transport closes, the protocol is told
    transport: Any                            # read only: _conn_lost, _buffer


class LeanSocketTransport(_Base):  # type: ignore[misc]
    """asyncio's TCP transport; for a protocol with ``lean_reads = True``, reads
    go straight to ``data_received`` (or a reader lent with ``lend_reads`` reads
    them), by a callback the lean loop runs without a handle."""

    _lean_read: Callable[[], None] | None = None
    _lean_ready = False   # asyncio's __init__ has run (it calls set_protocol half-way)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lean_ready = True

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        super().set_protocol(protocol)
        sink = protocol.data_received if getattr(protocol, "lean_reads", False) else None  # type: ignore[attr-defined]
        self._lean_read = self._reader_for(sink)
        self._share_reader()

    def lend_reads(self, reader: Callable[[], None] | None) -> bool:
        """Call ``reader()`` when the socket is readable, instead of this transport's
        own read callback (None: back to it). ``reader`` does the ``recv`` itself
        and handles what it reads, end of file and errors as the transport would
        (the port's direct path, bridge.port.direct, with ``direct_socket``).
        Pausing, closing and writing stay the transport's. Returns False,
        changing nothing, for a protocol without ``lean_reads`` (its reads go
        through asyncio's code)."""
        if self._lean_read is None:
            return False
        self._lean_read = reader if reader is not None else self._reader_for(self._protocol.data_received)
        self._share_reader()
        return True

    def direct_socket(self) -> DirectSocket:
        """What a reader lent with ``lend_reads`` needs: the socket's fd (read and
        written with ``os.read``/``os.write``, which parse their arguments
        faster than ``recv``/``send``; the same system calls without flags), and
        this transport's ``write``, end-of-file and fatal-error handlers. It
        may also read ``_conn_lost`` (the connection is closing or gone: read
        nothing, send nothing) and ``_buffer`` (bytes wait to be sent: pass
        more to ``write``, behind them); it sets nothing."""
        return DirectSocket(self._sock_fd, self.write, self._read_ready__on_eof, self._fatal_error, self)

    def _add_reader(self, fd: int, callback: Any, *args: Any) -> None:
        super()._add_reader(fd, callback, *args)
        self._share_reader()

    def _share_reader(self) -> None:
        """Let a lean loop call the read callback without its handle (``set_fast_reader``),
        or stop it when reads go through asyncio's code."""
        share = getattr(self._loop, "set_fast_reader", None)
        if share is not None and self._lean_ready:
            read = self._lean_read
            share(self._sock_fd, read if read is not None and self.is_reading() else None)

    def _read_ready(self) -> None:
        read = self._lean_read
        if read is None:
            self._read_ready_cb()
        else:
            read()

    def _reader_for(self, sink: Callable[[bytes], object] | None) -> Callable[[], None] | None:
        """The read callback: one ``recv``, its bytes to ``sink``; a closure
        over what it needs, which the lean loop calls without a handle."""
        if sink is None:
            return None
        recv = self._sock.recv
        on_eof = self._read_ready__on_eof
        fatal = self._fatal_error
        transport = self

        def read_ready() -> None:
            if transport._conn_lost:
                return
            try:
                data = recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                fatal(exc, "Fatal read error on socket transport")
                return
            if not data:
                on_eof()
                return
            try:
                sink(data)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                fatal(exc, "Fatal error: protocol.data_received() call failed.")
        return read_ready


class LeanEventLoop(asyncio.SelectorEventLoop):
    """``asyncio.SelectorEventLoop`` with a short path for the common iteration."""

    def __init__(self) -> None:
        # fd -> a callback equivalent to its reader handle's, called without
        # the handle when the fd is only readable (set_fast_reader).
        self._lean_fast: dict[int, Callable[[], object]] = {}
        super().__init__()
        selector: Any = self._selector  # type: ignore[attr-defined]
        self._lean_poll = selector._selector.poll
        self._lean_keys: dict[int, selectors.SelectorKey] = selector._fd_to_key

    def set_fast_reader(self, fd: int, callback: Callable[[], object] | None) -> bool:
        """Call ``callback()`` instead of ``fd``'s reader handle when a poll finds ``fd``
        only readable (None: stop).

        ``callback`` must do what the reader registered with ``add_reader``
        does (the transport's or the device's own read callback); it
        runs in the loop's context, not the handle's, and its exceptions go to
        the exception handler. Any other event on the fd, and every iteration
        of asyncio's own ``_run_once``, runs the reader handle as before. The
        entry is forgotten when the fd's reader is removed or replaced, so it
        never outlives the reader it stands for. Returns False, changing
        nothing, when ``fd`` has no reader.
        """
        if callback is None:
            self._lean_fast.pop(fd, None)
            return True
        key = self._lean_keys.get(fd)
        if key is None or key.data[0] is None:
            return False
        self._lean_fast[fd] = callback
        return True

    def _add_reader(self, fd: Any, callback: Any, *args: Any) -> Any:
        if self._lean_fast:   # a new reader: the shortcut stood for the old one
            self._lean_fast.pop(fd if isinstance(fd, int) else fd.fileno(), None)
        return super()._add_reader(fd, callback, *args)  # type: ignore[misc]

    def _remove_reader(self, fd: Any) -> bool:
        if self._lean_fast:
            self._lean_fast.pop(fd if isinstance(fd, int) else fd.fileno(), None)
        return bool(super()._remove_reader(fd))  # type: ignore[misc]

    def _make_socket_transport(self, sock: socket.socket, protocol: asyncio.BaseProtocol,
                               waiter: Any = None, *, extra: Any = None, server: Any = None) -> Any:
        ensure = getattr(self, "_ensure_fd_no_transport", None)
        if ensure is not None:
            ensure(sock)   # asyncio's own check: one transport per fd
        return LeanSocketTransport(self, sock, protocol, waiter, extra, server)

    def _run_once(self) -> None:
        s: Any = self
        if s._ready or s._stopping or s._debug:
            super()._run_once()  # type: ignore[misc]
            return
        # The lean iterations: poll, run the ready fds' callbacks, and poll
        # again, for as long as nothing else needs the inherited iteration
        # (a callback made ready, a timer due, stop() called).
        keys = self._lean_keys
        poll = self._lean_poll
        scheduled = s._scheduled
        # asyncio's own clock, without the method's frame, unless a subclass has its own
        clock = time.monotonic if type(self).time is asyncio.BaseEventLoop.time else self.time
        resolution = s._clock_resolution
        remove_reader = s._remove_reader
        remove_writer = s._remove_writer
        ready_queue = s._ready
        fast_get = self._lean_fast.get
        only_readable = select.EPOLLIN
        readable = ~select.EPOLLOUT   # asyncio's mapping: anything but EPOLLOUT alone wakes the reader,
        writable = ~select.EPOLLIN    # anything but EPOLLIN alone the writer (errors and hang-ups wake both)
        while True:
            timeout = None   # no timer: wait for I/O (None, not -1.0: epoll.poll converts no float)
            if scheduled:
                head = scheduled[0]
                if head._cancelled or (s._timer_cancelled_count > 50   # asyncio's clean-up: over 100
                                       and len(scheduled) > 100         # timers, half of them cancelled
                                       and s._timer_cancelled_count * 2 > len(scheduled)):
                    break
                timeout = head._when - clock()   # epoll.poll rounds it up to whole ms: never early
                if timeout <= resolution:
                    break
            try:
                events = poll(timeout, MAX_EVENTS)
            except InterruptedError:
                return
            except OverflowError:   # a timer over epoll's 24.8 days away: asyncio's bound instead
                events = poll(MAX_TIMEOUT, MAX_EVENTS)
            for fd, event in events:
                if event == only_readable:
                    fast = fast_get(fd)
                    if fast is not None:
                        try:
                            fast()
                        except (SystemExit, KeyboardInterrupt):
                            raise
                        except BaseException as exc:
                            self.call_exception_handler({"message": f"Exception in callback {fast!r}",
                                                         "exception": exc})
                        continue
                key = keys.get(fd)
                if key is None:
                    continue
                reader, writer = key.data
                if reader is not None and event & readable:
                    if reader._cancelled:
                        remove_reader(fd)
                    else:
                        try:   # Handle._run, inline
                            reader._context.run(reader._callback, *reader._args)
                        except (SystemExit, KeyboardInterrupt):
                            raise
                        except BaseException as exc:
                            _report(reader, exc)
                if writer is not None and event & writable:
                    if writer._cancelled:
                        remove_writer(fd)
                    else:
                        try:
                            writer._context.run(writer._callback, *writer._args)
                        except (SystemExit, KeyboardInterrupt):
                            raise
                        except BaseException as exc:
                            _report(writer, exc)
            if ready_queue or s._stopping:
                return
        super()._run_once()  # type: ignore[misc]


def _report(handle: Any, exc: BaseException) -> None:
    """What ``Handle._run`` does with a callback's exception: the loop's exception handler."""
    handle._loop.call_exception_handler({"message": f"Exception in callback {handle._callback!r}",
                                         "exception": exc, "handle": handle})
