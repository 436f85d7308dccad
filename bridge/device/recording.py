"""A recording double of :class:`bridge.device.backend.Device`, for tests.

A pseudo-terminal carries data but cannot carry a break, a line error or
modem lines. ``RecordingDevice`` fills that gap behind the same interface as
the real device, so the code under test (the port worker) is production code:

* every control call is appended, in order, to ``calls`` as a tuple::

      ("start",) ("pause_reading",) ("resume_reading",)
      ("apply_settings", LineSettings) ("send_break", 0.25) ("set_break", True)
      ("set_dtr", False) ("set_rts", True) ("purge", True, False)
      ("close", "keep", "keep")

  (``write`` and ``read_modem_lines`` are not recorded there: writes collect
  in ``written``, and modem-line polls would flood the list);
* data: with ``fd`` (for example a pty's slave fd, the test holding the
  master) reads and writes go through that fd on the event loop, end of
  file or a read error reporting ``device_lost``; without one, written bytes
  collect in ``written`` and ``inject_data`` plays the device;
* the device side: ``inject_break()``, ``inject_line_error(kind)``,
  ``inject_lost(exc)`` and ``modem_lines`` (what ``read_modem_lines`` gives);
* ``refuse`` names LineSettings fields the "device" will not take (say
  ``{"bytesize", "parity"}`` to act like a pty): they keep their value.

``RecordingOpener`` stands in for ``open_device``: it hands out a
``RecordingDevice`` per open and can fail the next opens on demand.

Example::

    opener = RecordingOpener()
    worker = PortWorker(config, opener=opener)    # however the worker takes it
    ...
    device = opener.devices[-1]
    device.inject_break()
    assert ("send_break", 0.25) in device.calls
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import fields, replace

from bridge.device.backend import Device, DeviceListener, DeviceMissing, OpenOptions
from bridge.device.settings import LineSettings, ModemLines

READ_SIZE = 65536
LINE_ERRORS = ("parity", "framing", "overrun")


class RecordingDevice:
    """A Device double that records control calls and plays the device side.

    Attributes:
        calls: every control call, in order, as tuples (see the module doc).
        written: every byte given to ``write``, in order.
        modem_lines: what ``read_modem_lines`` returns (None: no modem lines).
        closed: whether ``close`` was called.
    """

    def __init__(self, spec: str = "recording://", settings: LineSettings | None = None, *,
                 fd: int | None = None, modem_lines: ModemLines | None = None,
                 refuse: Iterable[str] = ()) -> None:
        """Create the double.

        Args:
            spec: the spec it pretends to have opened (also its ``path``).
            settings: the settings in force at start (default ``LineSettings()``).
            fd: a real file descriptor (a pty end) to carry data, or None.
            modem_lines: input lines to report; None means "no modem lines".
            refuse: names of LineSettings fields ``apply_settings`` will not change.
        """
        self.spec = spec
        self.path = spec
        self.settings = settings or LineSettings()
        self.modem_lines = modem_lines
        self.has_modem_lines = modem_lines is not None
        self.write_high_water = 64 * 1024
        self.calls: list[tuple[object, ...]] = []
        self.written = bytearray()
        self.closed = False
        self._refuse = frozenset(refuse)
        self._fd = fd
        self._listener: DeviceListener | None = None
        self._buffer = bytearray()
        self._reading = False
        self._paused = False
        self._lost = False

    # -- device side (the test plays it) --------------------------------------

    def inject_data(self, data: bytes) -> None:
        """Deliver ``data`` to the listener as if the device had sent it."""
        if self._live():
            self._require_listener().device_data(data)

    def inject_break(self) -> None:
        """Deliver a break received from the device."""
        if self._live():
            self._require_listener().device_break()

    def inject_line_error(self, kind: str = "parity") -> None:
        """Deliver a line error: ``"parity"``, ``"framing"`` or ``"overrun"``."""
        if kind not in LINE_ERRORS:
            raise ValueError(f"line error kind must be one of {LINE_ERRORS}, not {kind!r}")
        if self._live():
            self._require_listener().device_line_error(kind)

    def inject_lost(self, exc: BaseException | None = None) -> None:
        """Make the device vanish: ``device_lost(exc)`` once, then it is unusable."""
        if self._lost or self.closed:
            return
        self._lost = True
        self._stop_reading()
        self._require_listener().device_lost(exc)

    # -- the Device interface ---------------------------------------------------

    def start(self, listener: DeviceListener) -> None:
        """Remember the listener and, with an fd, start reading it."""
        self.calls.append(("start",))
        self._listener = listener
        self._update_reader()

    def pause_reading(self) -> None:
        """Stop reading the fd (recorded)."""
        self.calls.append(("pause_reading",))
        self._paused = True
        self._update_reader()

    def resume_reading(self) -> None:
        """Read the fd again (recorded)."""
        self.calls.append(("resume_reading",))
        self._paused = False
        self._update_reader()

    def write(self, data: bytes) -> None:
        """Collect ``data`` in ``written`` and, with an fd, write it there."""
        if not self._live() or not data:
            return
        self.written += data
        if self._fd is None:
            return
        if not self._buffer:
            try:
                sent = os.write(self._fd, data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self.inject_lost(DeviceMissing(f"{self.path}: write failed: {exc.strerror}"))
                return
            if sent == len(data):
                return
            data = data[sent:]
            asyncio.get_running_loop().add_writer(self._fd, self._flush)
        self._buffer += data

    @property
    def write_buffer_size(self) -> int:
        """Bytes waiting for the fd to take them."""
        return len(self._buffer)

    async def apply_settings(self, settings: LineSettings) -> LineSettings:
        """Record the request; take every field not in ``refuse``."""
        self.calls.append(("apply_settings", settings))
        return self.take_settings(settings)

    def take_settings(self, settings: LineSettings) -> LineSettings:
        """Take the fields not in ``refuse`` (not recorded); the settings now in force."""
        taken = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name not in self._refuse}
        self.settings = replace(self.settings, **taken)
        return self.settings

    async def send_break(self, duration: float) -> None:
        """Record a timed break."""
        self.calls.append(("send_break", duration))

    async def set_break(self, on: bool) -> None:
        """Record a break held or released."""
        self.calls.append(("set_break", on))

    async def set_dtr(self, on: bool) -> None:
        """Record a DTR change."""
        self.calls.append(("set_dtr", on))

    async def set_rts(self, on: bool) -> None:
        """Record an RTS change."""
        self.calls.append(("set_rts", on))

    async def read_modem_lines(self) -> ModemLines | None:
        """Return ``modem_lines`` (not recorded)."""
        return self.modem_lines

    async def purge(self, receive: bool, transmit: bool) -> None:
        """Record a purge; a transmit purge drops the unwritten buffer."""
        self.calls.append(("purge", receive, transmit))
        if transmit:
            self._buffer.clear()

    async def close(self, dtr_on_close: str = "keep", rts_on_close: str = "keep") -> None:
        """Record the first close; later ones do nothing. The fd stays the test's."""
        if self.closed:
            return
        self.calls.append(("close", dtr_on_close, rts_on_close))
        self.closed = True
        self._stop_reading()

    # -- internals ----------------------------------------------------------------

    def _live(self) -> bool:
        """Neither closed nor lost."""
        return not (self.closed or self._lost)

    def _require_listener(self) -> DeviceListener:
        """The listener, or a clear error when ``start`` was not called."""
        if self._listener is None:
            raise RuntimeError("RecordingDevice.start(listener) was not called")
        return self._listener

    def _update_reader(self) -> None:
        """Watch the fd while started, not paused, and alive."""
        want = self._fd is not None and self._listener is not None and self._live() and not self._paused
        if want == self._reading:
            return
        self._reading = want
        assert self._fd is not None
        loop = asyncio.get_running_loop()
        if want:
            loop.add_reader(self._fd, self._on_readable)
        else:
            loop.remove_reader(self._fd)

    def _stop_reading(self) -> None:
        """Take the fd off the loop (reader and writer)."""
        self._paused = True
        self._update_reader()
        if self._fd is not None and self._buffer:
            asyncio.get_running_loop().remove_writer(self._fd)
            self._buffer.clear()

    def _on_readable(self) -> None:
        """Read the fd; data to the listener, EOF or an error as a loss."""
        assert self._fd is not None
        try:
            data = os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self.inject_lost(DeviceMissing(f"{self.path}: read failed: {exc.strerror}"))
            return
        if not data:
            self.inject_lost(DeviceMissing(f"{self.path}: the device went away (end of file)"))
            return
        self._require_listener().device_data(data)

    def _flush(self) -> None:
        """Write what the fd takes of the buffer."""
        assert self._fd is not None
        try:
            sent = os.write(self._fd, self._buffer)
        except BlockingIOError:
            return
        except OSError as exc:
            self.inject_lost(DeviceMissing(f"{self.path}: write failed: {exc.strerror}"))
            return
        del self._buffer[:sent]
        if not self._buffer:
            asyncio.get_running_loop().remove_writer(self._fd)
            if self._listener is not None:
                self._listener.device_write_drained()


class RecordingOpener:
    """Stands in for ``open_device``: one RecordingDevice per open, failures on demand.

    Attributes:
        devices: every device handed out, in order.
        opens: every ``(spec, settings, options)`` asked for, in order.
    """

    def __init__(self, **device_kwargs: object) -> None:
        """Keyword arguments are passed to each RecordingDevice (``modem_lines``, ``refuse``...)."""
        self.devices: list[RecordingDevice] = []
        self.opens: list[tuple[str, LineSettings, OpenOptions]] = []
        self._failures: list[BaseException] = []
        self._device_kwargs = device_kwargs

    def fail_next(self, *errors: BaseException) -> None:
        """Make the next opens raise these errors, one per open, in order."""
        self._failures.extend(errors)

    async def __call__(self, spec: str, settings: LineSettings, options: OpenOptions) -> Device:
        """Open: raise the next queued failure, or hand out a new RecordingDevice."""
        self.opens.append((spec, settings, options))
        if self._failures:
            raise self._failures.pop(0)
        device = RecordingDevice(spec, **self._device_kwargs)  # type: ignore[arg-type]
        device.take_settings(settings)
        self.devices.append(device)
        return device
