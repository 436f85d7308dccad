"""SVG snapshots (pytest-textual-snapshot) of the main screen, a port's detail and the
settings form at 80x24: characters, colours and layout, against a fake bridge's real
control server running in another thread.

The app reaches the bridge over a real Unix socket; the clock is frozen, the data fixed,
notifications cleared and the cursor does not blink, so every run draws the same picture.
Record or update the files in ``__snapshots__/`` with ``pytest --snapshot-update``; a
mismatch writes an HTML report showing both pictures (``build/snapshot_report.html``,
set in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from bridge.dashboard.app import DashboardApp, make_dashboard
from bridge.dashboard.screens.detail import DetailScreen
from bridge.dashboard.screens.settings import SettingsScreen
from bridge.dashboard.source import ControlSource
from tests.dashboard.helpers import SIZE, settle, until
from tests.dashboard.threaded import ThreadedBridge, threaded_bridge

SnapCompare = Callable[..., bool]
Before = Callable[[Pilot[Any]], Awaitable[None]]
ROUTER_OUTPUT = b"\r\nRouter>show clock\r\n*12:00:00.000 UTC Mon Mar 1 2026\r\nRouter>"


@pytest.fixture
def bridge(frozen_clock: None) -> Iterator[ThreadedBridge]:
    """A fake bridge (ports rtr1 and sw1) serving its control API from another thread."""
    with threaded_bridge() as running:
        yield running


def app_for(bridge: ThreadedBridge) -> DashboardApp:
    """The dashboard over the one bridge, labelled host0 as in the text snapshots."""
    return make_dashboard([ControlSource(bridge.address, label="host0", first_delay=0.02, max_delay=0.1)])


async def show_ports(pilot: Pilot[Any]) -> None:
    """Wait for the ports table to fill, then clear the 'connected' toast."""
    app = pilot.app
    assert isinstance(app, DashboardApp)
    await until(pilot, lambda: app.main_screen.table.row_count == 2)
    await settle(app, pilot)


def open_detail(bridge: ThreadedBridge) -> Before:
    """Open rtr1's detail and have the device print a few lines into its live output."""
    async def before(pilot: Pilot[Any]) -> None:
        await show_ports(pilot)
        app = pilot.app
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.tailing)
        bridge.output("rtr1", ROUTER_OUTPUT)
        await until(pilot, lambda: isinstance(app.screen, DetailScreen)
                    and app.screen.output.lines[-1:] == ["Router>"]
                    and len(app.screen.output.lines) == 4)
        await settle(app, pilot)
    return before


def open_settings(bridge: ThreadedBridge) -> Before:
    """Open rtr1's detail, then its settings form, with the baud field's cursor held still."""
    detail = open_detail(bridge)

    async def before(pilot: Pilot[Any]) -> None:
        await detail(pilot)
        app = pilot.app
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        baud = app.screen.query_one("#baud", Input)
        await until(pilot, lambda: baud.has_focus)
        baud.cursor_blink = False
        await settle(app, pilot)
    return before


def test_main_screen_matches_its_svg_snapshot(snap_compare: SnapCompare, bridge: ThreadedBridge) -> None:
    """The ports table of one bridge looks as recorded, colours included."""
    assert snap_compare(app_for(bridge), terminal_size=SIZE, run_before=show_ports)


def test_detail_screen_matches_its_svg_snapshot(snap_compare: SnapCompare, bridge: ThreadedBridge) -> None:
    """rtr1's detail with live output and its session looks as recorded."""
    assert snap_compare(app_for(bridge), terminal_size=SIZE, run_before=open_detail(bridge))


def test_settings_form_matches_its_svg_snapshot(snap_compare: SnapCompare, bridge: ThreadedBridge) -> None:
    """The line-settings form over rtr1's detail looks as recorded."""
    assert snap_compare(app_for(bridge), terminal_size=SIZE, run_before=open_settings(bridge))
