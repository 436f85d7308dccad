"""The device layer's public face: errors, the Device interface, open and wait.

The port worker talks to a serial device only through the names here:

* :func:`open_device` opens a spec (a path, a pyserial URL, or a ``usb:``
  selector) and returns a :class:`Device`;
* the device calls back a :class:`DeviceListener` from the event loop;
* :func:`wait_for_device` returns when a missing device is back.

Linux only (termios, PARMRK, TIOCEXCL, UUCP lock files): said once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bridge.device.settings import LineSettings, ModemLines

LINE_STATES = ("on", "off", "keep")


class DeviceError(Exception):
    """A device problem, with a one-line human message."""


class DeviceMissing(DeviceError):
    """The device path is absent, or nothing matches the selector."""


class DeviceBusy(DeviceError):
    """Another program holds the device (lock file or exclusive open)."""


class DeviceListener(Protocol):
    """What a device calls back, always from the event loop's thread."""

    def device_data(self, data: bytes) -> None:
        """Decoded data arrived: PARMRK marks removed, a data 0xFF single."""

    def device_break(self) -> None:
        """A break was received from the device."""

    def device_line_error(self, kind: str) -> None:
        """A line error was received: ``"parity"``, ``"framing"`` or ``"overrun"``."""

    def device_lost(self, exc: BaseException | None) -> None:
        """The device vanished or failed; it is unusable after this (call ``close()``)."""

    def device_write_drained(self) -> None:
        """The write buffer went down to its low-water mark."""


@dataclass(frozen=True, slots=True)
class OpenOptions:
    """How a device is opened.

    Attributes:
        exclusive: set TIOCEXCL after opening (others' opens fail with EBUSY).
        lock_files: honour and create UUCP lock files ``LCK..<name>``.
        lock_dir: where lock files live.
        dtr_on_open: ``"on"``, ``"off"`` or ``"keep"`` (leave DTR alone).
        rts_on_open: ``"on"``, ``"off"`` or ``"keep"``.
        hupcl: set HUPCL, so that the kernel drops DTR on the last close.
        parmrk: read with PARMRK (breaks and line errors marked in the data).
            None, the default, means: on a real serial device, off on a
            pseudo-terminal, which can carry neither a break nor a line error
            and whose input PARMRK moves to the kernel's per-character path.
    """

    exclusive: bool = True
    lock_files: bool = True
    lock_dir: str = "/var/lock"
    dtr_on_open: str = "on"
    rts_on_open: str = "on"
    hupcl: bool = True
    parmrk: bool | None = None


class Device(Protocol):
    """An open serial device, driven from one asyncio event loop.

    Attributes:
        spec: what the user configured (path, URL or selector).
        path: what was opened (the resolved path, or the URL).
        settings: the line settings really in force.
        has_modem_lines: False when the device has no modem lines (a pty).
        write_high_water: above this many buffered bytes the caller should
            stop feeding ``write`` until ``device_write_drained``.
    """

    spec: str
    path: str
    settings: LineSettings
    has_modem_lines: bool
    write_high_water: int

    def start(self, listener: DeviceListener) -> None:
        """Begin delivering reads to ``listener`` on the running loop."""

    def pause_reading(self) -> None:
        """Stop reading from the device until ``resume_reading``."""

    def resume_reading(self) -> None:
        """Read from the device again."""

    def write(self, data: bytes) -> None:
        """Write at once what the kernel takes, buffer the rest; never blocks.

        A write error is reported through ``listener.device_lost``.
        """

    @property
    def write_buffer_size(self) -> int:
        """Bytes accepted by ``write`` and not yet handed to the kernel."""

    async def apply_settings(self, settings: LineSettings) -> LineSettings:
        """Apply what the OS accepts and return what is really in force.

        A field the device refuses (a pty refuses data sizes other than 8 and
        parity) keeps its previous value; that is not an error.
        """

    async def send_break(self, duration: float) -> None:
        """Send a break of ``duration`` seconds."""

    async def set_break(self, on: bool) -> None:
        """Hold (``on``) or release the break condition."""

    async def set_dtr(self, on: bool) -> None:
        """Raise or lower DTR; a no-op on a device without modem lines."""

    async def set_rts(self, on: bool) -> None:
        """Raise or lower RTS; a no-op on a device without modem lines."""

    async def read_modem_lines(self) -> ModemLines | None:
        """The input modem lines, or None when the device has none."""

    async def purge(self, receive: bool, transmit: bool) -> None:
        """Discard buffered input and/or output."""

    async def close(self, dtr_on_close: str = "keep", rts_on_close: str = "keep") -> None:
        """Close the device (idempotent) and remove its lock file."""


async def open_device(spec: str, settings: LineSettings, options: OpenOptions) -> Device:
    """Open and configure a device.

    Args:
        spec: a device path, a pyserial URL (``loop://``, ``socket://``,
            ``rfc2217://``, ``spy://``...) or a ``usb:`` selector.
        settings: the line settings wanted; ``device.settings`` tells what
            the device really took.
        options: how to open it.

    Returns:
        The open device; call ``start(listener)`` to receive data.

    Raises:
        DeviceMissing: the path is absent or the selector matches nothing.
        DeviceBusy: another program holds the device.
        DeviceError: any other failure (one line).
    """
    # Deferred: the implementation modules import this one.
    from bridge.device.opener import open_spec

    return await open_spec(spec, settings, options)


async def wait_for_device(spec: str) -> None:
    """Return when the device path (or selector) is present; cancellable.

    Uses udev events through pyudev when it is importable, else polls about
    once a second.
    """
    from bridge.device.watch import wait_present

    await wait_present(spec)
