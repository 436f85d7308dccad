"""Shared pytest options and fixtures."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("serial-bridge hardware")
    group.addoption("--hw-loopback", metavar="DEVICE", default=None,
                    help="a serial adapter with TX joined to RX, for the hardware tests")
    group.addoption("--hw-pair", metavar="A,B", default=None,
                    help="two serial adapters joined by a null-modem cable, for the hardware tests")
