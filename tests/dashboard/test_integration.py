"""The dashboard against the real daemon on a pseudo-terminal (marker: integration).

The bridge is started in-process the way `serial-bridge demo` starts it;
its device is a real pty, its clients real loopback sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import termios
from collections.abc import AsyncIterator
from typing import Any

import pytest
from textual import events
from textual.widgets import Input

from bridge.dashboard.app import DashboardApp, make_dashboard
from bridge.dashboard.screens.console import ConsoleScreen
from bridge.dashboard.screens.detail import DetailScreen
from bridge.dashboard.screens.settings import SettingsScreen
from bridge.dashboard.source import ControlSource
from tests.control.helpers import async_test, short_tmpdir
from tests.dashboard.helpers import SIZE, until

pytestmark = pytest.mark.integration

CONFIG = """\
[bridge]
bind = "127.0.0.1"
control = "{control}"
[[port]]
name = "board"
device = "{device}"
listen = {listen}
mode = "raw"
baud = 115200
lock_files = false
"""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class BreakRecorder:
    """The real device, plus a count of breaks sent (a pty cannot carry a break)."""

    def __init__(self, device: Any, breaks: list[float]) -> None:
        self._device = device
        self._breaks = breaks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._device, name)

    async def send_break(self, duration: float) -> None:
        """Record, then pass it on."""
        self._breaks.append(duration)
        await self._device.send_break(duration)


@contextlib.asynccontextmanager
async def real_bridge(breaks: list[float] | None = None) -> AsyncIterator[tuple[str, int, int, int]]:
    """A started bridge on a pty: yields (control path, listen port, pty master, pty slave)."""
    make_bridge = pytest.importorskip("bridge.app").make_bridge
    parse_config = pytest.importorskip("bridge.config.load").parse_config
    open_device = pytest.importorskip("bridge.device.backend").open_device
    recorded = breaks if breaks is not None else []

    async def opener(spec: str, settings: Any, options: Any) -> Any:
        return BreakRecorder(await open_device(spec, settings, options), recorded)

    master, slave = os.openpty()
    with short_tmpdir() as tmp:
        control, listen = str(tmp / "control.sock"), free_port()
        text = CONFIG.format(control=control, device=os.ttyname(slave), listen=listen)
        server = make_bridge(parse_config(text, "<test>"), opener=opener)
        await server.startup()
        try:
            yield control, listen, master, slave
        finally:
            await server.shutdown()
            for fd in (master, slave):
                with contextlib.suppress(OSError):  # a test may have closed the master
                    os.close(fd)


@contextlib.asynccontextmanager
async def dashboard_on(control: str) -> AsyncIterator[tuple[DashboardApp, Any]]:
    """The dashboard on that control endpoint, with the port shown as up."""
    app = make_dashboard([ControlSource(control, first_delay=0.02, max_delay=0.1)])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.main_screen.table.row_count == 1
                    and str(app.main_screen.table.get_row_at(0)[2]) == "up")
        yield app, pilot


@async_test
async def test_settings_change_reaches_the_device_termios() -> None:
    """A baud change from the settings form shows up in the pty's termios."""
    async with real_bridge() as (control, _, _, slave), dashboard_on(control) as (app, pilot):
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        baud = app.screen.query_one("#baud", Input)
        baud.value = "19200"
        baud.focus()
        await pilot.press("enter")  # not a click: a notification toast may cover the button
        await until(pilot, lambda: termios.tcgetattr(slave)[5] == termios.B19200)
        await until(pilot, lambda: str(app.main_screen.table.get_row_at(0)[3]) == "19200 8N1")


@async_test
async def test_device_output_reaches_the_detail_screen() -> None:
    """What the device writes appears in the port's detail output."""
    async with real_bridge() as (control, _, master, _), dashboard_on(control) as (app, pilot):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.tailing)
        os.write(master, b"U-Boot 2024.01\r\n=> ")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen)
                    and "U-Boot 2024.01" in app.screen.output.lines)


@async_test
async def test_kick_disconnects_a_real_client() -> None:
    """Kicking a session from the detail screen closes that client's TCP connection."""
    async with real_bridge() as (control, listen, _, _), dashboard_on(control) as (app, pilot):
        reader, writer = await asyncio.open_connection("127.0.0.1", listen)
        await until(pilot, lambda: str(app.main_screen.table.get_row_at(0)[4]) == "1")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen)
                    and app.screen.selected_session is not None)
        await pilot.press("k", "y")
        async with asyncio.timeout(5):
            while await reader.read(4096):
                pass
        writer.close()
        await until(pilot, lambda: str(app.main_screen.table.get_row_at(0)[4]) == "0")


@async_test
async def test_break_from_the_dashboard_reaches_the_device() -> None:
    """b on the port sends one break to the device."""
    breaks: list[float] = []
    async with real_bridge(breaks) as (control, _, _, _), dashboard_on(control) as (app, pilot):
        await pilot.press("b")
        await until(pilot, lambda: len(breaks) == 1)
        await until(pilot, lambda: ("information", "", "board: break sent") in app.notices)


@async_test
async def test_vanishing_device_is_shown_and_announced() -> None:
    """When the device goes away the port's row says so and a notification tells why."""
    async with real_bridge() as (control, _, master, _), dashboard_on(control) as (app, pilot):
        os.close(master)  # the pty hangs up: the device is gone
        await until(pilot, lambda: str(app.main_screen.table.get_row_at(0)[2]) == "waiting")
        await until(pilot, lambda: any(n[0] == "warning" and n[2].startswith("board is waiting-for-device")
                                       for n in app.notices))


@async_test
async def test_console_types_to_the_device_and_shows_its_screen() -> None:
    """Keys typed in the console reach the pty; what the device draws lands on the emulated screen."""
    async with real_bridge() as (control, _, master, _), dashboard_on(control) as (app, pilot):
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
        await pilot.press("l", "s", "enter")
        received = bytearray()
        arrived = asyncio.Event()

        def on_readable() -> None:
            received.extend(os.read(master, 1024))
            if b"ls\r" in received:
                arrived.set()

        loop = asyncio.get_running_loop()
        loop.add_reader(master, on_readable)
        try:
            async with asyncio.timeout(5):
                await arrived.wait()
        finally:
            loop.remove_reader(master)
        os.write(master, b"\x1b[2J\x1b[3;5HMENU")
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        await until(pilot, lambda: screen.terminal.display_lines()[2][4:8] == "MENU")


def _read_master(master: int, count: int, timeout: float) -> Any:
    """A coroutine: exactly ``count`` bytes written to the device, read from the pty master (bounded)."""
    async def read() -> bytes:
        received = bytearray()
        arrived = asyncio.Event()

        def on_readable() -> None:
            try:
                received.extend(os.read(master, 65536))
            except BlockingIOError:
                return
            if len(received) >= count:
                arrived.set()

        loop = asyncio.get_running_loop()
        loop.add_reader(master, on_readable)
        try:
            async with asyncio.timeout(timeout):
                await arrived.wait()
        finally:
            loop.remove_reader(master)
        return bytes(received)
    return read()


def test_console_delivers_a_thousand_keys_in_order_typed_before_and_after_attaching(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 keys fed at full speed (no wait between them), the first 500 while the attach is still
    under way (the real bridge's attach held at a gate until then): every one reaches the device,
    in order (issue 13); Ctrl-] and `quit` then leave."""
    from bridge.server import BridgeServer

    keys = [("abcdefghijklmnopqrstuvwxyz0123456789"[i % 36]) for i in range(1000)]
    gate = asyncio.Event()
    attach = BridgeServer.attach

    async def gated_attach(self: BridgeServer, *args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        return await attach(self, *args, **kwargs)

    monkeypatch.setattr(BridgeServer, "attach", gated_attach)

    async def main() -> None:
        async with real_bridge() as (control, _, master, _), dashboard_on(control) as (app, pilot):
            reading = asyncio.ensure_future(_read_master(master, len(keys), timeout=20))
            await pilot.press("a")
            screen = app.screen
            assert isinstance(screen, ConsoleScreen) and screen.session is None
            for key in keys[:500]:
                app.post_message(events.Key(key, key))
            await until(pilot, lambda: screen._input.qsize() == 500)
            gate.set()
            await until(pilot, lambda: screen.session is not None)
            for key in keys[500:]:
                app.post_message(events.Key(key, key))
            received = await reading
            assert received == "".join(keys).encode()
            await pilot.press("ctrl+right_square_bracket", *"quit", "enter")
            await until(pilot, lambda: not isinstance(app.screen, ConsoleScreen))

    async def bounded() -> None:
        async with asyncio.timeout(60):
            await main()
    asyncio.run(bounded())


def test_console_leaves_at_once_while_the_attach_is_under_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-] and `quit`, typed in one burst with `a` while the attach is held up, leave at once;
    the session the bridge opens after is closed."""
    from bridge.server import BridgeServer

    gate = asyncio.Event()
    servers: list[BridgeServer] = []
    attach = BridgeServer.attach

    async def gated_attach(self: BridgeServer, *args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        servers.append(self)
        return await attach(self, *args, **kwargs)

    monkeypatch.setattr(BridgeServer, "attach", gated_attach)

    async def main() -> None:
        async with real_bridge() as (control, _, _, _), dashboard_on(control) as (app, pilot):
            await pilot.press("a", "ctrl+right_square_bracket", *"quit", "enter")
            await until(pilot, lambda: not isinstance(app.screen, ConsoleScreen))
            gate.set()
            await until(pilot, lambda: bool(servers))
            await until(pilot, lambda: servers[0].workers["board"].sessions == [])

    async def bounded() -> None:
        async with asyncio.timeout(60):
            await main()
    asyncio.run(bounded())


@async_test
async def test_console_prompt_sets_the_baud_sends_a_break_and_quits() -> None:
    """Ctrl-] opens the prompt; `baud 19200` reaches the pty's termios, `break` the line (the
    recording device), an unknown word is one line of help, `quit` leaves; typing goes on between."""
    breaks: list[float] = []
    async with real_bridge(breaks) as (control, _, master, slave), dashboard_on(control) as (app, pilot):
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        await pilot.press("ctrl+right_square_bracket")
        await until(pilot, lambda: screen.prompt_open and screen.prompt_input.has_focus)
        await pilot.press(*"baud 19200", "enter")
        await until(pilot, lambda: termios.tcgetattr(slave)[5] == termios.B19200)
        await until(pilot, lambda: "board: line set: 19200 8N1" in screen.answers)
        await pilot.press("ctrl+right_square_bracket", *"break", "enter")
        await until(pilot, lambda: len(breaks) == 1 and "board: break sent" in screen.answers)
        await pilot.press("ctrl+right_square_bracket", *"reboot", "enter")
        await until(pilot, lambda: any(a.startswith("unknown command 'reboot'; commands: break,")
                                       for a in screen.answers))
        await pilot.press("o", "k")
        assert await _read_master(master, 2, timeout=5) == b"ok"
        await pilot.press("ctrl+right_square_bracket", *"quit", "enter")
        await until(pilot, lambda: not isinstance(app.screen, ConsoleScreen))
        await until(pilot, lambda: str(app.main_screen.table.get_row_at(0)[4]) == "0")   # detached
        assert str(app.main_screen.table.get_row_at(0)[3]) == "19200 8N1" and len(breaks) == 1
