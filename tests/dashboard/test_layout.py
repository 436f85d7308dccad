"""Every screen fits an 80x24 terminal."""

from __future__ import annotations

from typing import Any

from textual.geometry import Region

from bridge.dashboard.screens.console import ConsoleScreen
from bridge.dashboard.screens.detail import DetailScreen
from bridge.dashboard.screens.help import HelpScreen
from bridge.dashboard.screens.settings import SettingsScreen
from tests.control.helpers import async_test
from tests.dashboard.helpers import dashboard, until

SCREEN = Region(0, 0, 80, 24)


def clipped(app: Any, *ids: str) -> dict[str, Region]:
    """The named widgets of the current screen whose region is not fully on screen or is empty."""
    bad = {}
    for widget_id in ids:
        region = app.screen.query_one(f"#{widget_id}").region
        if region.area == 0 or SCREEN.intersection(region) != region:
            bad[widget_id] = region
    return bad


@async_test
async def test_main_detail_settings_and_help_fit_80x24() -> None:
    """The table, the detail's parts, the whole settings form and the help text are on screen."""
    async with dashboard() as (app, pilot, _):
        assert clipped(app, "ports", "connection") == {}
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.pause()
        assert clipped(app, "summary", "output", "sessions") == {}
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await pilot.pause()
        assert clipped(app, "baud", "bytesize", "parity", "stopbits", "flow", "apply", "cancel") == {}
        box = app.screen.query_one("#settings-box").content_region
        assert box.contains_region(app.screen.query_one("#apply").region)
        await pilot.press("escape", "question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        help_box = app.screen.query_one("#help-box")
        assert clipped(app, "help-box") == {}
        assert help_box.max_scroll_y == 0  # the whole help shows without scrolling


@async_test
async def test_console_prompt_and_its_answers_fit_80x24() -> None:
    """With the help answered and the prompt open again, the answers and the prompt line are on
    screen, the prompt line on the last row, the answers above it showing their last line."""
    async with dashboard() as (app, pilot, _):
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        await pilot.press("ctrl+right_square_bracket", *"help", "enter", "ctrl+right_square_bracket")
        await until(pilot, lambda: screen.prompt_open and len(screen.answers) > 10)
        await pilot.pause()
        assert clipped(app, "terminal", "prompt-answers", "prompt-line") == {}
        line, answers = screen.query_one("#prompt-line").region, screen.query_one("#prompt-answers").region
        assert line.y == 23 and line.height == 1 and answers.bottom == line.y
        assert 1 < answers.height <= 13
