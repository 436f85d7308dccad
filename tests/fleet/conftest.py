"""Fixtures for fleet tests: the whole-bridge fixtures (ptys, daemons) of tests/integration."""

from __future__ import annotations

import pytest

from tests.integration.conftest import make_pty, start_daemon

__all__ = ["make_pty", "start_daemon"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fleet/test_daemon" in str(item.fspath) or "tests/fleet/test_mdns" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
