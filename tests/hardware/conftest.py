"""Fixtures for the opt-in hardware tests: real adapters named on the pytest command line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import serial

from bridge.hardware.selftest import open_port


@pytest.fixture
def hw_loopback(request: pytest.FixtureRequest) -> Iterator[serial.Serial]:
    """The adapter named by --hw-loopback (TX joined to RX), opened 8N1; the test is skipped without it."""
    path = request.config.getoption("--hw-loopback")
    if not path:
        pytest.skip("no loopback adapter named: run pytest --hw-loopback /dev/ttyUSB0 "
                    "with TX joined to RX (see docs/testing-with-hardware.md)")
    port = open_port(str(path))
    yield port
    port.close()


@pytest.fixture
def hw_pair(request: pytest.FixtureRequest) -> Iterator[tuple[serial.Serial, serial.Serial]]:
    """The two adapters named by --hw-pair A,B (a null-modem cable); the test is skipped without them."""
    spec = request.config.getoption("--hw-pair")
    if not spec:
        pytest.skip("no null-modem pair named: run pytest --hw-pair /dev/ttyUSB0,/dev/ttyUSB1 "
                    "(see docs/testing-with-hardware.md)")
    paths = [p.strip() for p in str(spec).split(",")]
    if len(paths) != 2 or not all(paths):
        raise pytest.UsageError(f"--hw-pair {spec}: expected two devices, A,B")
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(contextlib.closing(open_port(paths[0])))
        second = stack.enter_context(contextlib.closing(open_port(paths[1])))
        yield first, second
