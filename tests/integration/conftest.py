"""Fixtures for whole-bridge tests: ptys and daemons cleaned up whatever happens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import Daemon, PtyDevice


@pytest.fixture
def make_pty() -> Iterator[Callable[[], PtyDevice]]:
    """Creates pseudo-terminal devices, closed at the end of the test."""
    made: list[PtyDevice] = []

    def make() -> PtyDevice:
        dev = PtyDevice()
        made.append(dev)
        return dev
    yield make
    for dev in made:
        dev.close()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[[str], Daemon]]:
    """Starts `serial-bridge serve` on a config text; killed at the end if still running."""
    started: list[Daemon] = []

    def start(config_text: str) -> Daemon:
        folder = tmp_path / f"d{len(started)}"
        folder.mkdir()
        daemon = Daemon(config_text, folder)
        started.append(daemon)
        return daemon
    yield start
    for daemon in started:
        daemon.kill()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
