"""Device paths that are not what they seem (issue 13): a directory, a symlink re-pointed under us."""

from __future__ import annotations

import asyncio
import os
import pty
from pathlib import Path

import pytest

from bridge.device.backend import DeviceError, DeviceMissing, OpenOptions, open_device
from bridge.device.settings import LineSettings
from tests.device.helpers import Listener, read_master


def test_a_directory_is_one_clear_line(tmp_path: Path) -> None:
    """Opening a directory: a DeviceError (not "missing", so no waiting for it) saying it once."""
    async def main() -> None:
        with pytest.raises(DeviceError) as caught:
            await open_device(str(tmp_path), LineSettings(), OpenOptions(lock_dir=str(tmp_path)))
        assert not isinstance(caught.value, DeviceMissing)
        assert str(caught.value) == f"{tmp_path} is a directory, not a serial device"
    asyncio.run(main())


def test_a_regular_file_is_not_a_serial_device(tmp_path: Path) -> None:
    """A plain file: one line, the path said once, no errno repeated."""
    plain = tmp_path / "notatty"
    plain.write_bytes(b"")

    async def main() -> None:
        with pytest.raises(DeviceError) as caught:
            await open_device(str(plain), LineSettings(), OpenOptions(lock_dir=str(tmp_path)))
        text = str(caught.value)
        assert text.count(str(plain)) == 1 and "Errno" not in text, text
    asyncio.run(main())


def test_a_symlink_re_pointed_while_the_old_device_remains_is_noticed(tmp_path: Path) -> None:
    """The link moves from pty A to pty B, A still there: the open device is lost, naming the new target."""
    link = str(tmp_path / "ttyBOARD")

    async def main() -> None:
        master_a, slave_a = pty.openpty()
        master_b, slave_b = pty.openpty()
        try:
            os.symlink(os.ttyname(slave_a), link)
            device = await open_device(link, LineSettings(baud=115200), OpenOptions(lock_dir=str(tmp_path)))
            listener = Listener()
            device.start(listener)
            os.set_blocking(master_a, False)
            device.write(b"a")
            assert await read_master(master_a, 1) == b"a"
            os.unlink(link)
            os.symlink(os.ttyname(slave_b), link)       # re-pointed; A is still open and present
            await listener.wait_for(lambda: bool(listener.lost))
            assert isinstance(listener.lost[0], DeviceMissing)
            assert f"now points to {os.ttyname(slave_b)}" in str(listener.lost[0])
            await device.close()
            again = await open_device(link, LineSettings(baud=115200), OpenOptions(lock_dir=str(tmp_path)))
            assert again.path == link
            again.write(b"b")
            os.set_blocking(master_b, False)
            assert await read_master(master_b, 1) == b"b"
            await again.close()
        finally:
            for fd in (master_a, slave_a, master_b, slave_b):
                os.close(fd)
    asyncio.run(main())


def test_a_path_without_symlink_is_not_watched(tmp_path: Path) -> None:
    """A plain /dev/pts/N path costs no timer."""
    async def main() -> None:
        master, slave = pty.openpty()
        try:
            device = await open_device(os.ttyname(slave), LineSettings(), OpenOptions(lock_dir=str(tmp_path)))
            device.start(Listener())
            assert getattr(device, "_link_check") is None
            await device.close()
        finally:
            os.close(master)
            os.close(slave)
    asyncio.run(main())
