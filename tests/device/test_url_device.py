"""pyserial URLs through the Device interface: loop:// and socket:// on loopback."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from bridge.device.backend import DeviceError, DeviceMissing, OpenOptions, open_device
from bridge.device.settings import LineSettings
from bridge.device.url_device import UrlDevice
from tests.device.conftest import Pty
from tests.device.helpers import WAIT, Listener


def test_loop_url_echoes_writes_back_as_data() -> None:
    """Bytes written to loop:// come back through device_data, byte-exact."""
    async def main() -> None:
        device = await open_device("loop://", LineSettings(baud=115200), OpenOptions())
        listener = Listener()
        device.start(listener)
        payload = bytes(range(256)) * 64
        device.write(payload)
        await listener.wait_for(lambda: len(listener.data) >= len(payload))
        assert bytes(listener.data) == payload
        assert device.path == "loop://"
        await device.close()
        await device.close()
    asyncio.run(main())


def test_loop_url_takes_every_setting() -> None:
    """loop:// accepts 7E2 with XON/XOFF and reports it back."""
    async def main() -> None:
        device = await open_device("loop://", LineSettings(), OpenOptions())
        wanted = LineSettings(baud=57600, bytesize=7, parity="even", stopbits=2, flow="xonxoff")
        assert await device.apply_settings(wanted) == wanted
        assert device.settings == wanted
        await device.set_dtr(False)
        await device.send_break(0.01)
        await device.close()
    asyncio.run(main())


def test_socket_url_reports_loss_when_the_peer_closes() -> None:
    """A socket:// device whose peer hangs up reports device_lost once, and data before it arrives."""
    async def main() -> None:
        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]
        device = await open_device(f"socket://127.0.0.1:{port}", LineSettings(), OpenOptions())
        peer, _ = await asyncio.to_thread(server.accept)
        listener = Listener()
        device.start(listener)
        device.write(b"ping")
        peer.settimeout(WAIT)
        assert await asyncio.to_thread(peer.recv, 16) == b"ping"
        peer.sendall(b"pong")
        await listener.wait_for(lambda: listener.data == b"pong")
        peer.close()
        await listener.wait_for(lambda: bool(listener.lost))
        assert len(listener.lost) == 1
        await device.close()
        server.close()
    asyncio.run(main())


def test_refused_socket_url_is_a_missing_device() -> None:
    """A socket:// URL nobody listens on raises DeviceMissing."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    with pytest.raises(DeviceMissing):
        asyncio.run(open_device(f"socket://127.0.0.1:{port}", LineSettings(), OpenOptions()))


def test_bad_url_is_a_one_line_device_error() -> None:
    """An unknown URL scheme raises DeviceError with one line naming it."""
    with pytest.raises(DeviceError, match="cannot open nosuch://x") as caught:
        asyncio.run(open_device("nosuch://x", LineSettings(), OpenOptions()))
    assert "\n" not in str(caught.value)


def test_a_url_over_a_tty_never_reads_an_emptied_buffer_as_a_disconnect(pty_pair: Pty) -> None:
    """spy:// over a pty: after open, a settings change and a purge, a read of the
    emptied tty is EAGAIN (pyserial's read retries it), not the 0 bytes it
    reports as "device disconnected"; data still flows and is not lost."""
    async def main() -> None:
        device = await open_device(f"spy://{pty_pair.path}?file=/dev/null", LineSettings(baud=115200),
                                   OpenOptions())
        listener = Listener()
        device.start(listener)
        assert isinstance(device, UrlDevice)
        fd = device._port.fd
        assert fd is not None
        for step in ("open", "settings", "purge"):
            if step == "settings":
                await device.apply_settings(LineSettings(baud=57600))
            elif step == "purge":
                await device.purge(receive=True, transmit=True)
            with pytest.raises(BlockingIOError):
                os.read(fd, 16)
        os.write(pty_pair.master, b"still here")
        await listener.wait_for(lambda: bytes(listener.data).endswith(b"still here"))
        assert not listener.lost
        await device.close()
    asyncio.run(main())
