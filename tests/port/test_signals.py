"""Signals both ways and RFC 2217 line control, on the recording device double
(a pty cannot carry breaks or modem lines), with real loopback clients."""

from __future__ import annotations

import asyncio
import functools

from bridge.device.backend import DeviceMissing
from bridge.device.settings import ModemLines
from bridge.telnet import Cmd, CommandReceived, ComPortCmd
from tests.port.helpers import Client, Harness, until


def _got_brk(client: Client) -> bool:
    return CommandReceived(command=Cmd.BRK) in client.events


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_a_break_from_the_device_reaches_telnet_clients_as_iac_brk() -> None:
    """RFC 854 BRK: a break detected on the line is sent to each telnet client as IAC BRK."""
    async def scenario() -> None:
        async with Harness() as h:
            a, b = await h.client(), await h.client()
            await until(lambda: len(h.worker.sessions) == 2)
            h.device.inject_break()
            for c in (a, b):
                await c.wait_for(functools.partial(_got_brk, c))
            await a.close()
            await b.close()
    run(scenario())


def test_break_and_line_errors_reach_rfc2217_clients_as_linestate_filtered_by_mask() -> None:
    """RFC 2217 NOTIFY-LINESTATE: break-detect (0x10) and parity error (0x04) are sent when the mask has them."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client(comport=True)
            c.conn.comport_request(ComPortCmd.SET_LINESTATE_MASK, bytes([0x10]))
            c.flush()
            assert await c.reply(ComPortCmd.SET_LINESTATE_MASK) == bytes([0x10])
            h.device.inject_line_error("parity")   # masked out
            h.device.inject_break()
            assert await c.reply(ComPortCmd.NOTIFY_LINESTATE) == bytes([0x10])
            c.conn.comport_request(ComPortCmd.SET_LINESTATE_MASK, bytes([0x14]))
            c.flush()
            await c.reply(ComPortCmd.SET_LINESTATE_MASK)
            h.device.inject_line_error("parity")
            assert await c.reply(ComPortCmd.NOTIFY_LINESTATE) == bytes([0x04])
            await c.close()
    run(scenario())


def test_iac_brk_sends_a_break_of_the_profile_length() -> None:
    """IAC BRK from a writer becomes send_break(break_ms) on the device."""
    async def scenario() -> None:
        async with Harness("break_ms = 500") as h:
            c = await h.client()
            c.conn.send_command(Cmd.BRK)
            c.flush()
            await until(lambda: ("send_break", 0.5) in h.device.calls)
            await c.close()
    run(scenario())


def test_ip_does_what_the_port_says() -> None:
    """IAC IP sends Ctrl-C by default, and a break with ip_action = "break"."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client()
            c.conn.send_command(Cmd.IP)
            c.flush()
            await until(lambda: bytes(h.device.written) == b"\x03")
            await c.close()
        async with Harness('ip_action = "break"') as h:
            c = await h.client()
            c.conn.send_command(Cmd.IP)
            c.flush()
            await until(lambda: ("send_break", 0.25) in h.device.calls)
            assert bytes(h.device.written) == b""
            await c.close()
    run(scenario())


def test_ec_el_and_dm_follow_the_port_map() -> None:
    """EC and EL send the configured bytes; DM sends a break only with dm_break = true."""
    async def scenario() -> None:
        async with Harness("ec_byte = 127\nel_byte = 21\ndm_break = true") as h:
            c = await h.client()
            for cmd in (Cmd.EC, Cmd.EL, Cmd.DM):
                c.conn.send_command(cmd)
            c.flush()
            await until(lambda: ("send_break", 0.25) in h.device.calls)
            assert bytes(h.device.written) == b"\x7f\x15"
            await c.close()
    run(scenario())


def test_dtr_rts_requests_reach_the_device_in_order() -> None:
    """esptool's reset sequence: every DTR/RTS edge is applied, in the order the client sent it."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client(comport=True)
            sequence = [9, 11, 8, 12, 9]  # DTR off, RTS on, DTR on, RTS off, DTR off
            for value in sequence:
                c.conn.comport_request(ComPortCmd.SET_CONTROL, bytes([value]))
            c.flush()
            answers = [await c.reply(ComPortCmd.SET_CONTROL) for _ in sequence]
            assert answers == [bytes([v]) for v in sequence]
            edges = [call for call in h.device.calls if call[0] in ("set_dtr", "set_rts")]
            assert edges == [("set_dtr", False), ("set_rts", True), ("set_dtr", True),
                             ("set_rts", False), ("set_dtr", False)]
            await c.close()
    run(scenario())


def test_a_held_break_is_released_when_its_client_leaves() -> None:
    """SET-CONTROL BREAK-ON holds the break; the client disconnecting releases it."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client(comport=True)
            c.conn.comport_request(ComPortCmd.SET_CONTROL, bytes([5]))
            c.flush()
            assert await c.reply(ComPortCmd.SET_CONTROL) == bytes([5])
            assert ("set_break", True) in h.device.calls
            await c.close()
            await until(lambda: ("set_break", False) in h.device.calls)
    run(scenario())


def test_purge_data_reaches_the_device() -> None:
    """PURGE-DATA 1, 2 and 3 purge the receive buffer, the transmit buffer, and both."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client(comport=True)
            for value in (1, 2, 3):
                c.conn.comport_request(ComPortCmd.PURGE_DATA, bytes([value]))
                c.flush()
                assert await c.reply(ComPortCmd.PURGE_DATA) == bytes([value])
            purges = [call for call in h.device.calls if call[0] == "purge"]
            assert purges == [("purge", True, False), ("purge", False, True), ("purge", True, True)]
            await c.close()
    run(scenario())


def test_a_purge_leaves_other_clients_bytes_alone() -> None:
    """With another writer on the port, PURGE-DATA 1, 2 and 3 drop only the
    asker's own queued output: the device's receive buffer holds the other
    client's output too, its transmit buffer what the other typed. With only a
    watcher beside it, the transmit buffer is the asker's: 3 purges it. Alone,
    1 flushes the device's receive buffer again."""
    async def scenario() -> None:
        async with Harness('access = "first"') as h:
            c = await h.client(comport=True)
            other = await h.client()
            await until(lambda: len(h.worker.sessions) == 2)

            async def purge(value: int) -> None:
                c.conn.comport_request(ComPortCmd.PURGE_DATA, bytes([value]))
                c.flush()
                assert await c.reply(ComPortCmd.PURGE_DATA) == bytes([value])

            await purge(3)    # the other is a watcher: its bytes are only in the receive buffer
            await other.close()
            await until(lambda: len(h.worker.sessions) == 1)
            await purge(1)
            purges = [call for call in h.device.calls if call[0] == "purge"]
            assert purges == [("purge", False, True), ("purge", True, False)]
            await c.close()
    run(scenario())


def test_a_purge_leaves_another_writers_bytes_alone() -> None:
    """Two writers (access "shared"): PURGE-DATA 1, 2 and 3 from one touch none of
    the device's buffers."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client(comport=True)
            other = await h.client()
            await until(lambda: len(h.worker.sessions) == 2)
            for value in (1, 2, 3):
                c.conn.comport_request(ComPortCmd.PURGE_DATA, bytes([value]))
                c.flush()
                assert await c.reply(ComPortCmd.PURGE_DATA) == bytes([value])
            assert [call for call in h.device.calls if call[0] == "purge"] == []
            await other.close()
            await c.close()
    run(scenario())


def test_modem_state_changes_are_notified_with_delta_bits() -> None:
    """NOTIFY-MODEMSTATE reports CTS/DSR/CD with their delta bits when the lines change."""
    async def scenario() -> None:
        async with Harness("modem_poll_ms = 20", modem_lines=ModemLines(cts=False, dsr=True)) as h:
            c = await h.client(comport=True)
            first = await c.reply(ComPortCmd.NOTIFY_MODEMSTATE)
            assert first == bytes([0x20])                 # DSR on, no deltas yet
            h.device.modem_lines = ModemLines(cts=True, dsr=True, cd=True)
            assert await c.reply(ComPortCmd.NOTIFY_MODEMSTATE) == bytes([0x80 | 0x20 | 0x10 | 0x08 | 0x01])
            await c.close()
    run(scenario())


def test_a_watcher_cannot_send_a_break() -> None:
    """In access = "first", the second client is a watcher: its IAC BRK is refused and it is told."""
    async def scenario() -> None:
        async with Harness('access = "first"') as h:
            writer = await h.client()
            await until(lambda: len(h.worker.sessions) == 1)
            watcher = await h.client()
            await until(lambda: len(h.worker.sessions) == 2)
            watcher.conn.send_command(Cmd.BRK)
            watcher.send(b"typed")
            await watcher.read_until(b"you are watching")
            assert not [c for c in h.device.calls if c[0] == "send_break"]
            assert bytes(h.device.written) == b""
            await writer.close()
            await watcher.close()
    run(scenario())


def test_device_loss_and_return_are_told_to_clients() -> None:
    """A vanished device puts the port in waiting-for-device, clients stay and are told, and it comes back."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client()
            await until(lambda: len(h.worker.sessions) == 1)
            h.opener.fail_next(DeviceMissing("no such device /dev/recorded"))
            h.device.inject_lost(OSError(5, "Input/output error"))
            await c.read_until(b"device disconnected")
            assert h.worker.state == "waiting-for-device"
            h.device_back.set()
            await c.read_until(b"device is back")
            assert h.worker.state == "up"
            assert len(h.opener.devices) == 2
            c.send(b"again")
            await until(lambda: bytes(h.opener.devices[-1].written) == b"again")
            await c.close()
    run(scenario())


def test_the_in_band_break_sequence_sends_a_break_from_a_raw_client() -> None:
    """In raw mode, `~~b` at the start of a line becomes a break, in order with the data around it."""
    async def scenario() -> None:
        async with Harness('mode = "raw"\nbreak_sequence = "~~b"') as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.config.listen_port or h.worker._bound)
            await until(lambda: len(h.worker.sessions) == 1)
            writer.write(b"reboot\r~~bboot\r")
            await until(lambda: bytes(h.device.written) == b"reboot\rboot\r")
            assert ("send_break", 0.25) in h.device.calls
            writer.close()
    run(scenario())


def test_flowcontrol_suspend_holds_output_and_resume_delivers_it_all() -> None:
    """RFC 2217 FLOWCONTROL-SUSPEND stops output to that client without losing it; RESUME sends it."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client(comport=True)
            c.conn.comport_request(ComPortCmd.FLOWCONTROL_SUSPEND, b"")
            c.flush()
            await until(lambda: h.worker.sessions[0].suspended)
            h.device.inject_data(b"held while suspended")
            # An answer sent after the data was injected arrives, the data does not.
            c.conn.comport_request(ComPortCmd.SET_BAUDRATE, (0).to_bytes(4, "big"))
            c.flush()
            await c.reply(ComPortCmd.SET_BAUDRATE)
            assert b"held" not in c.data
            c.conn.comport_request(ComPortCmd.FLOWCONTROL_RESUME, b"")
            c.flush()
            assert await c.read_until(b"held while suspended") == b"held while suspended"
            await c.close()
    run(scenario())


def test_dtr_and_rts_set_by_a_client_are_reapplied_when_the_device_returns() -> None:
    """After an unplug and replug, the device gets the DTR/RTS state the client last asked for."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client(comport=True)
            for value in (9, 11):  # DTR off, RTS on
                c.conn.comport_request(ComPortCmd.SET_CONTROL, bytes([value]))
            c.flush()
            await c.reply(ComPortCmd.SET_CONTROL)
            await c.reply(ComPortCmd.SET_CONTROL)
            h.device.inject_data(b"traffic")
            h.device.inject_lost(OSError(5, "Input/output error"))
            await until(lambda: len(h.opener.devices) == 2 and h.worker.state == "up")
            await until(lambda: ("set_rts", True) in h.opener.devices[1].calls)
            lines = [call for call in h.opener.devices[1].calls if call[0] in ("set_dtr", "set_rts")]
            assert lines == [("set_dtr", False), ("set_rts", True)]
            await c.close()
    run(scenario())
