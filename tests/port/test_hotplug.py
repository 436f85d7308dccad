"""Unplug and replug on pseudo-terminals with the real device layer: a symlink
re-pointed to a new pty, the old master closed so that the slave errors."""

from __future__ import annotations

import asyncio
import os
import tty
from pathlib import Path

from bridge.config.load import parse_config
from bridge.port.worker import PortWorker
from tests.port.helpers import Client, until

CYCLES = 50


class Pty:
    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(self.master, False)

    async def read(self, n: int) -> bytes:
        out = bytearray()
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        loop.add_reader(self.master, ready.set)
        try:
            async with asyncio.timeout(5):
                while len(out) < n:
                    await ready.wait()
                    ready.clear()
                    try:
                        out += os.read(self.master, n - len(out))
                    except (BlockingIOError, OSError):
                        pass
        finally:
            loop.remove_reader(self.master)
        return bytes(out)

    def close(self) -> None:
        os.close(self.master)


def _config(link: Path) -> object:
    text = (f'[bridge]\ncontrol = ""\n[[port]]\nname = "hp"\ndevice = "{link}"\nlisten = 0\n'
            'lock_files = false\nmode = "telnet"\n')
    return parse_config(text, "<test>").ports[0]


def _point(link: Path, target: str) -> None:
    tmp = link.with_name(link.name + ".new")
    os.symlink(target, tmp)
    os.replace(tmp, link)


def test_port_survives_50_unplug_replug_cycles_with_its_client_connected(tmp_path: Path) -> None:
    """Each unplug is told to the client, each return too, and data is byte-exact after every return."""
    async def scenario() -> None:
        link = tmp_path / "ttyUSB-test"
        pty = Pty()
        _point(link, pty.path)
        worker = PortWorker(_config(link))  # type: ignore[arg-type]
        await worker.start()
        try:
            await until(lambda: worker.state == "up")
            client = Client(worker._bound)
            await client.connect()
            await until(lambda: len(worker.sessions) == 1)
            for cycle in range(CYCLES):
                payload = f"cycle {cycle} \xff".encode("latin-1")
                client.send(payload)
                assert await pty.read(len(payload)) == payload
                os.write(pty.master, b"from device " + payload)
                await client.read_until(b"from device " + payload)
                new = Pty()
                _point(link, new.path)
                pty.close()              # unplug: the bridge's slave gets EIO
                pty = new
                await client.read_until(b"device disconnected")
                await client.read_until(b"device is back")
            await client.close()
        finally:
            await worker.stop()
            pty.close()
    asyncio.run(scenario())


def test_a_device_missing_at_start_is_waited_for_and_opened_when_it_appears(tmp_path: Path) -> None:
    """A port whose device does not exist yet waits, keeps its listener, and opens it once it appears."""
    async def scenario() -> None:
        link = tmp_path / "ttyACM-later"
        worker = PortWorker(_config(link))  # type: ignore[arg-type]
        await worker.start()
        pty = Pty()
        try:
            await until(lambda: worker.state == "waiting-for-device")
            client = Client(worker._bound)
            await client.connect()
            await until(lambda: len(worker.sessions) == 1)
            _point(link, pty.path)
            await client.read_until(b"device is back")
            client.send(b"hello")
            assert await pty.read(5) == b"hello"
            await client.close()
        finally:
            await worker.stop()
            pty.close()
    asyncio.run(scenario())
