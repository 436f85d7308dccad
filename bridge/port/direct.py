"""The direct path: a port's one client and its device joined by one Python frame each way.

While a port has one client that needs nothing else of it (one writer that
reads, nothing queued, no break sequence, no tail, no session log:
``PortWorker._update_direct_path``), a keystroke costs what the interpreter
spends between two system calls, and every frame on the way counts
(docs/performance.md, "One frame each way"). So on that path the socket's
read callback and the device's are not the transport's and the device's own,
each handing a read on through the session and the worker, but two closures
built here:

* ``socket_readable``: one ``os.read`` of the client's socket and, for a
  plain read, one ``os.write`` to the device (what the device does not take at once
  goes to the port's ``write_device``, which buffers it);
* ``device_readable``: one ``os.read`` of the device and, for a plain read,
  one ``os.write`` to the client's socket (what it does not take goes to the
  transport's ``write``, which buffers it and applies back-pressure).

A plain client read is one the full path would pass to the device unchanged:
raw framing, or Telnet with no IAC, no CR and nothing pending in the engine
(``TelnetConnection.input_plain``); no request waiting before it. A plain
device read has no PARMRK mark to decode. Every other read, end of file,
and every error go to the owner's own code (``ClientSession.data_received``,
the device's ``deliver``, the transport's ``fatal``), exactly as on the full
path; so does output the Telnet engine must encode (IAC doubled, CR NUL,
answers queued ahead of it: RFC 854).

Who owns what (DESIGN.md): the path owns the traffic it carries while it
lasts. It counts it in its own cells (``DirectCounts``): the session and the
worker add ``counts()`` to their own counters when asked, and fold it in when
the path ends. It changes no other object's state; it reads the few that
tell whether a direct write or send may go now, which their owners hand it
(``ClientSession.direct_ends``, ``LeanSocketTransport.direct_socket``,
``FdDevice.direct_ends``).
"""

from __future__ import annotations

from collections.abc import Callable
from os import read as _read, write as _write
from time import monotonic
from typing import TYPE_CHECKING, Any, NamedTuple

from bridge.telnet import CR_CODE, IAC_CODE

if TYPE_CHECKING:
    from bridge.device.fd_device import DeviceEnds
    from bridge.leanloop import DirectSocket
    from bridge.telnet import TelnetConnection

READ_SIZE = 65536   # bytes per read, either side, while data comes in bulk (a pty gives at most 4095)
# ... and while it comes a key or a line at a time: os.read allocates its
# result at the size asked and shrinks it, and up to 479 bytes (with the
# bytes object's own 33) that is pymalloc's, not glibc's malloc, realloc and
# free, which cost more than the rest of a round trip's Python
# (docs/performance.md, "One frame each way"). A read that fills it asks
# for READ_SIZE next time; a short one goes back to it.
SMALL_READ = 479


class DirectCounts(NamedTuple):
    """What a direct path has carried so far."""

    bytes_in: int     # client input passed to the device (the session's bytes_in)
    written: int      # of it, bytes the device took at once (the port's tx_bytes; write_device counts the rest)
    bytes_out: int    # device output passed to the client (the port's rx_bytes and the session's bytes_out)
    input_at: float   # time.monotonic() of the last of that input; 0.0: none yet
    active_at: float  # time.monotonic() of the last byte either way; 0.0: none yet


class ClientEnds(NamedTuple):
    """What the session hands the direct path (``ClientSession.direct_ends``)."""

    full_input: Callable[[bytes], None]      # a read the path cannot pass: ClientSession.data_received
    work: Any                                # the session's waiting requests (truthy: input queues behind them)
    conn: TelnetConnection | None            # the Telnet engine; None for raw framing
    input_plain: Callable[[], bool]          # whether a read with no IAC and no CR may go as it is now


class DirectPath(NamedTuple):
    """The two read callbacks of a direct path, and what it has carried."""

    socket_readable: Callable[[], None]
    device_readable: Callable[[], None]
    counts: Callable[[], DirectCounts]


def open_direct_path(client: ClientEnds, sock: DirectSocket, device: DeviceEnds,
                     write_device: Callable[[bytes], None],
                     history: Callable[[bytes], None] | None) -> DirectPath:
    """Build the closures that join ``client`` (its socket ``sock``) and ``device``.

    Args:
        client: the session's part.
        sock: the client's socket and its transport (the transport's read
            callback is replaced by ``socket_readable`` while the path lasts).
        device: the device's fd and its own handling of what is not plain
            (its read callback is replaced by ``device_readable``).
        write_device: the port's full write (buffering, back-pressure,
            counting, errors) for input the device does not take at once.
        history: the port's ``History.append``, or None when it keeps none.

    Neither closure raises: errors go to the owners' handlers named above.
    """
    # What each closure uses on every read is a variable of its own; what it
    # uses only for a read it cannot pass is reached through its owner's tuple
    # (each variable of a closure costs a reference taken and dropped per call).
    sfd, transport = sock.fd, sock.transport
    fd, pending, marks, overruns = device.fd, device.pending, device.marks, device.overruns
    work, conn = client.work, client.conn
    bytes_in = written = bytes_out = 0
    input_at = active_at = 0.0
    ask_in = ask_out = SMALL_READ   # bytes the next read asks for
    telnet = conn is not None
    plain = client.input_plain()
    encode = conn.encode if conn is not None else None
    queued = conn.output_queue if conn is not None else None   # the engine's own list
    keep = history

    def socket_readable() -> None:
        nonlocal bytes_in, written, input_at, active_at, plain, ask_in
        if transport._conn_lost:
            return
        try:
            data = _read(sfd, ask_in)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            sock.fatal(exc, "Fatal read error on socket transport")
            return
        size = len(data)
        if not size:
            sock.on_eof()
            return
        if size == ask_in:
            ask_in = READ_SIZE
        elif size < SMALL_READ:
            ask_in = SMALL_READ
        if work or (telnet and not (plain and IAC_CODE not in data and CR_CODE not in data)):
            try:
                client.full_input(data)   # the full path, in order behind what waits
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                sock.fatal(exc, "Fatal error: protocol.data_received() call failed.")
                return
            plain = client.input_plain()
            return
        # The write first, the bookkeeping after it: the device gets the key sooner.
        if pending:   # the device's write buffer holds earlier input: behind it
            done = 0
        else:
            try:
                done = _write(fd, data)
            except OSError:   # write_device meets it again and reports it
                done = 0
        bytes_in += size
        written += done
        input_at = active_at = monotonic()
        if done != size:
            write_device(data[done:] if done else data)

    def device_readable() -> None:
        nonlocal bytes_out, active_at, ask_out
        try:
            data = _read(fd, ask_out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            device.read_failed(exc)
            return
        size = len(data)
        if size == ask_out:
            ask_out = READ_SIZE
        elif size < SMALL_READ:
            ask_out = SMALL_READ
        if not size or (marks and (255 in data or device.decoder.pending)):
            device.deliver(data)   # end of file, or marks to decode: the device's own way
            return
        if overruns.enabled:
            device.overrun()
        wire = data
        if encode is not None and (queued or IAC_CODE in data or CR_CODE in data):
            wire = encode(data)   # else it would return the read as it is
        # The send first, the bookkeeping after it: the client gets the output sooner.
        if transport._buffer or transport._conn_lost:
            sock.write(wire)   # behind what waits (or dropped, as on the full path, once closed)
        else:
            try:
                sent = _write(sfd, wire)
            except OSError:   # the transport's write meets it again and handles it
                sent = 0
            if sent != len(wire):
                sock.write(wire[sent:] if sent else wire)
        bytes_out += size
        active_at = monotonic()
        if keep is not None:
            keep(data)

    def counts() -> DirectCounts:
        return DirectCounts(bytes_in, written, bytes_out, input_at, active_at)

    return DirectPath(socket_readable, device_readable, counts)
