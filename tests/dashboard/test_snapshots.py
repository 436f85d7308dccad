"""Text snapshots of the key screens at 80x24: the screen's characters, readable in a diff.

test_svg_snapshots.py holds the pytest-textual-snapshot (SVG) pictures of the same
screens, colours included; these stay as the plain-text view of a layout change.

Run with SB_UPDATE_SNAPSHOTS=1 to rewrite the files in tests/dashboard/snapshots/.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bridge.dashboard.screens.detail import DetailScreen
from bridge.dashboard.screens.settings import SettingsScreen
from tests.control.helpers import async_test
from tests.dashboard.helpers import dashboard, settle, until

SNAPSHOTS = Path(__file__).parent / "snapshots"


def screen_text(app: Any) -> str:
    """The current screen's characters, as a terminal would show them."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(  # noqa: SLF001 - as App.export_screenshot
        full=True, screen_stack=app._background_screens))  # noqa: SLF001
    return "\n".join(line.rstrip() for line in console.export_text(styles=False).splitlines()) + "\n"


def check(name: str, text: str) -> None:
    """Compare with the stored snapshot (or store it when updating)."""
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("SB_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text)
    assert path.exists(), f"no snapshot {path.name}: run with SB_UPDATE_SNAPSHOTS=1 to record it"
    assert text == path.read_text()


@pytest.mark.usefixtures("frozen_clock")
@async_test
async def test_snapshots_of_main_detail_and_settings() -> None:
    """The main table, a port's detail and the settings form look as recorded."""
    async with dashboard() as (app, pilot, (target,)):
        await settle(app, pilot)
        check("main", screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.tailing)
        target.output("rtr1", b"\r\nRouter>show clock\r\n*12:00:00.000 UTC Mon Mar 1 2026\r\nRouter>")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen)
                    and "Router>" in app.screen.output.lines[-1:])
        await settle(app, pilot)
        check("detail", screen_text(app))
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await settle(app, pilot)
        check("settings", screen_text(app))
