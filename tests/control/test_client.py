"""ControlClient against the control server and a fake bridge over real sockets."""

from __future__ import annotations

import asyncio

import pytest

from bridge.control.client import (
    ControlClient,
    ControlConnectionLost,
    ControlRequestError,
    ControlUnavailable,
    connect_retrying,
)
from bridge.control.server import ControlServer
from bridge.control.target import BridgeEvent
from tests.control.fake_target import FakeTarget
from tests.control.helpers import async_test, eventually, running_server, short_tmpdir


@async_test
async def test_request_returns_reply_fields_and_raises_with_the_code() -> None:
    """A good request returns the reply's fields; a refused one raises with the server's code."""
    async with running_server() as (server, _):
        client = await ControlClient.connect(server.address)
        assert client.server_info["protocol"] == 1
        reply = await client.request("port", port="rtr1")
        assert reply["port"]["name"] == "rtr1" and "ok" not in reply
        with pytest.raises(ControlRequestError) as info:
            await client.request("port", port="zz")
        assert info.value.code == "unknown-port" and str(info.value) == "no such port 'zz'"
        await client.close()
        assert client.closed


@async_test
async def test_concurrent_requests_get_their_own_replies() -> None:
    """Replies are matched to requests by id, whatever the order of asking."""
    async with running_server() as (server, _):
        client = await ControlClient.connect(server.address)
        replies = await asyncio.gather(*(client.request("port", port=name)
                                         for name in ["sw1", "rtr1", "sw1"]))
        assert [r["port"]["name"] for r in replies] == ["sw1", "rtr1", "sw1"]
        await client.close()


@async_test
async def test_events_iterate_until_the_connection_ends() -> None:
    """events() yields pushed events and ends when the server closes."""
    async with running_server(counters_interval=3600) as (server, target):
        client = await ControlClient.connect(server.address)
        await client.request("subscribe")
        target.emit(BridgeEvent("port-state", "sw1", {"state": "disabled", "error": None}))
        received = []
        async for event in client.events():
            received.append(event)
            await server.close()
        assert received == [{"v": 1, "event": "port-state", "port": "sw1", "state": "disabled",
                             "error": None}]
        assert client.closed
        with pytest.raises(ControlConnectionLost):
            await client.request("list")


@async_test
async def test_token_is_sent_at_connect_and_a_wrong_one_refused() -> None:
    """connect() says hello with the token; a wrong token makes the endpoint unavailable."""
    async with running_server(token="t0k", address="127.0.0.1:0") as (server, _):
        client = await ControlClient.connect(server.address, "t0k")
        assert len((await client.request("list"))["ports"]) == 2
        await client.close()
        with pytest.raises(ControlUnavailable, match="refused us: wrong or missing token"):
            await ControlClient.connect(server.address, "bad")


@async_test
async def test_unreachable_endpoint_is_one_line() -> None:
    """Connecting to nothing raises ControlUnavailable naming the address."""
    with short_tmpdir() as tmp:
        with pytest.raises(ControlUnavailable, match="cannot reach the bridge at .*none.sock"):
            await ControlClient.connect(str(tmp / "none.sock"))


def test_connect_retrying_waits_for_the_daemon_to_come_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """connect_retrying keeps trying until a server appears at the address."""
    tries: list[str] = []
    real_connect = ControlClient.connect.__func__  # type: ignore[attr-defined]

    async def counted(cls: type[ControlClient], address: str, token: str | None = None) -> ControlClient:
        tries.append(address)
        client: ControlClient = await real_connect(cls, address, token)
        return client

    monkeypatch.setattr(ControlClient, "connect", classmethod(counted))
    _retry_until_server(tries)


@async_test
async def _retry_until_server(tries: list[str]) -> None:
    with short_tmpdir() as tmp:
        path = str(tmp / "control.sock")
        server = ControlServer(FakeTarget(), path)
        attempt = asyncio.create_task(connect_retrying(path, first_delay=0.01, max_delay=0.05))
        await eventually(lambda: len(tries) >= 2)  # failed at least once: nobody listens yet
        await server.start()
        client = await asyncio.wait_for(attempt, 5)
        assert (await client.request("list"))["ports"][0]["name"] == "rtr1"
        await client.close()
        await server.close()


@async_test
async def test_connect_retrying_gives_up_after_its_attempts() -> None:
    """With a bound on attempts, the last failure is raised."""
    with short_tmpdir() as tmp:
        with pytest.raises(ControlUnavailable):
            await connect_retrying(str(tmp / "x.sock"), first_delay=0.001, attempts=3)
