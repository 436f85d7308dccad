"""A tty device on a real pty: settings, data both ways, 0xFF under PARMRK, loss."""

from __future__ import annotations

import asyncio
import os
import select
import socket
import termios

import pytest

from bridge.device import termio
from bridge.device.backend import (
    Device,
    DeviceError,
    DeviceMissing,
    OpenOptions,
    open_device,
)
from bridge.device.fd_device import FdDevice
from bridge.device.settings import LineSettings
from tests.device.conftest import Pty
from tests.device.helpers import WAIT, Listener, read_master

NO_LOCK = OpenOptions(lock_files=False, parmrk=True)  # on a pty PARMRK is off unless asked for


async def _open(pair: Pty, settings: LineSettings | None = None,
                options: OpenOptions = NO_LOCK) -> tuple[Device, Listener]:
    """Open the pty's slave as a Device and start it with a recording listener."""
    device = await open_device(pair.path, settings or LineSettings(baud=115200), options)
    listener = Listener()
    device.start(listener)
    return device, listener


def test_open_applies_baud_raw_mode_and_parmrk_seen_from_the_master(pty_pair: Pty) -> None:
    """The master's termios shows the baud rate, PARMRK and INPCK on, IGNBRK/BRKINT/ISTRIP off, HUPCL on."""
    async def main() -> None:
        device, _ = await _open(pty_pair)
        iflag, _, cflag, lflag, _, ospeed, _ = termios.tcgetattr(pty_pair.master)
        assert ospeed == termios.B115200
        assert iflag & termios.PARMRK and iflag & termios.INPCK
        assert not iflag & (termios.IGNBRK | termios.BRKINT | termios.IGNPAR | termios.ISTRIP)
        assert not lflag & (termios.ICANON | termios.ECHO)
        assert cflag & termios.HUPCL
        assert device.settings == LineSettings(baud=115200)
        assert device.path == pty_pair.path and device.spec == pty_pair.path
        await device.close()
    asyncio.run(main())


def test_hupcl_option_off_clears_hupcl(pty_pair: Pty) -> None:
    """With hupcl=False the tty's HUPCL flag is cleared."""
    async def main() -> None:
        device, _ = await _open(pty_pair, options=OpenOptions(lock_files=False, hupcl=False, parmrk=True))
        assert not termios.tcgetattr(pty_pair.master)[2] & termios.HUPCL
        await device.close()
    asyncio.run(main())


def test_data_from_the_device_arrives_byte_exact_with_single_ff(pty_pair: Pty) -> None:
    """Every byte value, 0xFF included (doubled by the pty under PARMRK), arrives once and in order."""
    async def main() -> None:
        device, listener = await _open(pty_pair)
        payload = bytes(range(256)) * 8 + b"\xff\xff\xff"
        os.write(pty_pair.master, payload)
        await listener.wait_for(lambda: len(listener.data) >= len(payload))
        assert bytes(listener.data) == payload
        assert {name for name, _ in listener.events} == {"data"}
        await device.close()
    asyncio.run(main())


def test_a_single_ff_from_the_device_is_delivered_as_one_ff(pty_pair: Pty) -> None:
    """A lone 0xFF written on the master reaches the listener as exactly one 0xFF."""
    async def main() -> None:
        device, listener = await _open(pty_pair)
        os.write(pty_pair.master, b"\xff")
        await listener.wait_for(lambda: len(listener.data) >= 1)
        os.write(pty_pair.master, b"!")
        await listener.wait_for(lambda: listener.data.endswith(b"!"))
        assert bytes(listener.data) == b"\xff!"
        await device.close()
    asyncio.run(main())


def test_writes_reach_the_device_byte_exact_even_past_the_kernel_buffer(pty_pair: Pty) -> None:
    """A 1 MiB write is buffered past what the pty takes, flushed in order, and reports draining."""
    async def main() -> None:
        device, listener = await _open(pty_pair)
        payload = os.urandom(1 << 20)
        device.write(payload)
        assert 0 < device.write_buffer_size <= len(payload)
        got = await read_master(pty_pair.master, len(payload))
        assert got == payload
        await listener.wait_for(lambda: ("drained", None) in listener.events)
        assert device.write_buffer_size == 0
        await device.close()
    asyncio.run(main())


def test_small_write_goes_out_at_once_without_buffering(pty_pair: Pty) -> None:
    """A write the kernel takes whole leaves nothing buffered."""
    async def main() -> None:
        device, _ = await _open(pty_pair)
        device.write(b"show version\r")
        assert device.write_buffer_size == 0
        assert await read_master(pty_pair.master, 13) == b"show version\r"
        await device.close()
    asyncio.run(main())


def test_paused_device_delivers_nothing_until_resumed(pty_pair: Pty) -> None:
    """Data readable while reading is paused is not delivered; it arrives after resume_reading."""
    async def main() -> None:
        device, listener = await _open(pty_pair, options=OpenOptions(lock_files=False, exclusive=False, parmrk=True))
        device.pause_reading()
        os.write(pty_pair.master, b"held")
        probe = os.open(pty_pair.path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            assert select.select([probe], [], [], WAIT)[0], "the pty never became readable"
        finally:
            os.close(probe)
        await _loop_round_trip()
        assert listener.data == b""
        device.resume_reading()
        await listener.wait_for(lambda: listener.data == b"held")
        await device.close()
    asyncio.run(main())


async def _loop_round_trip() -> None:
    """Wait until the event loop has polled its file descriptors at least once more."""
    loop = asyncio.get_running_loop()
    left, right = socket.socketpair()
    ready = asyncio.Event()
    loop.add_reader(right.fileno(), ready.set)
    try:
        left.send(b"x")
        async with asyncio.timeout(WAIT):
            await ready.wait()
    finally:
        loop.remove_reader(right.fileno())
        left.close()
        right.close()


def test_settings_change_is_visible_on_the_master(pty_pair: Pty) -> None:
    """Baud, stop bits and RTS/CTS flow applied to the device show in the master's termios."""
    async def main() -> None:
        device, _ = await _open(pty_pair)
        wanted = LineSettings(baud=9600, stopbits=2, flow="rtscts")
        assert await device.apply_settings(wanted) == wanted
        _, _, cflag, _, _, ospeed, _ = termios.tcgetattr(pty_pair.master)
        assert ospeed == termios.B9600
        assert cflag & termios.CSTOPB and cflag & termios.CRTSCTS
        assert device.settings == wanted
        assert termios.tcgetattr(pty_pair.master)[0] & termios.PARMRK
        await device.close()
    asyncio.run(main())


def test_non_standard_baud_rate_is_applied_and_read_back(pty_pair: Pty) -> None:
    """A rate with no B-constant (250000) is set through BOTHER and read back exactly."""
    async def main() -> None:
        device, _ = await _open(pty_pair)
        actual = await device.apply_settings(LineSettings(baud=250000))
        assert actual.baud == 250000
        assert termio.read_line_settings(pty_pair.master).baud == 250000
        await device.close()
    asyncio.run(main())


def test_pty_refusing_data_size_and_parity_keeps_them_and_applies_the_rest(pty_pair: Pty) -> None:
    """7 data bits and even parity are refused (EINVAL) without error; the baud change still applies."""
    async def main() -> None:
        device, listener = await _open(pty_pair)
        actual = await device.apply_settings(LineSettings(baud=57600, bytesize=7, parity="even"))
        assert actual == LineSettings(baud=57600, bytesize=8, parity="none")
        assert termios.tcgetattr(pty_pair.master)[5] == termios.B57600
        os.write(pty_pair.master, b"still alive")
        await listener.wait_for(lambda: listener.data == b"still alive")
        await device.close()
    asyncio.run(main())


def test_open_with_refused_settings_opens_with_what_the_pty_takes(pty_pair: Pty) -> None:
    """Opening at 7E1 on a pty gives a working device reporting 8N1."""
    async def main() -> None:
        device, _ = await _open(pty_pair, LineSettings(baud=19200, bytesize=7, parity="even"))
        assert device.settings == LineSettings(baud=19200)
        await device.close()
    asyncio.run(main())


def test_pty_has_no_modem_lines_and_line_requests_are_harmless(pty_pair: Pty) -> None:
    """DTR/RTS requests and modem-line reads on a pty do nothing and raise nothing."""
    async def main() -> None:
        device, listener = await _open(pty_pair)
        assert device.has_modem_lines is False
        await device.set_dtr(False)
        await device.set_rts(True)
        assert await device.read_modem_lines() is None
        await device.set_break(True)
        await device.set_break(False)
        await device.send_break(0.01)
        await device.purge(receive=True, transmit=True)
        os.write(pty_pair.master, b"ok")
        await listener.wait_for(lambda: listener.data == b"ok")
        await device.close()
    asyncio.run(main())


def test_master_closing_reports_loss_once_and_stops_reading(pty_pair: Pty) -> None:
    """Closing the pty master gives exactly one device_lost and a device that ignores writes."""
    async def main() -> None:
        device, listener = await _open(pty_pair)
        os.close(pty_pair.master)
        pty_pair.master = -1
        await listener.wait_for(lambda: bool(listener.lost))
        assert isinstance(listener.lost[0], DeviceMissing)
        device.write(b"into the void")
        assert len(listener.lost) == 1
        await device.close()
        await device.close()
        assert [name for name, _ in listener.events] == ["lost"]
    asyncio.run(main())


@pytest.mark.parametrize("after", ["open", "settings", "purge"])
def test_a_readiness_that_finds_nothing_to_read_is_not_end_of_file(pty_pair: Pty, after: str) -> None:
    """A read callback that finds the buffer empty (readiness seen, then a purge
    emptied it) is no loss, after open, a settings change or a purge; the
    device reads on, and a closed master is still a loss.

    Reported: RFC 2217 PURGE-DATA during a flood gave "device lost ... (end of
    file)" and a reopen, because with pyserial's VMIN 0 such a read is 0 bytes."""
    async def main() -> None:
        device, listener = await _open(pty_pair)
        if after == "settings":
            await device.apply_settings(LineSettings(baud=250000))
        elif after == "purge":
            os.write(pty_pair.master, b"old")
            await device.purge(receive=True, transmit=True)
        assert isinstance(device, FdDevice)
        device._read_ready()   # what the loop calls when readiness is gone by the read
        assert not listener.lost
        os.write(pty_pair.master, b"new")
        await listener.wait_for(lambda: bytes(listener.data).endswith(b"new"))
        assert not listener.lost
        os.close(pty_pair.master)
        pty_pair.master = -1
        await listener.wait_for(lambda: bool(listener.lost))
        assert isinstance(listener.lost[0], DeviceMissing)
        await device.close()
    asyncio.run(main())


def test_write_error_reports_loss(pty_pair: Pty) -> None:
    """A write after the master vanished reports device_lost instead of raising."""
    async def main() -> None:
        device = await open_device(pty_pair.path, LineSettings(), NO_LOCK)
        listener = Listener()
        os.close(pty_pair.master)
        pty_pair.master = -1
        device.write(b"x")
        device.start(listener)
        await listener.wait_for(lambda: bool(listener.lost))
        assert len(listener.lost) == 1
        await device.close()
    asyncio.run(main())


def test_control_calls_after_close_raise_device_error(pty_pair: Pty) -> None:
    """Settings on a closed device raise DeviceError, not an OS error."""
    async def main() -> None:
        device, _ = await _open(pty_pair)
        await device.close()
        with pytest.raises(DeviceError):
            await device.apply_settings(LineSettings(baud=9600))
    asyncio.run(main())


def test_missing_path_raises_device_missing(tmp_path: object) -> None:
    """Opening a path that does not exist raises DeviceMissing naming it."""
    with pytest.raises(DeviceMissing, match="no such device /nonexistent/ttyUSB9"):
        asyncio.run(open_device("/nonexistent/ttyUSB9", LineSettings(), NO_LOCK))


def test_regular_file_is_not_a_serial_device(tmp_path: os.PathLike[str]) -> None:
    """Opening a plain file raises a one-line DeviceError saying it is not a serial device."""
    path = os.path.join(tmp_path, "notatty")
    with open(path, "w") as handle:
        handle.write("x")
    with pytest.raises(DeviceError, match="is not a serial device"):
        asyncio.run(open_device(path, LineSettings(), NO_LOCK))


def test_bad_line_option_is_one_line_error(pty_pair: Pty) -> None:
    """An unknown dtr_on_open value is refused with a DeviceError."""
    options = OpenOptions(lock_files=False, dtr_on_open="sometimes")
    with pytest.raises(DeviceError, match="bad dtr_on_open 'sometimes'"):
        asyncio.run(open_device(pty_pair.path, LineSettings(), options))


def test_marks_in_the_stream_become_break_and_line_error_events(pty_pair: Pty) -> None:
    """Marks as a UART's kernel driver writes them become device_break and device_line_error, in order."""
    async def main() -> None:
        device, listener = await _open(pty_pair)
        # A pty cannot produce marks (it doubles 0xFF), so turn PARMRK off on
        # the slave, from the master, and write the marks ourselves.
        attrs = termios.tcgetattr(pty_pair.master)
        attrs[0] &= ~termios.PARMRK
        termios.tcsetattr(pty_pair.master, termios.TCSANOW, attrs)
        os.write(pty_pair.master, b"a\xff\x00\x00b\xff\x00Xc")
        await listener.wait_for(lambda: listener.data.endswith(b"Xc"))
        assert listener.events[:4] == [("data", b"a"), ("break", None), ("data", b"b"),
                                       ("line_error", "framing")]
        assert bytes(listener.data) == b"abXc"
        await device.close()
    asyncio.run(main())


def test_nonsense_settings_leave_the_device_as_it_was(pty_pair: Pty) -> None:
    """A negative baud rate, an unknown parity and an unknown flow are refused without an exception."""
    async def main() -> None:
        device, listener = await _open(pty_pair, LineSettings(baud=115200, flow="rtscts"))
        before = device.settings
        assert before.flow == "rtscts"
        actual = await device.apply_settings(LineSettings(baud=-5, parity="purple", flow="telepathy"))
        assert actual == before
        assert termios.tcgetattr(pty_pair.master)[5] == termios.B115200
        os.write(pty_pair.master, b"fine")
        await listener.wait_for(lambda: listener.data == b"fine")
        await device.close()
    asyncio.run(main())


@pytest.mark.parametrize("state", ["on", "off", "keep"])
def test_every_dtr_rts_open_option_opens_a_pty(pty_pair: Pty, state: str) -> None:
    """dtr_on_open/rts_on_open on, off and keep all open a device without modem lines cleanly."""
    async def main() -> None:
        options = OpenOptions(lock_files=False, dtr_on_open=state, rts_on_open=state)
        device, listener = await _open(pty_pair, options=options)
        os.write(pty_pair.master, state.encode())
        await listener.wait_for(lambda: listener.data == state.encode())
        await device.close(dtr_on_close=state, rts_on_close=state)
    asyncio.run(main())


def test_a_pty_is_read_without_parmrk_by_default_and_marks_are_plain_data(pty_pair: Pty) -> None:
    """By default a pty gets no PARMRK (it carries no breaks): 0xFF 0x00 0x00 from it is data, not a break."""
    async def main() -> None:
        device, listener = await _open(pty_pair, options=OpenOptions(lock_files=False))
        assert not termios.tcgetattr(pty_pair.master)[0] & termios.PARMRK
        os.write(pty_pair.master, b"\xff\x00\x00end")
        await listener.wait_for(lambda: listener.data.endswith(b"end"))
        assert bytes(listener.data) == b"\xff\x00\x00end"
        assert {name for name, _ in listener.events} == {"data"}
        await device.apply_settings(LineSettings(baud=9600))
        assert not termios.tcgetattr(pty_pair.master)[0] & termios.PARMRK
        await device.close()
    asyncio.run(main())


@pytest.mark.parametrize("lean", [False, True], ids=["asyncio-loop", "lean-loop"])
def test_a_lent_reader_reads_the_fd_and_hands_marks_and_end_of_file_to_the_device(pty_pair: Pty, lean: bool) -> None:
    """lend_reads (the port's direct path): the lent reader is called when the fd is
    readable and reads it itself; what it hands to direct_ends' deliver (a read with a PARMRK
    mark, 0xFF doubled by the line discipline) reaches the listener decoded; given back,
    reads go to the listener again. On the lean loop the reader runs without its handle."""
    async def main() -> None:
        device, listener = await _open(pty_pair)
        ends = device.direct_ends()   # type: ignore[attr-defined]
        assert ends.marks and not ends.pending   # opened as a UART is (PARMRK); nothing buffered
        lent = bytearray()

        def reader() -> None:
            data = os.read(ends.fd, 4096)
            if 255 in data:
                ends.deliver(data)
            else:
                lent.extend(data)
        device.lend_reads(reader)   # type: ignore[attr-defined]
        os.write(pty_pair.master, b"plain")
        async with asyncio.timeout(WAIT):   # the reader wakes no waiter: poll (bounded)
            while bytes(lent) != b"plain":
                await asyncio.sleep(0.01)
        os.write(pty_pair.master, b"c\xffd")
        await listener.wait_for(lambda: listener.data == b"c\xffd")
        assert bytes(lent) == b"plain"
        device.lend_reads(None)   # type: ignore[attr-defined]
        os.write(pty_pair.master, b"back")
        await listener.wait_for(lambda: listener.data == b"c\xffdback")
        assert bytes(lent) == b"plain"
        await device.close()

    if lean:
        from bridge.leanloop import LeanEventLoop
        with asyncio.Runner(loop_factory=LeanEventLoop) as runner:
            runner.run(main())
    else:
        asyncio.run(main())


def test_direct_ends_pending_is_the_write_buffer_that_keeps_the_order(pty_pair: Pty) -> None:
    """direct_ends().pending: empty while a direct os.write may go; the device's own buffer,
    so not empty once write() has kept what the kernel did not take."""
    async def main() -> None:
        device, _ = await _open(pty_pair)
        ends = device.direct_ends()   # type: ignore[attr-defined]
        assert not ends.pending
        big = b"x" * (1 << 20)
        device.write(big)             # a pty takes a few KiB; the rest waits
        assert ends.pending
        assert len(ends.pending) == device.write_buffer_size
        assert await read_master(pty_pair.master, len(big)) == big
        assert not ends.pending
        await device.close()
    asyncio.run(main())
