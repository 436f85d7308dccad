"""The dashboard at 80x24, driven by Pilot, against the control server and a fake bridge."""

from __future__ import annotations

from dataclasses import replace

from textual.command import CommandPalette
from textual.widgets import Input, Select, Static

from bridge.control.server import ControlServer
from bridge.dashboard.app import make_dashboard
from bridge.dashboard.screens.detail import DetailScreen
from bridge.dashboard.screens.help import HelpScreen
from bridge.dashboard.screens.main import MainScreen
from bridge.dashboard.screens.settings import SettingsScreen
from bridge.dashboard.source import ControlSource
from tests.control.fake_target import FakeTarget
from tests.control.helpers import async_test, short_tmpdir
from tests.dashboard.helpers import SIZE, dashboard, until


@async_test
async def test_table_shows_each_port_with_state_settings_and_clients() -> None:
    """The main table lists every port: name, device, state, short settings, clients."""
    async with dashboard() as (app, pilot, _):
        table = app.main_screen.table
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows[0][:5] == ["rtr1", "/dev/ttyUSB0", "up", "9600 8N1", "1"]
        assert rows[1][:5] == ["sw1", "/dev/ttyUSB1", "up", "115200 8N1", "0"]


@async_test
async def test_break_key_sends_a_break_to_the_selected_port() -> None:
    """b on the second row sends a break to that port, once."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("down", "b")
        await until(pilot, lambda: target.calls)
        assert target.calls == [("break", "sw1")]


@async_test
async def test_enter_opens_detail_with_history_and_live_output() -> None:
    """Enter opens the port's detail, which shows its history and then its live output."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await until(pilot, lambda: target.tails.get("rtr1"))
        await until(pilot, lambda: "Router>" in screen.output.lines)
        target.output("rtr1", b"\r\nshow version\r\nIOS 15.2\r\n")
        await until(pilot, lambda: "IOS 15.2" in screen.output.lines)


@async_test
async def test_action_keys_reach_the_bridge() -> None:
    """i, d, e and r send interrupt, disable, enable and reload for the selected port."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("i")
        await until(pilot, lambda: len(target.calls) == 1)
        await pilot.press("d", "y")   # disabling asks first
        await until(pilot, lambda: len(target.calls) == 2)
        await pilot.press("e")
        await until(pilot, lambda: len(target.calls) == 3)
        await pilot.press("r")
        await until(pilot, lambda: len(target.calls) == 4)
        assert target.calls == [("ip", "rtr1"), ("disable", "rtr1"), ("enable", "rtr1"), ("reload",)]
        await until(pilot, lambda: ("information", "reloaded host0", "changed: sw1") in app.notices)


@async_test
async def test_a_refused_reload_is_not_called_reloaded_and_users_count_as_changes() -> None:
    """A config file the bridge refused is an error notice, never "reloaded: nothing changed";
    a reload that only added a user says so."""
    async with dashboard() as (app, pilot, (target,)):
        target.reload_result = {"added": [], "removed": [], "changed": [], "errors": ["bridge.toml:3: bad"],
                                "rejected": ["bridge.toml:3: bad"]}
        await pilot.press("r")
        await until(pilot, lambda: any(n[1] == "reload refused by host0" for n in app.notices))
        assert not any(n[1] == "reloaded host0" for n in app.notices)
        target.reload_result = {"added": [], "removed": [], "changed": [], "errors": [],
                                "bridge": ["user carol added"]}
        await pilot.press("r")
        await until(pilot, lambda: ("information", "reloaded host0", "user carol added") in app.notices)


@async_test
async def test_state_change_raises_a_notification_and_recolours_the_row() -> None:
    """A port going to waiting-for-device is announced and shown in the table."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("down", "d", "y")
        await until(pilot, lambda: ("warning", "", "sw1 is disabled") in app.notices)
        await until(pilot, lambda: str(app.main_screen.table.get_row_at(1)[2]) == "disabled")


@async_test
async def test_settings_form_validates_and_applies_only_changes() -> None:
    """The settings form refuses a bad baud rate, then sends only the changed settings."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        form = app.screen
        assert isinstance(form, SettingsScreen)
        baud = form.query_one("#baud", Input)
        baud.value = ""
        await pilot.press("enter")
        await until(pilot, lambda: "whole number" in str(form.query_one("#settings-error", Static).render()))
        assert isinstance(app.screen, SettingsScreen) and target.calls == []
        baud.value = "115200"
        form.query_one("#parity", Select).value = "even"
        form.query_one("#apply").focus()
        await pilot.press("enter")  # not a click: a notification toast may cover the button
        await until(pilot, lambda: target.calls)
        assert target.calls == [("set", "rtr1", "[('baud', 115200), ('parity', 'even')]")]
        await until(pilot, lambda: str(app.main_screen.table.get_row_at(0)[3]) == "115200 8E1")


@async_test
async def test_settings_form_escape_changes_nothing() -> None:
    """Escape closes the settings form without a request."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert target.calls == []


@async_test
async def test_kick_in_detail_disconnects_the_session_under_the_cursor() -> None:
    """k on the detail screen kicks the session selected in its sessions table."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen)
                    and app.screen.selected_session == 1)
        await pilot.press("k", "y")   # kicking asks first
        await until(pilot, lambda: target.calls)
        assert target.calls == [("kick", "rtr1", "1")]


@async_test
async def test_search_finds_a_line_of_output() -> None:
    """/ opens the search bar and Enter moves to the matching line; n finds the next one."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await until(pilot, lambda: target.tails.get("rtr1"))
        target.output("rtr1", b"\r\nalpha\r\nneedle one\r\nbeta\r\nneedle two\r\n")
        await until(pilot, lambda: "needle two" in screen.output.lines)
        await pilot.press("slash", *"NEEDLE", "enter")
        first = screen.output.lines.index("needle one")
        await until(pilot, lambda: screen.output.match_line == first)
        screen.output.focus()
        await pilot.press("n")
        assert screen.output.match_line == screen.output.lines.index("needle two")
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await until(pilot, lambda: target.tails["rtr1"] == [])


@async_test
async def test_help_screen_lists_the_keys() -> None:
    """? shows the help with the console's escape key (the prompt); Esc closes it."""
    async with dashboard() as (app, pilot, _):
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = str(app.screen.query_one("#help-text", Static).render())
        assert "Ctrl-]  the prompt: quit leaves, help lists" in text
        assert "Ctrl-] Ctrl-]  send Ctrl-] itself" in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))


@async_test
async def test_command_palette_offers_port_actions_and_runs_them() -> None:
    """The command palette lists the port actions for the selected port; choosing one runs it."""
    async with dashboard() as (app, pilot, (target,)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Send break: rtr1", "Change line settings: rtr1", "Reload config", "Keys"} <= set(titles)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Send break", "enter")
        await until(pilot, lambda: target.calls)
        assert target.calls == [("break", "rtr1")]


@async_test
async def test_several_bridges_are_grouped_by_host() -> None:
    """With two control addresses the table has a host column, one group per bridge."""
    async with dashboard(targets=2) as (app, pilot, _):
        table = app.main_screen.table
        await until(pilot, lambda: table.row_count == 4)
        rows = [[str(c) for c in table.get_row_at(i)][:2] for i in range(4)]
        assert rows == [["host0", "rtr1"], ["", "sw1"], ["host1", "rtr1"], ["", "sw1"]]


@async_test
async def test_dashboard_reconnects_when_the_daemon_comes_back() -> None:
    """When the control server goes away the ports show offline; when it returns they are back."""
    with short_tmpdir() as tmp:
        path = str(tmp / "control.sock")
        server = ControlServer(FakeTarget(), path, counters_interval=3600)
        await server.start()
        app = make_dashboard([ControlSource(path, first_delay=0.02, max_delay=0.05)])
        async with app.run_test(size=SIZE) as pilot:
            table = app.main_screen.table
            await until(pilot, lambda: table.row_count == 2)
            await server.close()
            await until(pilot, lambda: str(table.get_row_at(0)[2]) == "offline")
            target = FakeTarget()
            target.ports = {"rtr1": target.ports["rtr1"]}
            server = ControlServer(target, path, counters_interval=3600)
            await server.start()
            await until(pilot, lambda: table.row_count == 1 and str(table.get_row_at(0)[2]) == "up")
            assert ("information", "", "connected to " + path) in app.notices
        await server.close()


@async_test
async def test_counters_give_rates_in_the_table() -> None:
    """Counters events turn into receive rates in the table."""
    async with dashboard(counters_interval=0.05) as (app, pilot, (target,)):
        await until(pilot, lambda: app.store.counter_updates > 0)
        port = target.ports["sw1"]
        target.ports["sw1"] = replace(port, rx_bytes=10_000_000)
        await until(pilot, lambda: str(app.main_screen.table.get_row_at(1)[5]) not in ("-", ""))
        assert str(app.main_screen.table.get_row_at(1)[5]).endswith("M")
