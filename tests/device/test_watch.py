"""wait_for_device: a device path that appears later, and cancellation."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bridge.device.backend import OpenOptions, open_device, wait_for_device
from bridge.device.settings import LineSettings
from bridge.device.watch import present, wait_present
from tests.device.conftest import Pty
from tests.device.helpers import WAIT, Listener


def test_wait_returns_at_once_for_a_present_path(pty_pair: Pty) -> None:
    """An existing device path needs no waiting."""
    async def main() -> None:
        async with asyncio.timeout(WAIT):
            await wait_for_device(pty_pair.path)
    asyncio.run(main())


def test_wait_returns_when_a_symlink_points_at_a_new_pty(tmp_path: Path, pty_pair: Pty) -> None:
    """A waiter on a missing symlink returns once the link to a pty exists, and the device then opens."""
    link = tmp_path / "ttyUSB0"

    async def main() -> None:
        assert not present(str(link))
        waiter = asyncio.create_task(wait_present(str(link), interval=0.05))
        os.symlink(pty_pair.path, link)
        async with asyncio.timeout(WAIT):
            await waiter
        device = await open_device(str(link), LineSettings(), OpenOptions(lock_dir=str(tmp_path)))
        assert (tmp_path / f"LCK..{pty_pair.path[5:].replace('/', '_')}").exists()
        listener = Listener()
        device.start(listener)
        os.write(pty_pair.master, b"back")
        await listener.wait_for(lambda: listener.data == b"back")
        await device.close()
    asyncio.run(main())


def test_wait_is_cancellable(tmp_path: Path) -> None:
    """A waiter on an absent path keeps waiting, and cancelling it ends it with CancelledError."""
    async def main() -> None:
        waiter = asyncio.create_task(wait_for_device(str(tmp_path / "never")))
        done, _ = await asyncio.wait({waiter}, timeout=0.1)
        assert not done, "the waiter returned for a path that does not exist"
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(WAIT):
                await waiter
    asyncio.run(main())


def test_url_is_always_present() -> None:
    """A pyserial URL never waits: its problems show when it is opened."""
    async def main() -> None:
        async with asyncio.timeout(WAIT):
            await wait_for_device("socket://127.0.0.1:1")
    asyncio.run(main())


def _uevent_file() -> Path:
    """A tty's sysfs uevent file, writable (root, rw /sys), else the test is skipped."""
    try:
        import pyudev  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        pytest.skip("pyudev is not installed (pip install 'serial-bridge[udev]'): the bridge polls instead")
    for candidate in sorted(Path("/sys/class/tty").glob("*/uevent")):
        if os.access(candidate, os.W_OK):
            return candidate
    pytest.skip("no writable /sys/class/tty/*/uevent here (not root, or /sys read-only): "
                "cannot make a tty event to wake the udev monitor")


def test_a_tty_event_wakes_the_waiter_without_polling(tmp_path: Path, pty_pair: Pty) -> None:
    """With pyudev, a tty event (here one the kernel sends for a 'change' written to sysfs) ends the
    wait at once, though the poll interval is a minute."""
    uevent = _uevent_file()
    link = tmp_path / "ttyUSB9"

    async def main() -> None:
        waiter = asyncio.create_task(wait_present(str(link), interval=60))
        await asyncio.sleep(0)   # the waiter runs to its first wait: the monitor is listening
        assert not waiter.done()
        os.symlink(pty_pair.path, link)
        uevent.write_text("change")
        async with asyncio.timeout(WAIT):
            await waiter
    asyncio.run(main())


def test_udev_is_a_declared_extra() -> None:
    """pyudev is the `serial-bridge[udev]` extra, and the test extra brings it for these tests."""
    import tomllib

    data = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    extras = data["project"]["optional-dependencies"]
    assert any(req.startswith("pyudev") for req in extras["udev"])
    assert any(req.startswith("pyudev") or (req.startswith("serial-bridge[") and "udev" in req)
               for req in extras["test"])
