"""`serial-bridge demo` with its dashboard: shows the board, its live output, and sends it a break."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.commands.demo import run_demo
from bridge.control.address import SYSTEM_PATH, demo_control_address
from bridge.dashboard.widgets.log_pane import LogPane
from bridge.dashboard.screens.detail import DetailScreen
from tests.dashboard.helpers import SIZE, until


def test_demo_dashboard_shows_the_board_and_sends_it_a_break(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    """The demo's dashboard lists the port as up, shows the boot output, and its break reaches the board."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))   # its control socket away from other runs
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


def test_demo_logs_into_its_pane_and_status_finds_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     capfd: pytest.CaptureFixture[str],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """The daemon's log lines go to the dashboard's log pane, never to the terminal under it; and
    `serial-bridge status` (no --control) finds the running demo (issue 13)."""
    if os.path.exists(SYSTEM_PATH):
        pytest.skip(f"a system bridge's socket exists ({SYSTEM_PATH}): status rightly shows that bridge")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))   # this test's own default socket folder
    caplog.set_level(logging.INFO)                          # as `serial-bridge demo` logs
    seen: dict[str, str] = {}

    async def drive(app: Any) -> None:
        async with app.run_test(size=SIZE) as pilot:
            pane = app.main_screen.query_one("#log", LogPane)
            await until(pilot, lambda: any("listening on" in line for line in pane.lines), timeout=10)
            await until(pilot, lambda: app.main_screen.table.row_count == 1, timeout=10)
            await pilot.press("b")
            await until(pilot, lambda: any("break" in line for line in pane.lines[1:]), timeout=10)
            status = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bridge", "status", stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path)))
            out, err = await asyncio.wait_for(status.communicate(), 20)
            seen["status"] = out.decode() + err.decode()
            seen["pane"] = "\n".join(pane.lines)
            await app.action_quit()

    args = argparse.Namespace(port=0, bind="127.0.0.1", no_dashboard=False, control=None, time_scale=0.01)
    assert asyncio.run(asyncio.wait_for(run_demo(args, app_runner=drive), 40)) == 0
    assert demo_control_address() == f"{tmp_path}/serial-bridge/demo.sock"
    row = seen["status"].splitlines()[1].split()
    assert row[0] == "demo" and row[2] == "up", seen["status"]
    assert "INFO: port demo: listening on" in seen["pane"]
    assert "control endpoint on" in seen["pane"]
    captured = capfd.readouterr()
    assert "INFO" not in captured.err and "WARNING" not in captured.err, captured.err
