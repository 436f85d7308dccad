"""A tty device read and written on its file descriptor, on the event loop.

pyserial opens and configures the port; data never goes through pyserial:

* reading: one ``loop.add_reader`` for the device's life (removed only to
  pause), each readiness one ``os.read(fd, 65536)``; a pty gives at most
  4095 bytes a read, a UART driver what it has. PARMRK marks are decoded on
  the fast path (:mod:`bridge.device.parmrk`); a read without 0xFF is handed
  on as it is. On a port's direct path (bridge.port.direct) the port's
  reader reads the fd instead (``lend_reads``, ``direct_ends``); on the lean
  loop (bridge.leanloop) the read callback runs without a handle.
* writing: ``os.write`` at once; only what the kernel does not take is
  buffered, and ``loop.add_writer`` is registered until the buffer is empty.
* loss: a read error (EIO, ENXIO...), end of file, or a write error reports
  ``device_lost`` once and takes the fd off the loop; nothing is raised into
  the loop.
* a path through a symlink (``/dev/serial/by-id/...``, a udev name) is
  looked at every ``LINK_CHECK_INTERVAL`` seconds: re-pointed at another
  device while the old one is still there (no read error will come), it is
  lost too, so that the port opens what the link names now.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import NamedTuple

import serial

from bridge.device import termio
from bridge.device.backend import DeviceListener, DeviceMissing
from bridge.device.lock import UucpLock
from bridge.device.parmrk import BreakMark, MarkDecoder
from bridge.device.pyserial_device import PyserialDevice
from bridge.device.settings import LineSettings, ModemLines

READ_SIZE = 65536
LINK_CHECK_INTERVAL = 1.0   # seconds between looks at where a symlinked path points


class DeviceEnds(NamedTuple):
    """A tty's part of a port's direct path (``FdDevice.direct_ends``)."""

    fd: int
    pending: bytearray                     # the write buffer: write directly only while it is empty
    deliver: Callable[[bytes], None]       # a read with marks, or b"" (end of file): the device's own way
    read_failed: Callable[[OSError], None]
    marks: bool                            # reads carry PARMRK marks (a UART; never a pty)
    decoder: MarkDecoder                   # read only: .pending, a mark split across reads
    overruns: termio.OverrunWatch          # read only: .enabled
    overrun: Callable[[], None]            # look at the overrun counter and report


class FdDevice(PyserialDevice):
    """A tty opened by pyserial, with data moved on its fd by the event loop."""

    def __init__(self, spec: str, path: str, port: serial.Serial,
                 settings: LineSettings, lock: UucpLock | None, has_modem_lines: bool,
                 *, parmrk: bool = True) -> None:
        """Wrap an open, configured pyserial tty (PARMRK already set when ``parmrk``)."""
        super().__init__(spec, path, port, settings, lock)
        self._parmrk = parmrk
        self.has_modem_lines = has_modem_lines
        assert port.fd is not None
        self._fd: int = port.fd
        self._decoder = MarkDecoder()
        self._buffer = bytearray()
        self._reading = False
        self._paused = False
        self._writing = False
        self._above_low = False
        fd = self._fd
        self._overruns = termio.OverrunWatch(lambda: termio.read_overruns(fd))
        self._target = os.path.realpath(path)   # what the path named when it was opened
        self._link_check: asyncio.TimerHandle | None = None
        self._own_read_ready = self._reader()
        self._read_ready = self._own_read_ready   # or a reader lent with lend_reads

    # -- reading ------------------------------------------------------------

    def start(self, listener: DeviceListener) -> None:
        """Begin delivering reads to ``listener`` (call on the device's loop)."""
        if self._attach(listener):
            self._set_reading(not self._paused)
            if self._target != os.path.abspath(self.path):
                self._link_check = self._loop.call_later(LINK_CHECK_INTERVAL, self._check_link)

    def _check_link(self) -> None:
        """Lose the device when its symlinked path now names another device (or none)."""
        self._link_check = None
        if self._closed or self._lost:
            return
        now = os.path.realpath(self.path)
        if now != self._target:
            where = f"now points to {now}" if os.path.exists(now) else "is gone"
            self._lose(DeviceMissing(f"{self.path} {where} (it was {self._target})"))
            return
        self._link_check = self._loop.call_later(LINK_CHECK_INTERVAL, self._check_link)

    def pause_reading(self) -> None:
        """Stop reading until ``resume_reading``."""
        self._paused = True
        self._set_reading(False)

    def resume_reading(self) -> None:
        """Read again."""
        self._paused = False
        self._set_reading(self._listener is not None)

    def _set_reading(self, on: bool) -> None:
        """Add or remove the fd reader, only when the state changes."""
        on = on and not (self._closed or self._lost)
        if on == self._reading:
            return
        self._reading = on
        if on:
            self._loop.add_reader(self._fd, self._read_ready)
            share = getattr(self._loop, "set_fast_reader", None)
            if share is not None:   # the lean loop calls it without a handle (bridge.leanloop)
                share(self._fd, self._read_ready)
        else:
            self._loop.remove_reader(self._fd)

    def lend_reads(self, reader: Callable[[], None] | None) -> None:
        """Call ``reader()`` when the fd is readable, instead of the device's own
        read callback (None: back to it). ``reader`` does the ``os.read``
        itself and hands to ``direct_ends()``'s ``deliver`` and ``read_failed``
        what it does not handle (the port's direct path, bridge.port.direct).
        Pausing and closing stay the device's; no system call is made."""
        self._read_ready = reader if reader is not None else self._own_read_ready
        if self._reading:
            self._loop.add_reader(self._fd, self._read_ready)   # the same fd: only the callback changes
            share = getattr(self._loop, "set_fast_reader", None)
            if share is not None:
                share(self._fd, self._read_ready)

    def direct_ends(self) -> DeviceEnds:
        """What a reader lent with ``lend_reads`` and a direct writer need: the fd,
        the write buffer (the same bytearray for the device's life; write
        directly only while it is empty), the device's own handling of a read
        with marks or of end of file (``deliver``) and of a read error
        (``read_failed``), whether reads carry PARMRK marks and their decoder,
        and the overrun watch with its report (call ``overrun()`` for each plain
        read while ``overruns.enabled``)."""
        return DeviceEnds(self._fd, self._buffer, self._deliver, self._read_failed, self._parmrk,
                          self._decoder, self._overruns, self._check_overruns)

    def _read_failed(self, exc: OSError) -> None:
        self._lose(DeviceMissing(f"{self.path}: read failed: {exc.strerror or exc}"))

    def _check_overruns(self) -> None:
        """Report an overrun the driver counted since the last look (at most once a second)."""
        if self._overruns.check(time.monotonic()):
            assert self._listener is not None
            self._listener.device_line_error("overrun")

    def _reader(self) -> Callable[[], None]:
        """The fd's read callback, a closure over what it needs (the lean loop
        calls it without a handle): one read, to ``_deliver``."""
        fd = self._fd
        read = os.read
        deliver = self._deliver
        read_failed = self._read_failed

        def read_ready() -> None:
            try:
                data = read(fd, READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                read_failed(exc)
                return
            deliver(data)
        return read_ready

    def _deliver(self, data: bytes) -> None:
        """A read (``b""``: end of file) to the listener: overrun check, marks decoded."""
        if not data:
            self._lose(DeviceMissing(f"{self.path}: the device went away (end of file)"))
            return
        listener = self._listener
        assert listener is not None
        if self._overruns.enabled:
            self._check_overruns()
        if not self._parmrk:
            listener.device_data(data)          # no marks in the data: nothing to decode
            return
        items = self._decoder.feed(data)
        if len(items) == 1 and isinstance(items[0], bytes):
            listener.device_data(items[0])      # the common case: one data run
            return
        for item in items:
            if self._closed or self._lost:
                return                         # the listener closed us meanwhile
            if isinstance(item, bytes):
                listener.device_data(item)
            elif isinstance(item, BreakMark):
                listener.device_break()
            else:
                # The kernel marks parity and framing errors alike: with parity
                # on, a parity error is the likely one.
                listener.device_line_error("parity" if self.settings.parity != "none" else "framing")

    # -- writing ------------------------------------------------------------

    @property
    def write_buffer_size(self) -> int:
        """Bytes accepted by ``write`` and not yet handed to the kernel."""
        return len(self._buffer)

    def write(self, data: bytes) -> None:
        """Write what the kernel takes now; buffer the rest and wait for writability."""
        if self._closed or self._lost or not data:
            return
        if not self._buffer:
            try:
                sent = os.write(self._fd, data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._write_failed(exc)
                return
            if sent == len(data):
                return
            data = data[sent:]
            self._writing = True
            self._loop.add_writer(self._fd, self._on_writable)
        self._buffer += data
        if len(self._buffer) > self._low_water:
            self._above_low = True

    @property
    def _low_water(self) -> int:
        """The buffer size at which ``device_write_drained`` is reported."""
        return self.write_high_water // 4

    def _on_writable(self) -> None:
        """Flush what the kernel takes; report draining below the low-water mark."""
        try:
            sent = os.write(self._fd, self._buffer)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._write_failed(exc)
            return
        del self._buffer[:sent]
        if not self._buffer:
            self._stop_writing()
        if self._above_low and len(self._buffer) <= self._low_water:
            self._above_low = False
            if self._listener is not None:
                self._listener.device_write_drained()

    def _write_failed(self, exc: OSError) -> None:
        """A write error: the device is lost."""
        self._lose(DeviceMissing(f"{self.path}: write failed: {exc.strerror or exc}"))

    def _stop_writing(self) -> None:
        """Remove the fd writer if registered."""
        if self._writing:
            self._writing = False
            self._loop.remove_writer(self._fd)

    # -- hooks ----------------------------------------------------------------

    def _stop_io(self) -> None:
        """Take the fd off the loop; a last, non-blocking flush of the buffer on close."""
        if self._link_check is not None:
            self._link_check.cancel()
            self._link_check = None
        self._set_reading(False)
        self._stop_writing()
        if self._closed and not self._lost and self._buffer:
            try:
                os.write(self._fd, self._buffer)
            except OSError:
                pass
        self._buffer.clear()

    def _read_back(self) -> LineSettings:
        """Re-arm PARMRK (pyserial clears it) and read the settings from the kernel."""
        if self._parmrk:
            termio.enable_parmrk(self._fd)
        return termio.read_line_settings(self._fd)

    def _kernel_view(self) -> Callable[[], LineSettings]:
        """Reads the settings in force from the kernel."""
        fd = self._fd
        return lambda: termio.read_line_settings(fd)

    async def read_modem_lines(self) -> ModemLines | None:
        """The input modem lines with one TIOCMGET (in a thread: on USB it is a round trip)."""
        if not self.has_modem_lines:
            return None
        lines = await self._call(lambda: termio.read_modem_lines(self._fd))
        if lines is None:
            self.has_modem_lines = False
        return lines  # type: ignore[return-value]

    def _close_sync(self, dtr_on_close: str, rts_on_close: str, lost: bool) -> None:
        """Clear TIOCEXCL (a pty keeps it while its master lives), then close."""
        if not lost:
            try:
                termio.clear_exclusive(self._fd)
            except OSError:
                pass
        super()._close_sync(dtr_on_close, rts_on_close, lost)

    def _discard_output(self) -> None:
        """Drop our unwritten buffer (and say it drained, if someone waits for that)."""
        self._stop_writing()
        self._buffer.clear()
        if self._above_low:
            self._above_low = False
            if self._listener is not None:
                self._listener.device_write_drained()

    def _discard_input(self) -> None:
        """Forget a partially received mark."""
        self._decoder = MarkDecoder()
