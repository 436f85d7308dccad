"""The recording double: calls in order, injected device events, data over a real pty."""

from __future__ import annotations

import asyncio
import os
import tty

import pytest

from bridge.device.backend import Device, DeviceMissing, OpenOptions
from bridge.device.recording import RecordingDevice, RecordingOpener
from bridge.device.settings import LineSettings, ModemLines
from tests.device.conftest import Pty
from tests.device.helpers import Listener, read_master


def test_control_calls_are_recorded_in_order() -> None:
    """Settings, breaks, DTR/RTS, purges and close appear in calls exactly as made."""
    async def main() -> RecordingDevice:
        device = RecordingDevice(modem_lines=ModemLines(cts=True))
        device.start(Listener())
        wanted = LineSettings(baud=9600, parity="odd")
        assert await device.apply_settings(wanted) == wanted
        await device.set_dtr(False)
        await device.set_rts(True)
        await device.send_break(0.25)
        await device.set_break(True)
        await device.purge(receive=True, transmit=False)
        assert await device.read_modem_lines() == ModemLines(cts=True)
        await device.close("off", "keep")
        await device.close()
        return device
    device = asyncio.run(main())
    assert device.calls == [
        ("start",), ("apply_settings", LineSettings(baud=9600, parity="odd")),
        ("set_dtr", False), ("set_rts", True), ("send_break", 0.25), ("set_break", True),
        ("purge", True, False), ("close", "off", "keep"),
    ]


def test_refused_fields_keep_their_value_like_a_pty() -> None:
    """With refuse={bytesize, parity} a 7E1 request changes only the other fields."""
    device = RecordingDevice(refuse={"bytesize", "parity"})
    actual = asyncio.run(device.apply_settings(LineSettings(baud=300, bytesize=7, parity="even")))
    assert actual == LineSettings(baud=300)


def test_injected_device_events_reach_the_listener_in_order() -> None:
    """Injected data, break, line error and loss arrive in order; nothing is delivered after the loss."""
    device = RecordingDevice()
    listener = Listener()
    device.start(listener)
    device.inject_data(b"login: ")
    device.inject_break()
    device.inject_line_error("framing")
    gone = DeviceMissing("unplugged")
    device.inject_lost(gone)
    device.inject_lost()
    device.inject_data(b"late")
    assert listener.events == [("data", b"login: "), ("break", None), ("line_error", "framing"),
                               ("lost", gone)]


def test_unknown_line_error_kind_is_refused() -> None:
    """A line error kind outside parity/framing/overrun raises ValueError naming the choices."""
    device = RecordingDevice()
    device.start(Listener())
    with pytest.raises(ValueError, match="parity"):
        device.inject_line_error("gremlins")


def test_pty_fd_carries_data_both_ways(pty_pair: Pty) -> None:
    """With a pty's slave fd, writes reach the master and master output reaches the listener."""
    slave = os.open(pty_pair.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(slave)

    async def main() -> None:
        device = RecordingDevice("/dev/fake", fd=slave)
        listener = Listener()
        device.start(listener)
        device.write(b"reboot\r")
        assert await read_master(pty_pair.master, 7) == b"reboot\r"
        os.write(pty_pair.master, b"Booting...")
        await listener.wait_for(lambda: listener.data == b"Booting...")
        assert bytes(device.written) == b"reboot\r"
        os.close(pty_pair.master)
        pty_pair.master = -1
        await listener.wait_for(lambda: bool(listener.lost))
        await device.close()

    try:
        asyncio.run(main())
    finally:
        os.close(slave)


def test_opener_hands_out_devices_and_queued_failures() -> None:
    """RecordingOpener raises queued errors first, then opens devices that took the settings."""
    async def main() -> tuple[RecordingOpener, Device]:
        opener = RecordingOpener(refuse={"parity"})
        opener.fail_next(DeviceMissing("no such device /dev/ttyUSB0"))
        with pytest.raises(DeviceMissing):
            await opener("/dev/ttyUSB0", LineSettings(), OpenOptions())
        return opener, await opener("/dev/ttyUSB0", LineSettings(baud=1200, parity="even"), OpenOptions())
    opener, device = asyncio.run(main())
    assert opener.devices == [device]
    assert device.settings == LineSettings(baud=1200)
    assert len(opener.opens) == 2
