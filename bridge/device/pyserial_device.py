"""What every pyserial-backed device shares: settings, signals, purge, close.

The I/O (reading and writing data) differs between a tty read on its file
descriptor (:mod:`bridge.device.fd_device`) and a pyserial URL read through
the pyserial object in threads (:mod:`bridge.device.url_device`); the control
side is the same and lives here. Every blocking pyserial call runs through
``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import logging
import termios
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import serial

from bridge.device import termio
from bridge.device.backend import DeviceError, DeviceListener
from bridge.device.settings import LineSettings, ModemLines, check_line_setting

if TYPE_CHECKING:
    from bridge.device.lock import UucpLock

log = logging.getLogger(__name__)

DEFAULT_HIGH_WATER = 64 * 1024

PYSERIAL_PARITY = {"none": serial.PARITY_NONE, "even": serial.PARITY_EVEN,
                   "odd": serial.PARITY_ODD, "mark": serial.PARITY_MARK,
                   "space": serial.PARITY_SPACE}
_PARITY_NAME = {letter: name for name, letter in PYSERIAL_PARITY.items()}
_FLOW_FLAGS = {"none": (False, False, False), "xonxoff": (True, False, False),
               "rtscts": (False, True, False), "dsrdtr": (False, False, True)}
_FLOW_ATTRS = ("xonxoff", "rtscts", "dsrdtr")
_FIELDS = ("baud", "bytesize", "parity", "stopbits", "flow")


def _valid(field: str, value: object) -> bool:
    """Whether a value passes the one line-settings validator (bridge.device.settings)."""
    try:
        check_line_setting(field, value)
    except ValueError:
        return False
    return True

# pyserial's posix Serial and its URL handlers share no typed base that has
# every attribute used here (modem lines, buffers, in_waiting).
SerialPort = Any
# Errors pyserial lets through when the device refuses a setting.
SETTING_ERRORS = (ValueError, OSError, termios.error)


def _field_values(field: str, settings: LineSettings) -> dict[str, object]:
    """The pyserial attributes (and values) that carry one LineSettings field."""
    if field == "flow":
        return dict(zip(_FLOW_ATTRS, _FLOW_FLAGS.get(settings.flow, (None,) * 3)))
    if field == "parity":
        return {"parity": PYSERIAL_PARITY.get(settings.parity, settings.parity)}
    name = {"baud": "baudrate", "bytesize": "bytesize", "stopbits": "stopbits"}[field]
    return {name: getattr(settings, field)}


def set_fields(port: SerialPort, old: LineSettings, new: LineSettings,
               read_back: Callable[[], LineSettings] | None = None) -> None:
    """Apply each changed field on its own; a field the port refuses is put back.

    Runs in a worker thread. Order: baud, data size, parity, stop bits, flow.
    A tty does not always say no: Linux's tcsetattr succeeds when any part of
    a request applies and may silently ignore the rest (a pty and CS7). So
    with ``read_back`` (the kernel's view), pyserial's attributes are brought
    back to what is really in force after each field, or its next change
    would carry the refused value along and fail.
    """
    for field in _FIELDS:
        if getattr(old, field) == getattr(new, field):
            continue
        if not _valid(field, getattr(new, field)):
            log.debug("%s: %s=%r is not a valid value; kept %r", port.name, field,
                     getattr(new, field), getattr(old, field))
            continue
        wanted = _field_values(field, new)
        restore: dict[str, object] | None = None
        previous = {name: getattr(port, name) for name in wanted}
        try:
            for name, value in wanted.items():
                setattr(port, name, value)
        except SETTING_ERRORS as exc:
            log.debug("%s: %s=%r not accepted (%s)", port.name, field, getattr(new, field), exc)
            restore = previous
        if read_back is not None:
            actual = read_back()
            if getattr(actual, field) != getattr(new, field):
                restore = _field_values(field, actual)
        for name, value in (restore or {}).items():
            try:
                setattr(port, name, value)
            except SETTING_ERRORS:
                pass   # pyserial keeps the value even when the kernel had nothing to change


def settings_of(port: SerialPort) -> LineSettings:
    """What a pyserial object holds, as LineSettings (for ports without termios)."""
    flow = "none"
    for name, flags in _FLOW_FLAGS.items():
        if flags == (bool(port.xonxoff), bool(port.rtscts), bool(port.dsrdtr)):
            flow = name
    return LineSettings(baud=port.baudrate, bytesize=port.bytesize,
                        parity=_PARITY_NAME.get(port.parity, "none"),
                        stopbits=port.stopbits, flow=flow)


class PyserialDevice:
    """Control side of a device backed by a pyserial object.

    Subclasses provide the data path (``start``, ``write``...) and the
    ``_stop_io`` and ``_after_settings`` hooks.
    """

    def __init__(self, spec: str, path: str, port: SerialPort,
                 settings: LineSettings, lock: UucpLock | None) -> None:
        """Wrap an open pyserial object; ``settings`` is what is in force."""
        self.spec = spec
        self.path = path
        self.settings = settings
        self.has_modem_lines = True
        self.write_high_water = DEFAULT_HIGH_WATER
        self._port = port
        self._lock = lock
        self._loop = asyncio.get_running_loop()
        self._listener: DeviceListener | None = None
        self._closed = False
        self._lost = False
        self._unreported_loss: tuple[BaseException | None] | None = None
        self._break_held = False

    # -- hooks for the data path ------------------------------------------

    def _stop_io(self) -> None:
        """Stop reading and writing (subclasses)."""

    def _read_back(self) -> LineSettings:
        """The settings in force after a change; runs in a worker thread."""
        return settings_of(self._port)


    def _kernel_view(self) -> Callable[[], LineSettings] | None:
        """A reader of the kernel's settings, for ttys (subclasses); None elsewhere."""
        return None

    def _discard_output(self) -> None:
        """Drop buffered, unwritten output (subclasses)."""

    def _discard_input(self) -> None:
        """Drop partially decoded input (subclasses)."""

    def _lose(self, exc: BaseException | None) -> None:
        """Report the loss once, stop I/O; nothing is raised into the loop."""
        if self._lost or self._closed:
            return
        self._lost = True
        self._stop_io()
        log.info("%s lost: %s", self.path, exc)
        if self._listener is not None:
            self._listener.device_lost(exc)
        else:
            self._unreported_loss = (exc,)

    def _attach(self, listener: DeviceListener) -> bool:
        """Set the listener; report a loss that happened before. False if I/O may not start."""
        self._listener = listener
        if self._unreported_loss is not None:
            (exc,) = self._unreported_loss
            self._unreported_loss = None
            listener.device_lost(exc)
        return not (self._closed or self._lost)

    # -- control ----------------------------------------------------------

    async def _call(self, func: Callable[[], object]) -> object:
        """Run a blocking pyserial call in a thread; OSErrors become DeviceError."""
        if self._closed or self._lost:
            raise DeviceError(f"{self.path} is closed")
        try:
            return await asyncio.to_thread(func)
        except (OSError, termios.error) as exc:
            raise DeviceError(f"{self.path}: {_reason(exc)}") from exc

    async def apply_settings(self, settings: LineSettings) -> LineSettings:
        """Apply what the OS accepts; return (and keep) what is really in force."""
        old = self.settings

        def apply() -> LineSettings:
            set_fields(self._port, old, settings, self._kernel_view())
            return self._read_back()

        self.settings = await self._call(apply)  # type: ignore[assignment]
        return self.settings

    async def send_break(self, duration: float) -> None:
        """Hold the break condition for ``duration`` seconds, then release it."""
        await self.set_break(True)
        try:
            await asyncio.sleep(max(0.0, duration))
        finally:
            if not (self._closed or self._lost):
                await self.set_break(False)

    async def set_break(self, on: bool) -> None:
        """Hold or release the break condition (no-op where unsupported)."""
        await self._signal("break_condition", on)
        self._break_held = on

    async def set_dtr(self, on: bool) -> None:
        """Raise or lower DTR; a no-op without modem lines."""
        if self.has_modem_lines:
            await self._signal("dtr", on)

    async def set_rts(self, on: bool) -> None:
        """Raise or lower RTS; a no-op without modem lines."""
        if self.has_modem_lines:
            await self._signal("rts", on)

    async def _signal(self, name: str, on: bool) -> None:
        """Set one pyserial output line; ENOTTY/EINVAL mean the device has none."""
        try:
            await self._call(lambda: setattr(self._port, name, on))
        except DeviceError as exc:
            if not _unsupported(exc.__cause__):
                raise
            if name != "break_condition":
                self.has_modem_lines = False

    async def read_modem_lines(self) -> ModemLines | None:
        """The input modem lines, or None when the device has none."""
        if not self.has_modem_lines:
            return None

        def read() -> ModemLines:
            port = self._port
            return ModemLines(cts=bool(port.cts), dsr=bool(port.dsr), ri=bool(port.ri), cd=bool(port.cd))

        try:
            return await self._call(read)  # type: ignore[return-value]
        except DeviceError as exc:
            if not _unsupported(exc.__cause__):
                raise
            self.has_modem_lines = False
            return None

    async def purge(self, receive: bool, transmit: bool) -> None:
        """Discard buffered input and/or output, ours and the kernel's."""
        if transmit:
            self._discard_output()
            await self._call(self._port.reset_output_buffer)
        if receive:
            self._discard_input()
            await self._call(self._port.reset_input_buffer)

    async def close(self, dtr_on_close: str = "keep", rts_on_close: str = "keep") -> None:
        """Close the device (idempotent), setting DTR/RTS first as asked, and unlock it."""
        if self._closed:
            return
        lost = self._lost
        self._closed = True
        self._stop_io()
        try:
            await asyncio.to_thread(self._close_sync, dtr_on_close, rts_on_close, lost)
        finally:
            if self._lock is not None:
                self._lock.release()

    def _close_sync(self, dtr_on_close: str, rts_on_close: str, lost: bool) -> None:
        """Set the lines and close the pyserial object; runs in a thread, never raises OSError."""
        if not lost and self._break_held:
            try:
                self._port.break_condition = False    # never leave the line in break
            except SETTING_ERRORS:
                pass
        if not lost and self.has_modem_lines:
            for name, state in (("dtr", dtr_on_close), ("rts", rts_on_close)):
                if state in ("on", "off"):
                    try:
                        setattr(self._port, name, state == "on")
                    except SETTING_ERRORS:
                        pass
        try:
            self._port.close()
        except SETTING_ERRORS as exc:
            log.info("%s: close failed: %s", self.path, exc)


def _unsupported(exc: BaseException | None) -> bool:
    """Whether an error means "the device cannot do that" (ENOTTY, EINVAL...)."""
    if isinstance(exc, termios.error):
        return bool(exc.args) and exc.args[0] in termio.UNSUPPORTED
    return isinstance(exc, OSError) and exc.errno in termio.UNSUPPORTED


def _reason(exc: BaseException) -> str:
    """A short one-line reason for an OSError or termios.error."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, termios.error) and len(exc.args) > 1:
        return str(exc.args[1]).lower()
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
