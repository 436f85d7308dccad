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
