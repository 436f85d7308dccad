"""Fixtures of tests/access: the integration tests' ptys and daemons."""

from __future__ import annotations

import pytest

from tests.integration.conftest import make_pty, start_daemon

__all__ = ["make_pty", "start_daemon"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/access" in str(item.fspath) and "daemon" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
