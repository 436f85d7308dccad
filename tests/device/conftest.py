"""Fixtures for device tests: real pseudo-terminals and temporary lock dirs."""

from __future__ import annotations

import os
import pty
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass
class Pty:
    """A pseudo-terminal: the master fd (the 'device side') and the slave path we open."""

    master: int
    path: str


@pytest.fixture
def pty_pair() -> Iterator[Pty]:
    """A fresh pty; the slave fd is closed at once so only the Device holds it."""
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    os.set_blocking(master, False)
    pair = Pty(master, path)
    yield pair
    if pair.master >= 0:
        try:
            os.close(pair.master)
        except OSError:
            pass
