"""`serial-bridge status` and `ctl` against a control server with a fake bridge on a real Unix socket."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.control.server import ControlServer
from tests.control.fake_target import FakeTarget
from tests.control.helpers import short_tmpdir


class ServerThread:
    """A control server over a FakeTarget, on its own event loop in a thread."""

    def __init__(self, path: str, token: str | None = None) -> None:
        self.path = path
        self.token = token
        self.loop = asyncio.new_event_loop()
        self.target: FakeTarget | None = None
        self.server: ControlServer | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        self.target = FakeTarget()
        self.server = ControlServer(self.target, self.path, self.token)
        await self.server.start()

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def bridge() -> Iterator[ServerThread]:
    """A running fake bridge's control endpoint."""
    with short_tmpdir() as tmp, ServerThread(str(tmp / "control.sock")) as running:
        yield running


def test_status_prints_the_ports_table(bridge: ServerThread, capsys: pytest.CaptureFixture[str]) -> None:
    """status prints one aligned row per port with state, settings and clients."""
    assert main(["status", "--control", bridge.path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["PORT", "DEVICE", "STATE", "SETTINGS", "LISTEN", "CLIENTS", "RX", "TX", "LAST"]
    assert lines[1].split()[:7] == ["rtr1", "/dev/ttyUSB0", "up", "9600", "8N1", "127.0.0.1:7001", "1"]
    assert lines[2].split()[:7] == ["sw1", "/dev/ttyUSB1", "up", "115200", "8N1", "127.0.0.1:7002", "0"]


def test_status_json_is_the_list_reply(bridge: ServerThread, capsys: pytest.CaptureFixture[str]) -> None:
    """status --json prints the ports as the control API reports them."""
    assert main(["status", "--json", "--control", bridge.path]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in data["ports"]] == ["rtr1", "sw1"]
    assert data["ports"][0]["sessions"][0]["id"] == 1


@pytest.mark.parametrize(("argv", "call", "said"), [
    (["break", "rtr1"], ("break", "rtr1"), "rtr1: break sent"),
    (["ip", "rtr1"], ("ip", "rtr1"), "rtr1: interrupt sent"),
    (["disable", "sw1"], ("disable", "sw1"), "sw1: disabled"),
    (["enable", "sw1"], ("enable", "sw1"), "sw1: enabled"),
    (["kick", "rtr1", "1"], ("kick", "rtr1", "1"), "rtr1: session 1 disconnected"),
    (["set", "sw1", "baud=57600", "parity=even", "stopbits=2"],
     ("set", "sw1", "[('baud', 57600), ('parity', 'even'), ('stopbits', 2)]"), "sw1: 57600 8E2"),
    (["reload"], ("reload",), "reloaded: changed sw1"),
])
def test_ctl_actions_reach_the_bridge_and_say_what_they_did(
        bridge: ServerThread, capsys: pytest.CaptureFixture[str],
        argv: list[str], call: tuple[str, ...], said: str) -> None:
    """Each ctl action makes exactly its call on the bridge and prints one line."""
    assert main(["ctl", "--control", bridge.path, *argv]) == 0
    assert bridge.target is not None and bridge.target.calls == [call]
    assert capsys.readouterr().out == said + "\n"


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["break", "nope"], 2, "serial-bridge: error: no such port 'nope'"),
    (["set", "rtr1", "parity=sideways"], 2,
     'serial-bridge: error: parity: must be one of none | even | odd | mark | space, got "sideways"'),
    (["set", "rtr1", "baud"], 2, "serial-bridge: error: 'baud': expected KEY=VALUE, for example baud=9600"),
    (["set", "rtr1", "speed=9600"], 2, "serial-bridge: error: unknown setting 'speed'"),
    (["set", "rtr1", "parity=mark"], 1, "serial-bridge: error: mark parity is not supported by this device"),
    (["kick", "rtr1", "99"], 1, "serial-bridge: error: rtr1 has no session 99"),
])
def test_ctl_failures_are_one_line_with_the_right_exit_code(
        bridge: ServerThread, capsys: pytest.CaptureFixture[str],
        argv: list[str], code: int, message: str) -> None:
    """A refused or mistaken action prints one error line and exits 2 (caller's mistake) or 1."""
    assert main(["ctl", "--control", bridge.path, *argv]) == code
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_unreachable_daemon_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """With nothing listening, status and ctl say so in one line and exit 1."""
    with short_tmpdir() as tmp:
        missing = str(Path(tmp) / "none.sock")
        assert main(["status", "--control", missing]) == 1
        assert main(["ctl", "--control", missing, "break", "rtr1"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0] == (f"serial-bridge: error: cannot reach the bridge at {missing}: "
                      "No such file or directory (is 'serial-bridge serve' running?)")


def test_a_wrong_token_is_one_line_that_does_not_ask_whether_serve_runs(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """UAT: the bridge is running and refused the token: say that, and where the token comes from;
    "is 'serial-bridge serve' running?" would send the user looking for the wrong fault."""
    monkeypatch.setenv("SERIAL_BRIDGE_TOKEN", "not-the-token")
    with short_tmpdir() as tmp, ServerThread(str(Path(tmp) / "b.sock"), token="the-token") as bridge:
        assert main(["status", "--control", bridge.path]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused us" in err and "token" in err, err
    assert "SERIAL_BRIDGE_TOKEN" in err and "running?" not in err, err


def test_control_option_may_follow_the_action(bridge: ServerThread, capsys: pytest.CaptureFixture[str]) -> None:
    """`ctl break PORT --control ADDR` works as well as `ctl --control ADDR break PORT`."""
    assert main(["ctl", "break", "rtr1", "--control", bridge.path]) == 0
    assert main(["ctl", "set", "sw1", "baud=1200", "--control", bridge.path]) == 0
    assert bridge.target is not None
    assert [c[0] for c in bridge.target.calls] == ["break", "set"]
    assert capsys.readouterr().out == "rtr1: break sent\nsw1: 1200 8N1\n"
