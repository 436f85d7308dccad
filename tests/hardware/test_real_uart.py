"""Opt-in checks on real UARTs: the selftest's checks, run by pytest on named adapters.

Skipped unless ``--hw-loopback DEVICE`` or ``--hw-pair A,B`` is given
(docs/testing-with-hardware.md says how to wire them).
"""

from __future__ import annotations

import random

import pytest
import serial

from bridge.hardware.selftest import (
    FRAMINGS,
    Framing,
    Link,
    Outcome,
    check_break,
    check_data,
    check_framing,
    check_modem_lines,
    links_for,
)

pytestmark = pytest.mark.hardware

BAUDS = (1200, 9600, 19200, 38400, 57600, 115200, 230400)


@pytest.mark.parametrize("baud", BAUDS)
def test_loopback_data_is_byte_exact(hw_loopback: serial.Serial, baud: int) -> None:
    """Random bytes come back byte-exact through the TX-RX jumper at each baud rate."""
    result = check_data(Link(hw_loopback, hw_loopback), baud, random.Random(baud))
    assert result.outcome is Outcome.PASS, result.detail


@pytest.mark.parametrize("framing", FRAMINGS, ids=lambda f: f.label)
def test_loopback_framing_round_trips(hw_loopback: serial.Serial, framing: Framing) -> None:
    """Each data size, parity and stop-bit setting reads back equal and data still passes."""
    result = check_framing(Link(hw_loopback, hw_loopback), 9600, framing, random.Random(1))
    assert result.outcome is Outcome.PASS, result.detail


@pytest.mark.parametrize("baud", (9600, 115200))
def test_loopback_break_is_detected(hw_loopback: serial.Serial, baud: int) -> None:
    """A break sent comes back as the PARMRK break mark."""
    check_data(Link(hw_loopback, hw_loopback), baud, random.Random(0))
    result = check_break(Link(hw_loopback, hw_loopback), baud)
    assert result.outcome is Outcome.PASS, result.detail


@pytest.mark.parametrize("baud", BAUDS)
def test_pair_data_is_byte_exact_both_ways(hw_pair: tuple[serial.Serial, serial.Serial], baud: int) -> None:
    """Data crosses the null-modem cable byte-exact in each direction."""
    for link in links_for(hw_pair):
        result = check_data(link, baud, random.Random(baud))
        assert result.outcome is Outcome.PASS, f"{result.check}: {result.detail}"


def test_pair_break_crosses_both_ways(hw_pair: tuple[serial.Serial, serial.Serial]) -> None:
    """A break sent on either adapter is detected on the other."""
    for link in links_for(hw_pair):
        check_data(link, 9600, random.Random(0))
        result = check_break(link, 9600)
        assert result.outcome is Outcome.PASS, f"{result.check}: {result.detail}"


def test_pair_modem_lines_follow(hw_pair: tuple[serial.Serial, serial.Serial]) -> None:
    """RTS drives the other end's CTS and DTR its DSR, in both directions."""
    for result in check_modem_lines(*hw_pair):
        assert result.outcome is Outcome.PASS, f"{result.check}: {result.detail}"
