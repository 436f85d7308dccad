"""Helpers for dashboard tests: the app over a control server with a fake bridge."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from rich.cells import cell_len
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable

from bridge.dashboard.app import DashboardApp, make_dashboard
from bridge.dashboard.source import ControlSource
from tests.control.fake_target import FakeTarget
from tests.control.helpers import running_server

SIZE = (80, 24)
TIMEOUT = 5.0


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = TIMEOUT) -> None:
    """Let the app run until ``condition()`` is true; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await pilot.pause(0.01)


def _measured(table: DataTable[Any]) -> bool:
    """Every column of ``table`` is as wide as its widest cell (Textual measures when idle)."""
    return all(column.content_width >= max((cell_len(str(cell)) for cell in table.get_column(key)),
                                           default=0)
               for key, column in table.columns.items())


async def settle(app: App[Any], pilot: Pilot[Any]) -> None:
    """No toasts, nothing pending, the current screen's tables drawn at their measured widths.

    A DataTable drawn between new rows and its idle-time width measurement can keep those
    rows cached at the headers' widths (seen under load: "/dev/t" for "/dev/ttyUSB0");
    once measured, ``notify_style_update()`` drops its render caches, so a snapshot never
    depends on that timing.
    """
    app.clear_notifications()
    for table in app.screen.query(DataTable):
        await until(pilot, lambda: _measured(table))
        table.notify_style_update()
    await pilot.pause()
    await pilot.pause()


@contextlib.asynccontextmanager
async def dashboard(targets: int = 1, **server_args: Any
                    ) -> AsyncIterator[tuple[DashboardApp, Pilot[Any], list[FakeTarget]]]:
    """The dashboard at 80x24 over ``targets`` fake bridges, each behind its own control server."""
    async with contextlib.AsyncExitStack() as stack:
        fakes: list[FakeTarget] = []
        sources = []
        for index in range(targets):
            server, target = await stack.enter_async_context(
                running_server(counters_interval=server_args.get("counters_interval", 3600)))
            fakes.append(target)
            sources.append(ControlSource(server.address, label=f"host{index}",
                                         first_delay=0.02, max_delay=0.1))
        app = make_dashboard(sources)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.main_screen.table.row_count > 0)
            yield app, pilot, fakes
