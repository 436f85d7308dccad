"""Unplug and replug at the device level: a symlink re-pointed at fresh ptys, no leaks."""

from __future__ import annotations

import asyncio
import os
import pty
from pathlib import Path

from bridge.device.backend import OpenOptions, open_device, wait_for_device
from bridge.device.settings import LineSettings
from tests.device.helpers import WAIT, Listener, read_master

CYCLES = 20


def _open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def test_twenty_unplug_replug_cycles_keep_data_exact_and_leak_nothing(tmp_path: Path) -> None:
    """Each cycle: wait, open through the link, data both ways, unplug, close; no fd or lock file left."""
    link = str(tmp_path / "ttyBOARD")
    options = OpenOptions(lock_dir=str(tmp_path))

    async def cycle(index: int) -> None:
        waiter = asyncio.create_task(wait_for_device(link))
        master, slave = pty.openpty()
        os.set_blocking(master, False)
        os.symlink(os.ttyname(slave), link)
        os.close(slave)
        async with asyncio.timeout(WAIT):
            await waiter
        device = await open_device(link, LineSettings(baud=115200), options)
        listener = Listener()
        device.start(listener)
        payload = f"boot {index}\r\n".encode() + bytes([0xFF, index])
        os.write(master, payload)
        await listener.wait_for(lambda: len(listener.data) >= len(payload))
        assert bytes(listener.data) == payload
        device.write(b"\xffcmd\r")
        assert await read_master(master, 5) == b"\xffcmd\r"
        os.close(master)            # unplug
        os.unlink(link)
        await listener.wait_for(lambda: bool(listener.lost))
        await device.close()
        assert len(listener.lost) == 1
        assert list(tmp_path.glob("LCK..*")) == []

    async def main() -> None:
        for index in range(CYCLES):
            await cycle(index)

    before = _open_fds()
    asyncio.run(main())
    assert _open_fds() == before
