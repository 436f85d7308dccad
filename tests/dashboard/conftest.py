"""Fixtures shared by the dashboard's snapshot tests."""

from __future__ import annotations

import types

import pytest

from bridge.dashboard.widgets import port_summary, port_table, session_table

NOW = 1_000_000.0  # the frozen clock: ages read the same on every run


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The widgets' clock stands still at ``NOW``."""
    clock = types.SimpleNamespace(time=lambda: NOW)
    for module in (port_table, port_summary, session_table):
        monkeypatch.setattr(module, "time", clock)
