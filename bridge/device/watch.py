"""Waiting for a device to come back, at no cost while it is away.

With pyudev (the ``serial-bridge[udev]`` extra), a netlink monitor on the
``tty`` subsystem wakes the waiter on every event (its socket is watched by
the event loop); the spec is then checked again. The monitor listens to
udevd's events when udevd runs (they come after udev has made its symlinks,
``/dev/serial/by-id/...``), else to the kernel's. Without pyudev, the check
runs about once a second. Never a busy loop; the wait is cancellable.

A pyserial URL is always "present": its failures show when it is opened.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from bridge.device.backend import DeviceError
from bridge.device.opener import is_selector, is_url, resolve

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0


def present(spec: str) -> bool:
    """Whether a spec can be opened now (path exists, selector matches); blocking."""
    if is_url(spec):
        return True
    if is_selector(spec):
        try:
            resolve(spec)
        except DeviceError:
            return False
        return True
    return os.path.exists(spec)


async def _present(spec: str) -> bool:
    """``present``, in a thread only for selectors (listing adapters can block)."""
    if is_selector(spec):
        return await asyncio.to_thread(present, spec)
    return present(spec)


UDEVD_CONTROL = "/run/udev/control"   # present while udevd runs


def _udev_monitor() -> Any | None:
    """A started pyudev monitor on tty events, or None without pyudev (or netlink)."""
    try:
        import pyudev  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return None
    source = "udev" if os.path.exists(UDEVD_CONTROL) else "kernel"
    try:
        monitor = pyudev.Monitor.from_netlink(pyudev.Context(), source=source)
        monitor.filter_by(subsystem="tty")
        monitor.start()
    except (OSError, ValueError, RuntimeError) as exc:
        log.info("udev monitor unavailable, polling instead: %s", exc)
        return None
    return monitor


async def wait_present(spec: str, interval: float = POLL_INTERVAL) -> None:
    """Return when ``spec`` is present.

    Args:
        spec: a path, URL or ``usb:`` selector.
        interval: seconds between checks when there are no udev events (and
            the longest wait between checks even with them).
    """
    loop = asyncio.get_running_loop()
    if await _present(spec):
        return
    monitor = _udev_monitor()
    wake = asyncio.Event()
    if monitor is not None:
        def drain() -> None:
            while monitor.poll(timeout=0) is not None:
                pass
            wake.set()

        loop.add_reader(monitor.fileno(), drain)
    try:
        while not await _present(spec):
            wake.clear()
            try:
                async with asyncio.timeout(interval):
                    await wake.wait()
            except TimeoutError:
                pass
    finally:
        if monitor is not None:
            loop.remove_reader(monitor.fileno())
