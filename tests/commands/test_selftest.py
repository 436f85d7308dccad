"""``serial-bridge selftest`` on pseudo-terminals whose far end echoes, crosses, corrupts or drops."""

from __future__ import annotations

import errno
import os
import random
import re
from collections.abc import Iterator

import pytest
import serial

from bridge.cli import main
from bridge.commands.selftest import NOTHING_BACK
from bridge.hardware.selftest import (
    BASE_FRAMING,
    UNSUPPORTED,
    CheckResult,
    Framing,
    Link,
    Outcome,
    check_data,
    check_framing,
    check_modem_line,
    is_pseudo_terminal,
    open_port,
    read_framing,
    read_speed,
    run_checks,
    wait_for_break,
    _mark_breaks,
)
from tests.hardware.ptyfar import PtyFarEnd

NO_BREAK = "skipped: cannot tell (a pseudo-terminal carries no break)"


@pytest.fixture
def loopback() -> Iterator[PtyFarEnd]:
    """A pty whose far end echoes everything back, like a TX-RX jumper."""
    far = PtyFarEnd(1)
    yield far
    far.close()


@pytest.fixture
def pair() -> Iterator[PtyFarEnd]:
    """Two ptys whose far ends cross-copy, like a null-modem cable."""
    far = PtyFarEnd(2)
    yield far
    far.close()


def by_check(results: list[CheckResult]) -> dict[str, CheckResult]:
    """Results keyed by check name (one baud rate tested)."""
    return {r.check: r for r in results}


def rows(out: str) -> dict[str, list[str]]:
    """The printed table's rows keyed by CHECK, cells split on runs of two or more spaces."""
    table = {}
    for line in out.splitlines()[1:-1]:
        cells = re.split(r"\s{2,}", line)
        table[cells[1]] = cells
    return table


def test_loopback_pty_passes_data_and_skips_what_it_cannot_do(
        loopback: PtyFarEnd, capsys: pytest.CaptureFixture[str]) -> None:
    """On an echoing pty data passes, break is 'cannot tell', modem lines need two devices; exit 0."""
    assert main(["selftest", loopback.paths[0], "--bauds", "9600"]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert table["data"] == ["9600", "data", "PASS", "240 bytes byte-exact"]
    assert table["break"] == ["9600", "break", "SKIP", NO_BREAK]
    assert table["modem lines"] == ["-", "modem lines", "SKIP",
                                    "skipped: needs two devices joined by a null-modem cable"]
    for label in ("7E1", "7O1", "8E1", "8O1", "8N2"):
        assert table[f"framing {label}"][2] in ("PASS", "SKIP")
    assert out.splitlines()[-1].startswith("selftest: ") and ", 0 fail, " in out.splitlines()[-1]
    assert NOTHING_BACK not in out


def test_pair_checks_both_directions_and_skips_modem_lines_of_a_pty(pair: PtyFarEnd) -> None:
    """A pty pair passes data both ways; its modem lines come out 'not supported', not a crash."""
    ports = [open_port(path) for path in pair.paths]
    try:
        results = by_check(run_checks(ports, [19200], random.Random(1)))
    finally:
        for port in ports:
            port.close()
    assert results["data 1->2"].outcome is Outcome.PASS
    assert results["data 2->1"].outcome is Outcome.PASS
    for name in ("RTS->CTS 1->2", "DTR->DSR 1->2", "RTS->CTS 2->1", "DTR->DSR 2->1"):
        assert results[name] == CheckResult(name, None, Outcome.SKIP, UNSUPPORTED)
    assert results["break 1->2"].detail == NO_BREAK
    assert all(r.outcome is not Outcome.FAIL for r in results.values())


def test_corrupted_echo_fails_with_the_first_differing_byte(capsys: pytest.CaptureFixture[str]) -> None:
    """A far end that flips bit 0 of every byte makes the data check fail at byte 0; exit 1."""
    far = PtyFarEnd(1, transform=lambda data: bytes(b ^ 1 for b in data))
    try:
        assert main(["selftest", far.paths[0], "--bauds", "9600"]) == 1
    finally:
        far.close()
    cells = rows(capsys.readouterr().out)["data"]
    assert cells[2] == "FAIL"
    found = re.fullmatch(r"byte 0 differs: sent 0x([0-9a-f]{2}), got 0x([0-9a-f]{2})", cells[3])
    assert found is not None and int(found[1], 16) ^ 1 == int(found[2], 16)


def test_silent_far_end_fails_with_nothing_back(capsys: pytest.CaptureFixture[str]) -> None:
    """A cable that carries nothing back gives 'got 0 back', a wiring hint and exit 1."""
    far = PtyFarEnd(1, silent=True)
    try:
        assert main(["selftest", far.paths[0], "--bauds", "9600"]) == 1
    finally:
        far.close()
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == NOTHING_BACK
    assert rows(out.rsplit("\n", 2)[0])["data"][2:] == ["FAIL", "sent 240 bytes, got 0 back"]


def test_non_standard_baud_reads_back_and_passes(loopback: PtyFarEnd) -> None:
    """A non-standard rate (12345) is set, read back through termios2, and data passes."""
    port = open_port(loopback.paths[0])
    try:
        result = check_data(Link(port, port), 12345, random.Random(2))
        assert read_speed(port) == 12345
    finally:
        port.close()
    assert result == CheckResult("data", 12345, Outcome.PASS, "308 bytes byte-exact")


def test_framing_check_leaves_the_port_at_8n1(loopback: PtyFarEnd) -> None:
    """Whatever the device makes of 7E1, the port is 8N1 again afterwards and data passes."""
    port = open_port(loopback.paths[0])
    try:
        result = check_framing(Link(port, port), 9600, Framing(7, "even", 1), random.Random(3))
        assert read_framing(port) == BASE_FRAMING
        assert check_data(Link(port, port), 9600, random.Random(4)).outcome is Outcome.PASS
    finally:
        port.close()
    assert result.outcome in (Outcome.PASS, Outcome.SKIP)
    assert result.outcome is Outcome.PASS or result.detail.startswith("skipped (not supported by this device")


def test_marked_data_that_looks_like_a_break_is_data(loopback: PtyFarEnd) -> None:
    """Under PARMRK, data bytes FF 00 00 arrive doubled as data, never as a break."""
    port = open_port(loopback.paths[0])
    try:
        _mark_breaks(port)
        port.write(b"\xff\x00\x00ok")
        assert wait_for_break(port, 0.5) == (False, 5)
    finally:
        port.close()


def test_pty_is_recognised_as_pseudo_terminal(loopback: PtyFarEnd) -> None:
    """The break check knows a pty cannot carry a break."""
    port = open_port(loopback.paths[0])
    try:
        assert is_pseudo_terminal(port)
    finally:
        port.close()


class WiredLine:
    """An output line joined to an input line: the recording double for modem lines."""

    def __init__(self, connected: bool = True) -> None:
        self.level = False
        self.connected = connected

    def drive(self, level: bool) -> None:
        """Set the output line."""
        self.level = level

    def sense(self) -> bool:
        """Read the input line: the output's level if wired, else always low."""
        return self.level if self.connected else False


def test_modem_line_that_follows_passes() -> None:
    """An input that follows its output low and high passes."""
    line = WiredLine()
    assert check_modem_line("RTS->CTS 1->2", line.drive, line.sense) == CheckResult(
        "RTS->CTS 1->2", None, Outcome.PASS, "follows low and high")


def test_modem_line_that_stays_low_fails() -> None:
    """An unwired input that never goes high fails, saying which level was not followed."""
    line = WiredLine(connected=False)
    assert check_modem_line("DTR->DSR 1->2", line.drive, line.sense) == CheckResult(
        "DTR->DSR 1->2", None, Outcome.FAIL, "set high, the other end did not follow")


def test_modem_line_ioctl_refused_is_skipped() -> None:
    """ENOTTY from the line ioctl means 'not supported by this device'."""
    def refuse(level: bool) -> None:
        raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))

    assert check_modem_line("RTS->CTS 2->1", refuse, lambda: False).detail == UNSUPPORTED


@pytest.mark.parametrize(("argv", "message"), [
    (["selftest", "/dev/serial-bridge-missing"], "/dev/serial-bridge-missing: no such device (see: serial-bridge ports)"),
    (["selftest", "/dev/null", "--bauds", "9600,fast"], "bad baud rate 'fast' in --bauds 9600,fast"),
    (["selftest", "/dev/null", "--bauds", "0"], "bad baud rate '0' in --bauds 0"),
])
def test_usage_errors_are_one_line_with_exit_2(argv: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A missing device or a bad --bauds gives one line on stderr and exit 2."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("serial-bridge: error: ") and message in err and len(err.splitlines()) == 1


def test_same_device_twice_is_a_usage_error(loopback: PtyFarEnd, capsys: pytest.CaptureFixture[str]) -> None:
    """Naming one device twice asks for a loopback test instead, exit 2."""
    assert main(["selftest", loopback.paths[0], loopback.paths[0]]) == 2
    assert "named twice" in capsys.readouterr().err


def test_device_that_is_not_a_tty_fails_to_open_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/null exists but is no serial port: one line and exit 1."""
    assert main(["selftest", "/dev/null", "--bauds", "9600"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("serial-bridge: error: cannot open /dev/null: ") and len(err.splitlines()) == 1


def test_open_busy_device_is_refused(loopback: PtyFarEnd) -> None:
    """A device another program holds exclusively is refused with a runtime error, not a traceback."""
    from bridge.errors import RuntimeFailure

    holder = serial.Serial(loopback.paths[0], 9600, exclusive=True)
    try:
        with pytest.raises(RuntimeFailure, match="cannot open"):
            open_port(loopback.paths[0])
    finally:
        holder.close()
