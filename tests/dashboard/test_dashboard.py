"""The dashboard at 80x24, driven by Pilot, against the control server and a fake bridge."""

from __future__ import annotations

from bridge.dashboard.screens.detail import DetailScreen
from tests.control.helpers import async_test
from tests.dashboard.helpers import dashboard, until


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
