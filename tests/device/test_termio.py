"""termios helpers: read-back on a pty and the overrun counter watch."""

from __future__ import annotations

from bridge.device import termio
from tests.device.conftest import Pty


def test_pty_has_no_overrun_counters(pty_pair: Pty) -> None:
    """TIOCGICOUNT is not supported by a pty: read_overruns says None."""
    assert termio.read_overruns(pty_pair.master) is None


def test_overrun_watch_reports_new_overruns_at_most_once_per_interval() -> None:
    """Increases of the counter are reported as counts, no more often than the interval."""
    counts = iter([5, 7, 7, 10])
    reads: list[int] = []

    def read() -> int:
        value = next(counts)
        reads.append(value)
        return value

    watch = termio.OverrunWatch(read, interval=1.0)
    assert watch.check(100.0) == 0          # first read: a baseline, not news
    assert watch.check(100.5) == 0          # too soon: not even read
    assert watch.check(101.0) == 2
    assert watch.check(102.0) == 0
    assert watch.check(103.5) == 3
    assert reads == [5, 7, 7, 10]


def test_overrun_watch_stops_asking_a_device_without_counters() -> None:
    """After one None the counter is never read again."""
    calls: list[float] = []

    def read() -> int | None:
        calls.append(1.0)
        return None

    watch = termio.OverrunWatch(read)
    assert watch.check(1.0) == 0
    assert watch.enabled is False
    assert watch.check(5.0) == 0
    assert len(calls) == 1


def test_line_settings_read_back_from_the_master_match_the_slave(pty_pair: Pty) -> None:
    """TCGETS2 on the master reports the slave's baud rate (raw pty default 38400)."""
    assert termio.read_line_settings(pty_pair.master).baud == 38400
