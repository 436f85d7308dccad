"""The control server against a fake bridge, over real Unix and loopback TCP sockets."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import stat

import pytest

from bridge.control.server import ControlServer
from bridge.control.target import BridgeEvent
from bridge.errors import RuntimeFailure, UserError
from bridge.port.status import DISABLED, WAITING
from tests.control.fake_target import FakeTarget
from tests.control.helpers import LineClient, async_test, eventually, running_server, short_tmpdir


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@async_test
async def test_list_returns_every_port_with_sessions_and_settings() -> None:
    """list answers every port with its settings, counters and sessions."""
    async with running_server() as (server, _):
        client = await LineClient.open(server)
        reply = await client.call("list")
        assert reply["ok"] is True and reply["v"] == 1
        names = [p["name"] for p in reply["ports"]]
        assert names == ["rtr1", "sw1"]
        rtr1 = reply["ports"][0]
        assert rtr1["settings"] == {"baud": 9600, "bytesize": 8, "parity": "none",
                                    "stopbits": 1, "flow": "none"}
        assert rtr1["sessions"][0]["peer"] == "127.0.0.1:50000"
        assert rtr1["sessions"][0]["access"] == "writer"
        assert (rtr1["rx_bytes"], rtr1["tx_bytes"], rtr1["profile"]) == (40, 3, "cisco-console")
        await client.close()


@async_test
async def test_port_answers_one_port_and_names_an_unknown_one() -> None:
    """port returns the one port; an unknown name is an unknown-port error."""
    async with running_server() as (server, _):
        client = await LineClient.open(server)
        assert (await client.call("port", port="sw1"))["port"]["mode"] == "raw"
        bad = await client.call("port", port="nope")
        assert bad["ok"] is False and bad["code"] == "unknown-port"
        assert bad["error"] == "no such port 'nope'"
        await client.close()


@pytest.mark.parametrize(("op", "call"), [("break", ("break", "rtr1")), ("ip", ("ip", "rtr1")),
                                          ("enable", ("enable", "rtr1")),
                                          ("disable", ("disable", "rtr1"))])
def test_port_actions_reach_the_bridge(op: str, call: tuple[str, ...]) -> None:
    """break, ip, enable and disable call the bridge once and answer ok."""
    @async_test
    async def body() -> None:
        async with running_server() as (server, target):
            client = await LineClient.open(server)
            reply = await client.call(op, port="rtr1")
            assert reply == {"v": 1, "id": 1, "ok": True}
            assert target.calls == [call]
            await client.close()
    body()


@async_test
async def test_set_applies_checked_settings_and_answers_the_applied_ones() -> None:
    """set passes checked changes to the bridge and replies with what was applied."""
    async with running_server() as (server, target):
        client = await LineClient.open(server)
        reply = await client.call("set", port="rtr1", settings={"baud": 115200, "parity": "even"})
        assert reply["settings"]["baud"] == 115200 and reply["settings"]["parity"] == "even"
        assert target.calls == [("set", "rtr1", "[('baud', 115200), ('parity', 'even')]")]
        bad = await client.call("set", port="rtr1", settings={"parity": "sideways"})
        assert bad["ok"] is False and bad["code"] == "bad-request" and "parity" in bad["error"]
        refused = await client.call("set", port="rtr1", settings={"parity": "mark"})
        assert refused["code"] == "refused"
        assert refused["error"] == "mark parity is not supported by this device"
        assert len(target.calls) == 1
        await client.close()


@async_test
async def test_kick_ends_a_session_and_refuses_an_unknown_one() -> None:
    """kick removes the named session; an unknown session id is refused."""
    async with running_server() as (server, target):
        client = await LineClient.open(server)
        assert (await client.call("kick", port="rtr1", session=1))["ok"] is True
        assert target.ports["rtr1"].sessions == ()
        again = await client.call("kick", port="rtr1", session=1)
        assert again["ok"] is False and again["code"] == "refused"
        await client.close()


@async_test
async def test_reload_answers_what_changed() -> None:
    """reload returns the bridge's summary of the reload."""
    async with running_server() as (server, _):
        client = await LineClient.open(server)
        reply = await client.call("reload")
        assert reply["result"] == {"added": [], "removed": [], "changed": ["sw1"], "errors": []}
        await client.close()


@async_test
async def test_subscribe_forwards_bridge_events_and_unsubscribe_stops_them() -> None:
    """Subscribers get port-state and session events; after unsubscribe the bridge is left alone."""
    async with running_server(counters_interval=3600) as (server, target):
        client = await LineClient.open(server)
        await client.call("subscribe")
        assert len(target.subscribers) == 1
        target.emit(BridgeEvent("port-state", "rtr1", {"state": WAITING, "error": "gone"}))
        target.emit(BridgeEvent("session-open", "rtr1", {"id": 7, "peer": "10.0.0.1:5", "access": "watcher"}))
        assert await client.recv() == {"v": 1, "event": "port-state", "port": "rtr1",
                                       "state": WAITING, "error": "gone"}
        assert await client.recv() == {"v": 1, "event": "session-open", "port": "rtr1", "id": 7,
                                       "peer": "10.0.0.1:5", "access": "watcher"}
        await client.call("unsubscribe")
        assert target.subscribers == []
        await client.close()


@async_test
async def test_settings_event_carries_the_settings_as_an_object() -> None:
    """A settings change is pushed with the new settings as JSON."""
    async with running_server(counters_interval=3600) as (server, _):
        watcher = await LineClient.open(server)
        await watcher.call("subscribe")
        actor = await LineClient.open(server)
        await actor.call("set", port="sw1", settings={"bytesize": 7})
        event = await watcher.recv()
        assert event["event"] == "settings" and event["port"] == "sw1"
        assert event["settings"] == {"baud": 115200, "bytesize": 7, "parity": "none",
                                     "stopbits": 1, "flow": "none"}
        await watcher.close()
        await actor.close()


@async_test
async def test_counters_arrive_only_while_subscribed() -> None:
    """Counters events are sent to subscribers, and the timer stops with the last one."""
    async with running_server(counters_interval=0.01) as (server, _):
        client = await LineClient.open(server)
        await client.call("subscribe")
        event = await client.recv()
        assert event["event"] == "counters"
        assert event["ports"]["rtr1"] == {"rx_bytes": 40, "tx_bytes": 3, "clients": 1,
                                          "last_activity": 1001.0}
        await client.close()
        await eventually(lambda: not server.connections)
        assert server._counters_task is None  # noqa: SLF001 - the timer must not run for nobody


@async_test
async def test_tail_sends_history_then_live_output_of_that_port_only() -> None:
    """tail answers the history, then output events of the tailed port as base64."""
    async with running_server() as (server, target):
        client = await LineClient.open(server)
        reply = await client.call("tail", port="rtr1")
        assert base64.b64decode(reply["history"]) == b"Router>"
        target.output("sw1", b"not this")
        target.output("rtr1", b"\x1b[2Jshow ver\r\n")
        event = await client.recv()
        assert event == {"v": 1, "event": "output", "port": "rtr1", "data": b64(b"\x1b[2Jshow ver\r\n")}
        await client.call("untail", port="rtr1")
        assert target.tails == {"rtr1": []}
        await client.close()


@async_test
async def test_attach_input_break_detach_drive_one_session() -> None:
    """attach opens a session whose output arrives with its id; input, break and detach reach it."""
    async with running_server() as (server, target):
        client = await LineClient.open(server)
        reply = await client.call("attach", port="rtr1")
        assert reply["session"] == 101 and reply["access"] == "writer"
        session = target.attached[0]
        session.on_output(b"login: ")
        assert await client.recv() == {"v": 1, "event": "output", "port": "rtr1",
                                       "data": b64(b"login: "), "session": 101}
        assert (await client.call("input", port="rtr1", data=b64(b"admin\r")))["ok"]
        assert session.written == [b"admin\r"]
        assert (await client.call("break", port="rtr1", attached=True))["ok"]
        assert session.breaks == 1 and target.calls == [("attach", "rtr1", target.calls[0][2])]
        assert (await client.call("detach", port="rtr1"))["ok"]
        assert session.closed
        missing = await client.call("input", port="rtr1", data=b64(b"x"))
        assert missing["ok"] is False and missing["error"] == "not attached to rtr1"
        await client.close()


@async_test
async def test_bridge_closing_an_attached_session_sends_detached() -> None:
    """When the bridge ends an attached session, the client gets a detached event."""
    async with running_server() as (server, target):
        client = await LineClient.open(server)
        await client.call("attach", port="sw1")
        target.attached[0].on_close("kicked")
        assert await client.recv() == {"v": 1, "event": "detached", "port": "sw1",
                                       "session": 101, "reason": "kicked"}
        await client.close()


@async_test
async def test_disconnect_closes_attached_sessions_and_tails() -> None:
    """A client that goes away leaves no attached session, tail or subscription behind."""
    async with running_server() as (server, target):
        client = await LineClient.open(server)
        await client.call("attach", port="sw1")
        await client.call("tail", port="sw1")
        await client.call("subscribe")
        await client.close()
        await eventually(lambda: target.attached[0].closed and not server.connections)
        assert target.tails == {"sw1": []} and target.subscribers == []


@pytest.mark.parametrize(("line", "error"), [
    (b"{not json\n", "malformed JSON"),
    (b"[1, 2]\n", "a message must be a JSON object"),
    (b'{"v": 2, "id": 5, "op": "list"}\n', "unsupported protocol version 2 (this server speaks 1)"),
    (b'{"id": 5, "op": "list"}\n', "unsupported protocol version None (this server speaks 1)"),
    (b'{"v": 1, "op": "list"}\n', 'a request needs an integer "id"'),
    (b'{"v": 1, "id": 5, "op": "explode"}\n', "unknown op 'explode'"),
    (b'{"v": 1, "id": 5, "op": "kick", "port": "rtr1"}\n', "kick: missing argument 'session'"),
    (b'{"v": 1, "id": 5, "op": "kick", "port": "rtr1", "session": "1"}\n',
     "kick: argument 'session' has the wrong type"),
    (b'{"v": 1, "id": 5, "op": "list", "colour": "red"}\n', "list: unknown argument 'colour'"),
    (b'{"v": 1, "id": 5, "op": "input", "port": "rtr1", "data": "@@@"}\n', "not attached to rtr1"),
    (b"\xff\xfe\n", "malformed JSON"),
])
def test_bad_requests_get_one_line_errors_and_keep_the_connection(line: bytes, error: str) -> None:
    """Each bad request gets an error reply, and the next good request still works."""
    @async_test
    async def body() -> None:
        async with running_server() as (server, _):
            client = await LineClient.open(server)
            await client.send_raw(line)
            reply = await client.recv()
            assert reply["ok"] is False and reply["v"] == 1
            assert reply["error"].startswith(error)
            assert "\n" not in reply["error"]
            assert (await client.call("list"))["ok"] is True
            await client.close()
    body()


@async_test
async def test_a_line_over_the_limit_is_refused_and_skipped() -> None:
    """A line over 1 MiB gets one error reply; the connection goes on after its newline."""
    async with running_server() as (server, _):
        client = await LineClient.open(server)
        await client.send_raw(b'{"v":1,"id":1,"op":"list","x":"' + b"a" * (1 << 20) + b'"}\n')
        reply = await client.recv()
        assert reply["ok"] is False and reply["error"] == "message longer than 1048576 bytes"
        assert (await client.call("list"))["ok"] is True
        await client.close()


@async_test
async def test_slow_subscriber_gets_a_dropped_count_and_never_blocks_the_bridge() -> None:
    """Events past the queue bound are dropped and counted; emitting never waits for the client."""
    async with running_server(queue_limit=50, counters_interval=3600) as (server, target):
        client = await LineClient.open(server)
        await client.call("subscribe")
        for i in range(5000):  # synchronous: the client cannot read in between
            target.emit(BridgeEvent("session-open", "rtr1", {"id": i, "peer": "p", "access": "writer"}))
        ids = [(await client.recv())["id"] for _ in range(50)]
        assert ids == list(range(50))
        assert await client.recv() == {"v": 1, "event": "dropped", "count": 4950}
        target.emit(BridgeEvent("port-state", "rtr1", {"state": DISABLED, "error": None}))
        assert (await client.recv())["state"] == DISABLED
        await client.close()


@async_test
async def test_unix_socket_is_mode_0660_in_a_created_directory() -> None:
    """The socket file is created with mode 0660, its parent directory made as needed."""
    with short_tmpdir() as tmp:
        path = tmp / "a" / "b" / "control.sock"
        server = ControlServer(FakeTarget(), str(path))
        await server.start()
        try:
            mode = os.stat(path).st_mode
            assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660
        finally:
            await server.close()
        assert not path.exists()


@async_test
async def test_stale_socket_is_replaced_and_a_live_one_refused() -> None:
    """A socket file nobody listens on is replaced; one with a live server is an error."""
    with short_tmpdir() as tmp:
        path = str(tmp / "control.sock")
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)
        stale.close()
        first = ControlServer(FakeTarget(), path)
        await first.start()
        try:
            second = ControlServer(FakeTarget(), path)
            with pytest.raises(RuntimeFailure, match="another serial-bridge is listening there"):
                await second.start()
        finally:
            await first.close()


@async_test
async def test_tcp_with_token_requires_hello_with_that_token() -> None:
    """On TCP with a token, requests before a good hello are refused as unauthorized."""
    async with running_server(token="s3cret", address="127.0.0.1:0") as (server, _):
        client = await LineClient.open(server)
        early = await client.call("list")
        assert early["ok"] is False and early["code"] == "unauthorized"
        wrong = await client.call("hello", token="guess")
        assert wrong["ok"] is False and wrong["error"] == "wrong or missing token"
        good = await client.call("hello", token="s3cret")
        assert good["ok"] is True and good["protocol"] == 1
        assert (await client.call("list"))["ok"] is True
        await client.close()


@async_test
async def test_repeated_bad_tokens_close_the_connection() -> None:
    """Three wrong tokens end the connection."""
    async with running_server(token="s3cret", address="127.0.0.1:0") as (server, _):
        client = await LineClient.open(server)
        for _ in range(3):
            assert (await client.call("hello", token="nope"))["ok"] is False
        async with asyncio.timeout(5):
            assert await client.reader.read() == b""
        await client.close()


def test_non_loopback_tcp_without_token_is_refused() -> None:
    """A control endpoint on a public address needs a token."""
    with pytest.raises(UserError, match="needs a control token"):
        ControlServer(FakeTarget(), "0.0.0.0:7100")
    ControlServer(FakeTarget(), "0.0.0.0:7100", token="t")


def test_bad_address_is_a_user_error() -> None:
    """An address that is neither a path nor host:port is one clear error."""
    with pytest.raises(UserError, match="expected a socket path or HOST:PORT"):
        ControlServer(FakeTarget(), "nowhere")


@async_test
async def test_auth_op_is_hello_with_a_required_token() -> None:
    """auth with the right token unlocks the connection like hello does."""
    async with running_server(token="s3cret") as (server, _):
        client = await LineClient.open(server)
        missing = await client.call("auth")
        assert missing["ok"] is False and missing["error"] == "auth: missing argument 'token'"
        assert (await client.call("auth", token="s3cret"))["ok"] is True
        assert (await client.call("list"))["ok"] is True
        await client.close()


@async_test
async def test_a_slow_tail_drops_output_with_a_count() -> None:
    """A tail that does not keep up loses output past the bound, and is told how many chunks."""
    async with running_server(queue_limit=10) as (server, target):
        client = await LineClient.open(server)
        await client.call("tail", port="rtr1", history=False)
        for i in range(1000):
            target.output("rtr1", b"%04d" % i)
        chunks = [base64.b64decode((await client.recv())["data"]) for _ in range(10)]
        assert chunks == [b"%04d" % i for i in range(10)]
        assert await client.recv() == {"v": 1, "event": "dropped", "count": 990}
        await client.close()
