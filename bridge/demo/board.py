"""The simulated board on a real pseudo-terminal, run by asyncio.

:class:`SimulatedBoard` opens a pty, runs a :class:`BoardConsole` on its
master side and leaves the slave side (``path``) to whoever wants a serial
device: the bridge, a test, ``screen``, ``picocom``. There is no polling: the
master is read with ``loop.add_reader``, written directly (with
``loop.add_writer`` only while the pty is full), and the boot's timed output
is a single ``loop.call_at`` timer set to the console's next deadline.

The board keeps its own descriptor of the slave open, so the pty never
hangs up when the bridge closes and reopens the device, and what the board
prints while nobody has the device open waits in the pty (until a reader
that flushes its input on open, as pyserial does, discards it: see
``reset``).

Linux only, like the rest of serial-bridge.
"""

from __future__ import annotations

import asyncio
import logging
import os
import termios
import time
import tty
from collections.abc import Callable
from types import TracebackType

from bridge.demo.console import BoardConsole, Phase

__all__ = ["SimulatedBoard"]

log = logging.getLogger(__name__)

BAUD = 115200
READ_SIZE = 4096  # a pty gives at most 4095 bytes a read
OUTPUT_LIMIT = 256 * 1024  # output kept while the pty is full; past it, output is dropped


class SimulatedBoard:
    """A small board's serial console on a pseudo-terminal.

    Args:
        time_scale: multiplies every delay of the boot (0.01 in tests).
        name: the board's host name (prompts, ``uname -n``).
        wall_clock: the date and time of day for ``date`` and ``uptime``.

    Raises:
        ValueError: name is not a host name or time_scale is not positive.

    Use it inside a running event loop::

        board = SimulatedBoard()
        board.start()            # the boot begins
        print(board.path)        # e.g. /dev/pts/7
        ...
        await board.stop()

    or as ``async with SimulatedBoard() as board:``.
    """

    def __init__(self, time_scale: float = 1.0, name: str = "demo-board", *,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._console = BoardConsole(name, time_scale, wall_clock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._master = -1
        self._slave = -1
        self._path: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._pending = bytearray()
        self._dropped = 0
        self._waiters: list[tuple[Phase, asyncio.Future[None]]] = []

    # -- the public interface -------------------------------------------------

    @property
    def path(self) -> str:
        """The serial device to open: the pty slave's name, like ``/dev/pts/7``.

        Raises:
            RuntimeError: the board was not started.
        """
        if self._path is None:
            raise RuntimeError("the simulated board is not started")
        return self._path

    @property
    def name(self) -> str:
        """The board's host name."""
        return self._console.name

    @property
    def phase(self) -> Phase:
        """What the board is doing: booting, at the login prompt, at the shell, ..."""
        return self._console.phase

    @property
    def dropped(self) -> int:
        """Bytes of output dropped because nobody read the device for too long."""
        return self._dropped

    @property
    def running(self) -> bool:
        """True between ``start`` and ``stop``/``close``."""
        return self._master >= 0

    def start(self) -> None:
        """Open the pty (raw mode, 115200 baud) and power the board on.

        Must be called from a coroutine or callback of the running event loop.

        Raises:
            RuntimeError: the board is already started, or no loop is running.
            OSError: no pseudo-terminal could be opened.
        """
        if self.running:
            raise RuntimeError("the simulated board is already started")
        loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        try:
            _make_raw(slave)
            os.set_blocking(master, False)
            path = os.ttyname(slave)
        except OSError:
            os.close(master)
            os.close(slave)
            raise
        self._loop, self._master, self._slave, self._path = loop, master, slave, path
        loop.add_reader(master, self._on_readable)
        log.debug("simulated board %s on %s", self.name, path)
        self._emit(self._console.power_on(loop.time()))

    def reset(self) -> None:
        """Restart the board: the boot begins again, from the firmware banner.

        Useful after a bridge has opened the device (pyserial discards what
        is waiting in the device when it opens it), so a first client sees
        the boot.
        """
        loop = self._require_loop()
        self._emit(self._console.power_on(loop.time()))

    def receive_break(self) -> None:
        """A break on the serial line (a pty cannot carry one, so the bridge calls this)."""
        loop = self._require_loop()
        self._emit(self._console.receive_break(loop.time()))

    async def wait_for_phase(self, phase: Phase) -> None:
        """Wait until the board is in phase (at once if it is already).

        The phase is checked after each output, so a phase the board passes
        through within one output (a late timer printing several steps) is
        not seen.

        Bound it with ``asyncio.timeout``: a board stopped at the firmware
        prompt never reaches the login prompt by itself.

        Raises:
            RuntimeError: the board is not started, or stopped while waiting.
        """
        loop = self._require_loop()
        if self._console.phase is phase:
            return
        waiter: asyncio.Future[None] = loop.create_future()
        entry = (phase, waiter)
        self._waiters.append(entry)
        try:
            await waiter
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    async def stop(self) -> None:
        """Power the board off and close the pty (same as ``close``)."""
        self.close()

    def close(self) -> None:
        """Power the board off and close the pty. Safe to call more than once."""
        if not self.running:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._master)
            self._loop.remove_writer(self._master)
        for fd in (self._master, self._slave):
            os.close(fd)
        self._master = self._slave = -1
        self._pending.clear()
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeError("the simulated board stopped"))
        self._waiters.clear()

    async def __aenter__(self) -> SimulatedBoard:
        self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    # -- the event loop's callbacks -------------------------------------------

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if not self.running or self._loop is None:
            raise RuntimeError("the simulated board is not started")
        return self._loop

    def _on_readable(self) -> None:
        """Bytes typed on the serial line: to the console, its answer back."""
        try:
            data = os.read(self._master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            log.warning("simulated board %s: reading the pty failed: %s", self.name, exc)
            self._require_loop().remove_reader(self._master)
            return
        if data:
            self._emit(self._console.receive_data(data, self._require_loop().time()))

    def _on_timer(self, deadline: float) -> None:
        """The console's next timed output is due."""
        self._timer = None
        # call_at may run a callback up to the clock's resolution early
        now = max(self._require_loop().time(), deadline)
        self._emit(self._console.tick(now))

    def _emit(self, data: bytes) -> None:
        """Print data on the serial line and re-arm the timer for the next deadline."""
        self._write(data)
        loop = self._require_loop()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._console.next_deadline()
        if deadline is not None:
            self._timer = loop.call_at(deadline, self._on_timer, deadline)
        phase = self._console.phase
        for wanted, waiter in self._waiters:
            if wanted is phase and not waiter.done():
                waiter.set_result(None)

    def _write(self, data: bytes) -> None:
        if not data:
            return
        if self._pending:
            self._keep(data)
            return
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            log.warning("simulated board %s: writing the pty failed: %s", self.name, exc)
            return
        if written < len(data):
            self._keep(data[written:])
            self._require_loop().add_writer(self._master, self._on_writable)

    def _keep(self, data: bytes) -> None:
        """Hold output until the pty has room; past OUTPUT_LIMIT, drop and count it."""
        room = OUTPUT_LIMIT - len(self._pending)
        self._pending += data[:room]
        self._dropped += max(0, len(data) - room)

    def _on_writable(self) -> None:
        """The pty has room again: write what was held back."""
        try:
            written = os.write(self._master, self._pending)
        except BlockingIOError:
            return
        except OSError as exc:
            log.warning("simulated board %s: writing the pty failed: %s", self.name, exc)
            written = len(self._pending)
        del self._pending[:written]
        if not self._pending:
            self._require_loop().remove_writer(self._master)


def _make_raw(fd: int) -> None:
    """Raw mode (no echo, no line editing, no CR/LF mapping) at 115200 baud."""
    tty.setraw(fd, termios.TCSANOW)
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = termios.B115200  # ispeed, ospeed
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
