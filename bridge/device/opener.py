"""Opening a device spec: resolve it, lock it, open it with pyserial, configure it.

Order for a tty path (all blocking work in one ``asyncio.to_thread`` call):

1. the UUCP lock file, before opening, so that a port in use by minicom is
   not disturbed (opening a tty can toggle DTR and reset a board);
2. pyserial ``open`` at the configured baud rate, DTR/RTS per the options
   (``keep`` leaves them as pyserial found them; note that Linux itself raises
   DTR and RTS when a UART is first opened, which no program can prevent);
3. TIOCEXCL, HUPCL, PARMRK;
4. the other line settings one field at a time, so a field the device
   refuses (a pty and data size 7, or parity) stays as it was;
5. the settings read back from the kernel: ``device.settings``.

Any failure releases the lock and closes what was opened.
"""

from __future__ import annotations

import asyncio
import errno
import os
import termios
from collections.abc import Callable
from typing import TypeVar

import serial
from serial import serialposix

from bridge.device import termio
from bridge.device.backend import (
    Device,
    DeviceBusy,
    DeviceError,
    DeviceMissing,
    OpenOptions,
)
from bridge.device.fd_device import FdDevice
from bridge.device.lock import UucpLock
from bridge.device.pyserial_device import SETTING_ERRORS, set_fields, settings_of
from bridge.device.settings import LineSettings
from bridge.device.url_device import READ_TIMEOUT, UrlDevice

_T = TypeVar("_T")
_MISSING_ERRNOS = (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ECONNREFUSED,
                   errno.EHOSTUNREACH, errno.ENETUNREACH)


def is_url(spec: str) -> bool:
    """Whether a spec is a pyserial URL (``scheme://...``)."""
    return "://" in spec


def is_selector(spec: str) -> bool:
    """Whether a spec is a ``usb:`` adapter selector."""
    return spec.startswith("usb:")


def resolve(spec: str) -> str:
    """The path to open for a spec; blocking (a selector lists the adapters).

    Raises:
        DeviceMissing: a selector that matches nothing.
        DeviceError: a malformed or ambiguous selector.
    """
    if not is_selector(spec):
        return spec
    from bridge.device import adapters  # lazily: only usb: specs need it

    try:
        return adapters.resolve_device(spec)
    except adapters.SelectorError as exc:
        nothing = getattr(adapters, "NoAdapterMatches", ())
        if nothing and isinstance(exc, nothing):
            raise DeviceMissing(str(exc)) from None
        raise DeviceError(str(exc)) from None


class _Serial(serial.Serial):
    """pyserial's Serial, able to leave DTR and RTS alone while it opens, and
    whose reads never take an empty buffer for end of file (VMIN 1 after every
    reconfiguration: ``termio.set_read_minimum``)."""

    def __init__(self, keep_dtr: bool, keep_rts: bool) -> None:
        """An unopened port; ``keep_*`` skips pyserial's line update in ``open``."""
        self._keep_dtr = keep_dtr
        self._keep_rts = keep_rts
        super().__init__()

    def open(self) -> None:
        """Open the port; after it, DTR/RTS changes apply normally."""
        try:
            super().open()
        finally:
            self._keep_dtr = self._keep_rts = False

    def _reconfigure_port(self, force_update: bool = False) -> None:
        super()._reconfigure_port(force_update)  # type: ignore[misc]  # missing from pyserial's stubs
        if self.fd is not None:
            termio.set_read_minimum(self.fd)

    def _update_dtr_state(self) -> None:
        if not self._keep_dtr:
            super()._update_dtr_state()  # type: ignore[misc]  # missing from pyserial's stubs

    def _update_rts_state(self) -> None:
        if not self._keep_rts:
            super()._update_rts_state()  # type: ignore[misc]


def _error_for(path: str, exc: BaseException) -> DeviceError:
    """Map an open failure onto DeviceMissing, DeviceBusy or DeviceError (one line)."""
    code = _errno_of(exc)
    if code in _MISSING_ERRNOS:
        return DeviceMissing(f"no such device {path}")
    if code == errno.EISDIR:
        return DeviceError(f"{path} is a directory, not a serial device")
    if code == errno.EBUSY:
        return DeviceBusy(f"{path} is in use by {termio.describe_holders(path)}")
    if code == errno.ENOTTY:
        return DeviceError(f"{path} is not a serial device")
    if code in (errno.EACCES, errno.EPERM):
        return DeviceError(f"permission denied on {path} (is this user in the dialout group?)")
    if code is not None:   # pyserial repeats the errno and the path: say it once
        return DeviceError(f"cannot open {path}: {os.strerror(code)}")
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DeviceError(f"cannot open {path}: {text}")


def _errno_of(exc: BaseException | None) -> int | None:
    """The first errno along an exception's chain (pyserial wraps OSErrors)."""
    seen = 0
    while exc is not None and seen < 5:
        code = getattr(exc, "errno", None)
        if isinstance(code, int):
            return code
        if isinstance(exc, (serial.SerialException, termios.error)) and exc.args \
                and isinstance(exc.args[0], int):
            return exc.args[0]
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _line_flag(state: str, name: str) -> bool:
    """Validate an on/off/keep option; True means "on"."""
    if state not in ("on", "off", "keep"):
        raise DeviceError(f"bad {name} {state!r}: expected on, off or keep")
    return state != "off"


def _open_tty(path: str, settings: LineSettings, options: OpenOptions) -> serial.Serial:
    """Open with pyserial and set TIOCEXCL, HUPCL and PARMRK; blocking."""
    port = _Serial(keep_dtr=options.dtr_on_open == "keep", keep_rts=options.rts_on_open == "keep")
    port.port = path
    port.dtr = _line_flag(options.dtr_on_open, "dtr_on_open")
    port.rts = _line_flag(options.rts_on_open, "rts_on_open")
    try:
        port.baudrate = settings.baud
        port.open()
    except (ValueError, OSError, termios.error) as exc:
        raise _error_for(path, exc) from None
    fd = port.fd
    assert fd is not None
    try:
        if not os.isatty(fd):
            raise DeviceError(f"{path} is not a serial device")
        if options.exclusive:
            termio.set_exclusive(fd)
        termio.set_hupcl(fd, options.hupcl)
        if termio.wants_parmrk(fd, options.parmrk):
            termio.enable_parmrk(fd)
    except BaseException:
        port.close()
        raise
    return port


def open_path_blocking(spec: str, path: str, settings: LineSettings,
                    options: OpenOptions) -> tuple[serial.Serial, LineSettings, bool, UucpLock | None]:
    """Everything blocking about opening a tty path; releases the lock on failure."""
    if not os.path.exists(path):
        raise DeviceMissing(f"no such device {path}")
    if os.path.isdir(path):
        raise DeviceError(f"{path} is a directory, not a serial device")
    lock = UucpLock(path, options.lock_dir) if options.lock_files else None
    if lock is not None:
        lock.acquire()
    try:
        port = _open_tty(path, settings, options)
        fd = port.fd
        assert fd is not None
        try:
            start = LineSettings(baud=settings.baud)
            set_fields(port, start, settings, lambda: termio.read_line_settings(fd))
            if termio.wants_parmrk(fd, options.parmrk):
                termio.enable_parmrk(fd)
            actual = termio.read_line_settings(fd)
            has_lines = termio.read_modem_lines(fd) is not None
        except SETTING_ERRORS as exc:
            port.close()
            raise _error_for(path, exc) from None
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return port, actual, has_lines, lock


def _keep_read_minimum(port: serial.SerialBase) -> None:
    """A URL over a local tty (``spy://``, ``alt://``, ``hwgrep://``): VMIN 1 now
    and after every reconfiguration, as ``_Serial`` does for paths.

    pyserial's read reports an empty read after readiness as "device
    disconnected"; with VMIN 1 it is EAGAIN, which pyserial's read retries.
    """
    if not isinstance(port, serialposix.Serial) or isinstance(port, serialposix.VTIMESerial) \
            or port.fd is None or not os.isatty(port.fd):
        return
    reconfigure = port._reconfigure_port  # type: ignore[attr-defined]

    def reconfigure_keeping_vmin(force_update: bool = False) -> None:
        reconfigure(force_update)
        if port.fd is not None:
            termio.set_read_minimum(port.fd)
    port._reconfigure_port = reconfigure_keeping_vmin  # type: ignore[attr-defined]
    termio.set_read_minimum(port.fd)


def _open_url_sync(spec: str, settings: LineSettings,
                   options: OpenOptions) -> tuple[serial.SerialBase, LineSettings]:
    """Open a pyserial URL and apply the settings it accepts; blocking.

    DTR/RTS ``on``/``off`` are set before opening (the handler applies them);
    ``keep`` leaves the handler's default. Locks, TIOCEXCL and HUPCL do not
    apply to URLs.
    """
    dtr = _line_flag(options.dtr_on_open, "dtr_on_open")
    rts = _line_flag(options.rts_on_open, "rts_on_open")
    try:
        port = serial.serial_for_url(spec, do_not_open=True)
        port.timeout = READ_TIMEOUT   # before open: rfc2217:// renegotiates on every change
        if options.dtr_on_open != "keep":
            port.dtr = dtr
        if options.rts_on_open != "keep":
            port.rts = rts
        port.open()
    except (ValueError, OSError) as exc:
        raise _error_for(spec, exc) from None
    try:
        _keep_read_minimum(port)
        set_fields(port, settings_of(port), settings)
        return port, settings_of(port)
    except BaseException:
        port.close()   # a failed configuration must not leak the connection
        raise


async def open_spec(spec: str, settings: LineSettings, options: OpenOptions) -> Device:
    """Open a path, URL or selector (see :func:`bridge.device.backend.open_device`)."""
    if is_url(spec):
        url_port, url_settings = await _undo_on_cancel(
            lambda: _open_url_sync(spec, settings, options), lambda opened: opened[0].close())
        return UrlDevice(spec, url_port, url_settings)
    path = await asyncio.to_thread(resolve, spec)
    opened = await _undo_on_cancel(lambda: open_path_blocking(spec, path, settings, options),
                                   _close_opened)
    port, actual, has_lines, lock = opened
    assert port.fd is not None
    return FdDevice(spec, path, port, actual, lock, has_lines,
                    parmrk=termio.wants_parmrk(port.fd, options.parmrk))


def _close_opened(opened: tuple[serial.Serial, LineSettings, bool, UucpLock | None]) -> None:
    """Close a port (and unlock it) whose opener was cancelled meanwhile."""
    port, _, _, lock = opened
    port.close()
    if lock is not None:
        lock.release()


async def _undo_on_cancel(func: Callable[[], _T], undo: Callable[[_T], None]) -> _T:
    """Run ``func`` in a thread; if the caller is cancelled, ``undo`` its result when it comes."""
    future = asyncio.ensure_future(asyncio.to_thread(func))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        def finish(done: asyncio.Future[_T]) -> None:
            if not done.cancelled() and done.exception() is None:
                undo(done.result())

        future.add_done_callback(finish)
        raise
