"""Dashboard operability (issue 13): typing in the settings form, q, confirmations, listen column,
the detail output at its newest line."""

from __future__ import annotations

from textual.widgets import Input

from bridge.dashboard.screens.settings import SettingsScreen
from tests.control.helpers import async_test
from tests.dashboard.helpers import dashboard, until


@async_test
async def test_settings_form_takes_typing_at_once() -> None:
    """s, then typing a baud rate and Enter, with no click or Tab: the typed value is applied."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("s", "1", "9", "2", "0", "0", "enter")
        await until(pilot, lambda: target.calls)
        assert target.calls == [("set", "rtr1", "[('baud', 19200)]")]
        assert not isinstance(app.screen, SettingsScreen)


@async_test
async def test_settings_form_takes_a_burst_typed_right_after_s() -> None:
    """s and the digits in one burst (no wait between keys, as a quick typist's terminal sends them):
    the digits land in the baud field, not on the ports table."""
    from textual import events

    async with dashboard() as (app, pilot, (target,)):
        for key in ("s", "1", "9", "2", "0", "0"):
            app.post_message(events.Key(key, key))
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen)
                    and app.screen.query_one("#baud", Input).value == "19200")
        await pilot.press("enter")
        await until(pilot, lambda: target.calls)
        assert target.calls == [("set", "rtr1", "[('baud', 19200)]")]


@async_test
async def test_q_quits_from_the_ports_table() -> None:
    """q on the main screen ends the dashboard."""
    async with dashboard() as (app, pilot, _):
        await pilot.press("q")
        await until(pilot, lambda: app._exit)


@async_test
async def test_disable_asks_first_and_no_changes_nothing() -> None:
    """d asks; n (or Esc) sends nothing; d then y disables the port."""
    from bridge.dashboard.screens.confirm import ConfirmScreen
    from bridge.dashboard.screens.main import MainScreen

    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen) and "Disable rtr1?" in app.screen.question
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("d", "escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert target.calls == []
        await pilot.press("d", "y")
        await until(pilot, lambda: target.calls)
        assert target.calls == [("disable", "rtr1")]


@async_test
async def test_kick_asks_first() -> None:
    """k in the detail asks which session it will disconnect; y does it."""
    from bridge.dashboard.screens.confirm import ConfirmScreen
    from bridge.dashboard.screens.detail import DetailScreen

    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.selected_session == 1)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen) and app.screen.question == "Disconnect session 1 of rtr1?"
        assert target.calls == []
        await pilot.press("y")
        await until(pilot, lambda: target.calls)
        assert target.calls == [("kick", "rtr1", "1")]


@async_test
async def test_the_ports_table_shows_where_each_port_listens() -> None:
    """A Listen column with each port's address."""
    async with dashboard() as (app, pilot, _):
        table = app.main_screen.table
        headers = [str(column.label) for column in table.columns.values()]
        assert "Listen" in headers
        column = headers.index("Listen")
        assert [str(table.get_row_at(i)[column]) for i in range(table.row_count)] == \
            ["127.0.0.1:7001", "127.0.0.1:7002"]


@async_test
async def test_detail_output_opens_at_the_newest_line() -> None:
    """With more history than fits, the detail shows its end (the newest line), not its start."""
    from bridge.dashboard.screens.detail import DetailScreen

    async with dashboard() as (app, pilot, (target,)):
        target.output("rtr1", b"".join(b"line %d\r\n" % i for i in range(300)) + b"newest")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.tailing
                    and "newest" in app.screen.output.lines)
        assert isinstance(app.screen, DetailScreen)
        output = app.screen.output
        await until(pilot, lambda: output.max_scroll_y > 0 and output.scroll_y == output.max_scroll_y)


@async_test
async def test_a_failed_port_is_listed_as_failed_with_its_reason() -> None:
    """A port that could not listen shows as failed in the table, and the notification says why."""
    from dataclasses import replace

    from bridge.control.target import BridgeEvent
    from bridge.port.status import FAILED

    reason = "cannot listen on 127.0.0.1:7002: Address already in use"
    async with dashboard() as (app, pilot, (target,)):
        target.ports["sw1"] = replace(target.ports["sw1"], state=FAILED, error=reason)
        target.emit(BridgeEvent("port-state", "sw1", {"state": FAILED, "error": reason}))
        await until(pilot, lambda: str(app.main_screen.table.get_row_at(1)[2]) == "failed")
        await until(pilot, lambda: ("warning", "", f"sw1 is failed: {reason}") in app.notices)
