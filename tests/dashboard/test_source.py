"""ControlSource: the dashboard's feed over the control API, reconnecting by itself."""

from __future__ import annotations

import asyncio

import pytest

from bridge.control.client import ControlUnavailable
from bridge.control.server import ControlServer
from bridge.control.target import BridgeEvent
from bridge.dashboard.source import Connected, ControlSource, Disconnected, Event, Ports, Update
from tests.control.fake_target import FakeTarget
from tests.control.helpers import async_test, running_server, short_tmpdir


async def next_update(updates: object) -> Update:
    """The next update, within 5 seconds."""
    async with asyncio.timeout(5):
        return await updates.__anext__()  # type: ignore[attr-defined, no-any-return]


@async_test
async def test_feed_starts_with_ports_and_refreshes_them_after_a_state_event() -> None:
    """Connected, then the ports; a port-state event is followed by a fresh list."""
    async with running_server(counters_interval=3600) as (server, target):
        source = ControlSource(server.address, label="pi")
        updates = source.updates()
        assert isinstance(await next_update(updates), Connected)
        first = await next_update(updates)
        assert isinstance(first, Ports) and [p.name for p in first.ports] == ["rtr1", "sw1"]
        await source.request("disable", port="sw1")
        event = await next_update(updates)
        assert isinstance(event, Event) and event.message["state"] == "disabled"
        fresh = await next_update(updates)
        assert isinstance(fresh, Ports) and fresh.ports[1].state == "disabled"
        target.emit(BridgeEvent("counters-not-a-kind", "sw1", {}))  # unknown kinds pass through
        assert isinstance(await next_update(updates), Event)
        await source.close()


@async_test
async def test_feed_says_disconnected_once_and_comes_back() -> None:
    """A lost daemon gives one Disconnected; a new daemon on the same address gives Connected."""
    with short_tmpdir() as tmp:
        path = str(tmp / "c.sock")
        server = ControlServer(FakeTarget(), path, counters_interval=3600)
        await server.start()
        source = ControlSource(path, first_delay=0.01, max_delay=0.02)
        updates = source.updates()
        assert isinstance(await next_update(updates), Connected)
        assert isinstance(await next_update(updates), Ports)
        await server.close()
        lost = await next_update(updates)
        assert isinstance(lost, Disconnected) and lost.reason == f"lost the connection to {path}"
        unreachable = await next_update(updates)
        assert isinstance(unreachable, Disconnected) and "cannot reach the bridge" in unreachable.reason
        with pytest.raises(ControlUnavailable, match="not connected"):
            await source.request("list")
        server = ControlServer(FakeTarget(), path, counters_interval=3600)
        await server.start()
        assert isinstance(await next_update(updates), Connected)
        await source.close()
        await server.close()
