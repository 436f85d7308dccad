"""A pyserial URL (``loop://``, ``socket://``, ``rfc2217://``, ``spy://``...) as a Device.

These handlers have no file descriptor the loop could watch, so data goes
through the pyserial object's own ``read`` and ``write`` in two threads per
device: a reader that blocks in ``read(1)`` (with a 0.5 s timeout, to notice
``close``) and then takes whatever else is waiting, and a writer fed from a
buffer. Results reach the loop with ``call_soon_threadsafe``.

Cost, written down: a thread switch and a Python call per read and per write
batch, and no PARMRK decoding (no break or line-error reports from the
device). Correct first; plain device paths take the fast path in
:mod:`bridge.device.fd_device`.
"""

from __future__ import annotations

import threading

from bridge.device.backend import DeviceListener, DeviceMissing
from bridge.device.pyserial_device import PyserialDevice, SerialPort
from bridge.device.settings import LineSettings

READ_TIMEOUT = 0.5        # seconds a reader blocks before re-checking for close
MAX_READ = 65536


class UrlDevice(PyserialDevice):
    """A pyserial URL handler, with reads and writes in worker threads."""

    def __init__(self, spec: str, port: SerialPort, settings: LineSettings) -> None:
        """Wrap an open pyserial URL object."""
        super().__init__(spec, spec, port, settings, None)
        # The read timeout is set before the port opens (opener._open_url_sync):
        # set here, on the event loop, rfc2217:// would renegotiate and block.
        self._buffer = bytearray()
        self._cond = threading.Condition()
        self._may_read = threading.Event()
        self._may_read.set()
        self._stopping = threading.Event()
        self._above_low = False
        self._generation = 0           # bumped by a purge, so the writer does not trim new data
        self._threads: list[threading.Thread] = []

    def start(self, listener: DeviceListener) -> None:
        """Start the reader and writer threads, delivering to ``listener``."""
        if not self._attach(listener) or self._threads:
            return
        for target, role in ((self._read_loop, "read"), (self._write_loop, "write")):
            thread = threading.Thread(target=target, name=f"device-{role} {self.path}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def pause_reading(self) -> None:
        """Stop handing data on until ``resume_reading``."""
        self._may_read.clear()

    def resume_reading(self) -> None:
        """Hand data on again."""
        self._may_read.set()

    # -- reader thread --------------------------------------------------------

    def _read_loop(self) -> None:
        """Read until stopped; report data or loss to the loop."""
        port = self._port
        while not self._stopping.is_set():
            if not self._may_read.wait(READ_TIMEOUT):
                continue
            try:
                data = port.read(1)
                if data:
                    waiting = port.in_waiting
                    if waiting:
                        data += port.read(min(waiting, MAX_READ))
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                # pyserial handlers raise these when closed under their feet.
                if not self._stopping.is_set():
                    self._from_thread(self._lose, DeviceMissing(f"{self.path}: read failed: {exc}"))
                return
            if data:
                self._from_thread(self._deliver, data)

    def _deliver(self, data: bytes) -> None:
        """On the loop: hand data to the listener unless closed meanwhile."""
        if not (self._closed or self._lost) and self._listener is not None:
            self._listener.device_data(data)

    def _from_thread(self, func: object, arg: object) -> None:
        """Schedule ``func(arg)`` on the loop; ignore a loop that is gone."""
        try:
            self._loop.call_soon_threadsafe(func, arg)  # type: ignore[arg-type]
        except RuntimeError:
            pass

    # -- writing --------------------------------------------------------------

    @property
    def write_buffer_size(self) -> int:
        """Bytes accepted by ``write`` and not yet written by the writer thread."""
        return len(self._buffer)

    def write(self, data: bytes) -> None:
        """Queue data for the writer thread; never blocks."""
        if self._closed or self._lost or not data:
            return
        with self._cond:
            self._buffer += data
            if len(self._buffer) > self.write_high_water // 4:
                self._above_low = True
            self._cond.notify()

    def _write_loop(self) -> None:
        """Write the buffer as it fills, until stopped."""
        while True:
            with self._cond:
                while not self._buffer and not self._stopping.is_set():
                    self._cond.wait()
                if self._stopping.is_set():
                    return
                chunk = bytes(self._buffer)
                generation = self._generation
            try:
                self._port.write(chunk)
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                if not self._stopping.is_set():
                    self._from_thread(self._lose, DeviceMissing(f"{self.path}: write failed: {exc}"))
                return
            with self._cond:
                if generation == self._generation:    # not purged meanwhile
                    del self._buffer[:len(chunk)]
                drained = self._above_low and len(self._buffer) <= self.write_high_water // 4
                if drained:
                    self._above_low = False
            if drained:
                self._from_thread(self._drained, None)

    def _drained(self, _: object) -> None:
        """On the loop: tell the listener the buffer drained."""
        if not (self._closed or self._lost) and self._listener is not None:
            self._listener.device_write_drained()

    # -- hooks --------------------------------------------------------------

    def _stop_io(self) -> None:
        """Ask both threads to stop (they notice within READ_TIMEOUT)."""
        self._stopping.set()
        self._may_read.set()
        with self._cond:
            self._cond.notify_all()
        cancel = getattr(self._port, "cancel_read", None)
        if cancel is not None:
            try:
                cancel()
            except (OSError, ValueError, AttributeError):
                pass

    def _close_sync(self, dtr_on_close: str, rts_on_close: str, lost: bool) -> None:
        """Let the threads finish, then close the port."""
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(READ_TIMEOUT * 4)
        super()._close_sync(dtr_on_close, rts_on_close, lost)

    def _discard_output(self) -> None:
        """Drop what the writer has not taken yet."""
        with self._cond:
            self._buffer.clear()
            self._generation += 1
