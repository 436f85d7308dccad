"""Per-port policies on the recording device double with real loopback clients:
hold_open, idle timeout, connection rate, settings applied as requested."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bridge.device.settings import LineSettings
from bridge.port.admission import CONNECT_BURST
from bridge.telnet import ComPortCmd
from tests.port.helpers import Harness, until


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_hold_open_false_opens_the_device_only_while_a_client_is_connected(caplog: pytest.LogCaptureFixture) -> None:
    """With hold_open = false the device is closed with no clients, opened by the first, closed after
    the last; the port is "up" throughout (ready to serve), never "waiting-for-device", a fault's state.
    The log says when the device closes, as it says when it opens."""
    caplog.set_level(logging.INFO, logger="bridge.port")

    async def scenario() -> None:
        h = Harness("hold_open = false")
        await h.worker.start()
        try:
            await until(lambda: h.worker.on_demand)
            assert h.worker.state == "up" and h.worker.error is None
            assert h.opener.devices == []
            c = await h.client()
            await until(lambda: len(h.opener.devices) == 1 and not h.worker.on_demand)
            assert h.worker.state == "up"
            await c.close()
            await until(lambda: h.opener.devices[0].closed)
            await until(lambda: h.worker.on_demand)
            assert h.worker.state == "up" and h.worker.error is None
            closed = [r.getMessage() for r in caplog.records if "closed: no client" in r.getMessage()]
            assert len(closed) == 1 and "(hold_open = false)" in closed[0], closed
        finally:
            await h.worker.stop()
    run(scenario())


def test_an_idle_client_is_disconnected_after_idle_timeout() -> None:
    """A client that sends nothing for idle_timeout seconds is told and disconnected."""
    async def scenario() -> None:
        async with Harness("idle_timeout = 0.3") as h:
            c = await h.client()
            await c.read_until(b"idle for")
            await c.wait_closed()
    run(scenario())


def test_connection_attempts_beyond_the_burst_are_refused() -> None:
    """An address's bucket holds CONNECT_BURST minutes of connect_rate: the next attempt is
    refused with a message."""
    async def scenario() -> None:
        async with Harness(f"connect_rate = 1\nmax_connections = {CONNECT_BURST + 2}") as h:
            admitted = [await h.client() for _ in range(CONNECT_BURST)]
            extra = await h.client()
            await extra.read_until(b"too many connections")
            await extra.wait_closed()
            assert len(h.worker.sessions) == CONNECT_BURST
            for c in admitted:
                await c.close()
    run(scenario())


def test_a_source_refused_again_and_again_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """A client that keeps reconnecting past connect_rate is told each time, but the log gets
    one line for it, not one per attempt (UAT: 118,154 WARNING lines in 6 s of churn)."""
    async def scenario() -> None:
        async with Harness(f"connect_rate = 1\nmax_connections = {CONNECT_BURST + 2}") as h:
            admitted = [await h.client() for _ in range(CONNECT_BURST)]
            for _ in range(20):
                extra = await h.client()
                await extra.read_until(b"too many connections")
                await extra.wait_closed()
            for c in admitted:
                await c.close()
    with caplog.at_level(logging.WARNING, logger="bridge.port"):
        run(scenario())
    lines = [r.getMessage() for r in caplog.records if "connections a minute" in r.getMessage()]
    assert len(lines) == 1 and "logged once a minute" in lines[0], lines


def test_a_source_refused_by_a_full_port_again_and_again_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """max_connections: each extra attempt is told the port is full; the log says it once a minute
    per source, not once per attempt (the same kind as the connect_rate refusals)."""
    async def scenario() -> None:
        async with Harness("max_connections = 1\nconnect_rate = 0") as h:
            first = await h.client()
            await until(lambda: len(h.worker.sessions) == 1)
            for _ in range(20):
                extra = await h.client()
                await extra.read_until(b"is full")
                await extra.wait_closed()
            await first.close()
    with caplog.at_level(logging.INFO, logger="bridge.port"):
        run(scenario())
    lines = [r.getMessage() for r in caplog.records if "clients already" in r.getMessage()]
    assert len(lines) == 1 and "logged once a minute" in lines[0], lines


def test_a_full_port_refuses_the_next_client() -> None:
    """max_connections = 1: the second client is told the port is full."""
    async def scenario() -> None:
        async with Harness("max_connections = 1") as h:
            first = await h.client()
            await until(lambda: len(h.worker.sessions) == 1)
            second = await h.client()
            await second.read_until(b"is full")
            await second.wait_closed()
            await first.close()
    run(scenario())


def test_data_size_parity_and_stop_bits_are_requested_of_the_device_and_acknowledged() -> None:
    """SET-DATASIZE 7, SET-PARITY even, SET-STOPSIZE 2 reach a device that takes them, and are answered."""
    async def scenario() -> None:
        async with Harness() as h:
            c = await h.client(comport=True)
            c.conn.comport_request(ComPortCmd.SET_DATASIZE, bytes([7]))
            c.conn.comport_request(ComPortCmd.SET_PARITY, bytes([3]))
            c.conn.comport_request(ComPortCmd.SET_STOPSIZE, bytes([2]))
            c.flush()
            assert await c.reply(ComPortCmd.SET_DATASIZE) == bytes([7])
            assert await c.reply(ComPortCmd.SET_PARITY) == bytes([3])
            assert await c.reply(ComPortCmd.SET_STOPSIZE) == bytes([2])
            applied = [call[1] for call in h.device.calls if call[0] == "apply_settings"]
            assert applied[-1] == LineSettings(baud=9600, bytesize=7, parity="even", stopbits=2)
            await c.close()
    run(scenario())


def test_a_refused_setting_is_answered_with_the_value_in_force() -> None:
    """A device that refuses parity (like a pty) keeps its parity, and the answer says so."""
    async def scenario() -> None:
        async with Harness(refuse={"parity", "bytesize"}) as h:
            c = await h.client(comport=True)
            c.conn.comport_request(ComPortCmd.SET_PARITY, bytes([2]))
            c.flush()
            assert await c.reply(ComPortCmd.SET_PARITY) == bytes([1])
            assert h.worker.settings.parity == "none"
            await c.close()
    run(scenario())


def test_a_watcher_may_query_but_not_change_settings() -> None:
    """In access = "first" a watcher's SET-BAUDRATE is answered with the rate in force and changes nothing."""
    async def scenario() -> None:
        async with Harness('access = "first"') as h:
            writer = await h.client()
            await until(lambda: len(h.worker.sessions) == 1)
            watcher = await h.client(comport=True)
            watcher.conn.comport_request(ComPortCmd.SET_BAUDRATE, (115200).to_bytes(4, "big"))
            watcher.flush()
            assert await watcher.reply(ComPortCmd.SET_BAUDRATE) == (9600).to_bytes(4, "big")
            assert not [call for call in h.device.calls if call[0] == "apply_settings"]
            await writer.close()
            await watcher.close()
    run(scenario())


def test_an_unexpected_error_opening_the_device_does_not_end_the_port() -> None:
    """An exception the device layer did not foresee is logged; the port waits and opens on the next try."""
    async def scenario() -> None:
        h = Harness()
        h.opener.fail_next(RuntimeError("driver bug"))
        await h.worker.start()
        try:
            await until(lambda: h.worker.state == "waiting-for-device" and "driver bug" in (h.worker.error or ""))
            h.worker._wake.set()   # as enable/disable or a client would wake it
            await until(lambda: h.worker.state == "up")
        finally:
            await h.worker.stop()
    run(scenario())
