"""Pseudo-terminals as benchmark devices, and the device-side processes.

The benchmark plays the serial device on the pty's master side: the daemon
under test opens the slave path as if it were ``/dev/ttyUSB0``. Each device
role (echo, bulk writer, bulk reader, console streamer) runs in a forked
child process so that it never competes with the client for the GIL; the
children inherit the master fds and report back through pipes.
"""

from __future__ import annotations

import hashlib
import os
import select
import signal
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

CHUNK = 65536
_MP = get_context("fork")


@dataclass
class Pty:
    """One pseudo-terminal: the master (the device's side) and its slave path.

    The slave fd stays open in the benchmark so that the pty survives the
    daemon closing and reopening it; the benchmark never reads it, except
    for the direct-pty floor measurements.
    """

    master: int
    slave: int
    path: str

    @classmethod
    def open(cls) -> Pty:
        """Open a pty with a raw slave (no echo, no CR mapping, no XON/XOFF)."""
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        return cls(master=master, slave=slave, path=os.ttyname(slave))

    def close(self) -> None:
        """Close both ends (idempotent)."""
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self.master = self.slave = -1


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write everything to a blocking fd, in pieces of at most CHUNK bytes."""
    view = memoryview(data)
    while view:
        sent = os.write(fd, view[:CHUNK])
        view = view[sent:]


def read_exact(fd: int, size: int, timeout: float) -> bytes:
    """Read ``size`` bytes from an fd within ``timeout`` seconds (fewer on timeout)."""
    deadline = time.monotonic() + timeout
    out = bytearray()
    while len(out) < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        out += os.read(fd, size - len(out))
    return bytes(out)


def drain(fd: int, quiet: float = 0.05, limit: float = 2.0) -> int:
    """Read and drop whatever arrives until ``quiet`` seconds pass with nothing."""
    dropped = 0
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and select.select([fd], [], [], quiet)[0]:
        try:
            dropped += len(os.read(fd, CHUNK))
        except OSError:
            break
    return dropped


# -- device roles, run in forked children -------------------------------------


def _echo(fd: int) -> None:
    """Echo every read back, forever (the parent terminates us)."""
    while True:
        data = os.read(fd, 4096)
        if not data:
            return
        os.write(fd, data)


def _bulk_write(fd: int, data: bytes, go: Connection) -> None:
    """Wait for the go signal, then write ``data`` as fast as the fd takes it."""
    go.recv()
    write_all(fd, data)
    go.send(time.monotonic())


def _bulk_read(fd: int, size: int, timeout: float, result: Connection) -> None:
    """Read ``size`` bytes, hashing them; send (count, sha256 hex, end time)."""
    digest = hashlib.sha256()
    count = 0
    deadline = time.monotonic() + timeout
    while count < size and time.monotonic() < deadline:
        if not select.select([fd], [], [], 1.0)[0]:
            continue
        data = os.read(fd, CHUNK)
        digest.update(data)
        count += len(data)
    result.send((count, digest.hexdigest(), time.monotonic()))


def _stream(fds: list[int], chunk: bytes, rate: float, seconds: float, report: Connection) -> None:
    """Write ``chunk`` to every fd ``rate`` times a second, spread evenly, for ``seconds``.

    Writes due are caught up after each wake-up, so the long-run rate is exact
    even when the scheduler is late; the count of chunks written per fd is
    sent back at the end.
    """
    report.recv()
    n = len(fds)
    step = 1.0 / (rate * n)
    total = int(rate * seconds) * n
    start = time.monotonic()
    report.send(start)
    done = 0
    while done < total:
        now = time.monotonic()
        due = min(total, int((now - start) / step) + 1)
        while done < due:
            os.write(fds[done % n], chunk)
            done += 1
        wait = start + done * step - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    report.send((time.monotonic(), [total // n] * n))


@dataclass
class Child:
    """A forked device-role process and the parent's end of its pipe."""

    process: BaseProcess
    pipe: Connection
    _done: bool = field(default=False)

    def stop(self) -> None:
        """Terminate (if still running) and reap the child, bounded in time."""
        if self._done:
            return
        self._done = True
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(2.0)
        if self.process.is_alive() and self.process.pid is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.join(2.0)
        self.pipe.close()


def _spawn(target: Callable[..., None], *args: object) -> Child:
    """Fork a child running ``target(*args, child_end)``."""
    parent_end, child_end = _MP.Pipe()
    process = _MP.Process(target=target, args=(*args, child_end), daemon=True)
    process.start()
    child_end.close()
    return Child(process=process, pipe=parent_end)


def start_echo(fd: int) -> Child:
    """A child echoing everything read on ``fd``."""
    process = _MP.Process(target=_echo, args=(fd,), daemon=True)
    process.start()
    parent_end, child_end = _MP.Pipe()
    child_end.close()
    return Child(process=process, pipe=parent_end)


def start_bulk_writer(fd: int, data: bytes) -> Child:
    """A child that writes ``data`` to ``fd`` once sent anything on its pipe."""
    return _spawn(_bulk_write, fd, data)


def start_bulk_reader(fd: int, size: int, timeout: float) -> Child:
    """A child that reads and hashes ``size`` bytes from ``fd``."""
    return _spawn(_bulk_read, fd, size, timeout)


def start_streamer(fds: list[int], chunk: bytes, rate: float, seconds: float) -> Child:
    """A child streaming ``chunk`` at ``rate`` per second to each fd once told to go."""
    return _spawn(_stream, fds, chunk, rate, seconds)
