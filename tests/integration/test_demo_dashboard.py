"""`serial-bridge demo` with its dashboard: shows the board, its live output, and sends it a break."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bridge.commands.demo import run_demo
from bridge.dashboard.screens.detail import DetailScreen
from tests.dashboard.helpers import SIZE, until


def test_demo_dashboard_shows_the_board_and_sends_it_a_break() -> None:
    """The demo's dashboard lists the port as up, shows the boot output, and its break reaches the board."""
    seen: dict[str, bool] = {}

    async def drive(app: Any) -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.main_screen.table.row_count == 1
                        and str(app.main_screen.table.get_row_at(0)[2]) == "up", timeout=10)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen)
                        and any("login:" in line for line in app.screen.output.lines), timeout=10)
            seen["output"] = True
            await pilot.press("escape")
            await pilot.press("b")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen)
                        and any("[break received]" in line for line in app.screen.output.lines), timeout=10)
            seen["break"] = True
            await app.action_quit()

    args = argparse.Namespace(port=0, bind="127.0.0.1", no_dashboard=False, control=None, time_scale=0.01)
    assert asyncio.run(asyncio.wait_for(run_demo(args, app_runner=drive), 30)) == 0
    assert seen == {"output": True, "break": True}
