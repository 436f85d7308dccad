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
  with one ``recv`` and one ``data_received`` call. Every other protocol
  (TLS's ``SSLProtocol``, streams) reads through asyncio's own code.

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
from asyncio import selector_events
from typing import Any

MAX_TIMEOUT = 24 * 3600.0   # seconds: asyncio's own bound on one poll
READ_SIZE = 65536           # bytes per socket recv: under glibc's mmap threshold, so no mmap per read

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


class LeanSocketTransport(_Base):  # type: ignore[misc]
    """asyncio's TCP transport; reads go straight to ``data_received`` for a
    protocol with ``lean_reads = True``."""

    _lean_sink: Any = None

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        super().set_protocol(protocol)
        self._lean_sink = protocol.data_received if getattr(protocol, "lean_reads", False) else None  # type: ignore[attr-defined]

    def _read_ready(self) -> None:
        sink = self._lean_sink
        if sink is None:
            self._read_ready_cb()
            return
        if self._conn_lost:
            return
        try:
            data = self._sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not data:
            self._read_ready__on_eof()
            return
        try:
            sink(data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")


class LeanEventLoop(asyncio.SelectorEventLoop):
    """``asyncio.SelectorEventLoop`` with a short path for the common iteration."""

    def __init__(self) -> None:
        super().__init__()
        selector: Any = self._selector  # type: ignore[attr-defined]
        self._lean_poll = selector._selector.poll
        self._lean_keys: dict[int, selectors.SelectorKey] = selector._fd_to_key

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
        clock = self.time
        resolution = s._clock_resolution
        remove_reader = s._remove_reader
        remove_writer = s._remove_writer
        ready_queue = s._ready
        readable = ~select.EPOLLOUT   # asyncio's mapping: anything but EPOLLOUT alone wakes the reader,
        writable = ~select.EPOLLIN    # anything but EPOLLIN alone the writer (errors and hang-ups wake both)
        while True:
            timeout = -1.0
            if scheduled:
                head = scheduled[0]
                if head._cancelled or (len(scheduled) > 100
                                       and s._timer_cancelled_count * 2 > len(scheduled)):
                    break
                timeout = head._when - clock()
                if timeout <= resolution:
                    break
                # epoll counts in ms: round up, never wake before the timer is due
                timeout = min(-(-timeout // 0.001) * 0.001, MAX_TIMEOUT)
            try:
                events = poll(timeout, len(keys) or 1)
            except InterruptedError:
                return
            for fd, event in events:
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
