"""AlertMatcher on a real event loop: lines joined across reads, long lines in
parts, cooldown, and the cheap whole-block search agreeing with per-line matching."""

from __future__ import annotations

import asyncio
import logging
import os
import re

import pytest

from bridge.config.alert import AlertConfig
from bridge.fleet import alerts as alerts_module
from bridge.fleet.alerts import AlertMatcher, CommandRunner


def _matcher(*rules: AlertConfig) -> AlertMatcher:
    return AlertMatcher("con", rules, CommandRunner())


async def _feed(matcher: AlertMatcher, *reads: bytes) -> None:
    for data in reads:
        matcher.feed(data)
        await asyncio.sleep(0)   # one loop turn per read, as device reads come
    await _drained()


async def _drained() -> None:
    """Long enough for the batch of reads to be matched."""
    await asyncio.sleep(alerts_module.DRAIN_DELAY * 3)


def test_a_line_split_across_reads_is_matched_whole(caplog: pytest.LogCaptureFixture) -> None:
    """'Kernel pa' then 'nic\\r\\n' in another read is one matching line; the WARNING names port, alert, line."""
    async def run() -> AlertMatcher:
        m = _matcher(AlertConfig(name="panic", pattern=r"Kernel panic", cooldown=0))
        await _feed(m, b"boot ok\r\n[ 1.0] Kernel pa", b"nic - not syncing\r\nlogin: ")
        return m
    with caplog.at_level(logging.WARNING, logger="bridge.alert"):
        m = asyncio.run(run())
    (alert,) = m.statuses()
    assert (alert.matches, alert.fired) == (1, 1)
    assert alert.last_line == "[ 1.0] Kernel panic - not syncing"
    assert [r.getMessage() for r in caplog.records] == [
        "port con: alert panic: [ 1.0] Kernel panic - not syncing"]


def test_an_unfinished_line_is_not_matched_until_it_ends() -> None:
    """Output without an end of line waits; the line is matched once it ends."""
    async def run() -> tuple[int, int]:
        m = _matcher(AlertConfig(name="a", pattern=r"^rommon \d+ >$", cooldown=0))
        await _feed(m, b"rommon 1 >")
        before = m.statuses()[0].matches
        await _feed(m, b"\r\n")
        return before, m.statuses()[0].matches
    assert asyncio.run(run()) == (0, 1)


def test_cooldown_counts_matches_but_fires_once() -> None:
    """Three matching lines within the cooldown: three matches, one firing."""
    async def run() -> AlertMatcher:
        m = _matcher(AlertConfig(name="oops", pattern="Oops", cooldown=3600))
        await _feed(m, b"Oops 1\n", b"Oops 2\nOops 3\n")
        return m
    (alert,) = asyncio.run(run()).statuses()
    assert (alert.matches, alert.fired, alert.last_line) == (3, 1, "Oops 3")


def test_a_line_longer_than_the_bound_is_matched_in_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A line of 3.5 parts with no end: each full part is matched as it fills, and the memory kept is one part."""
    monkeypatch.setattr(alerts_module, "MAX_LINE", 100)

    async def run() -> AlertMatcher:
        m = _matcher(AlertConfig(name="x", pattern="NEEDLE", cooldown=0))
        await _feed(m, b"." * 120 + b"NEEDLE" + b"." * 74, b"." * 100 + b"NEEDLE")
        assert len(m._partial) <= 100
        return m
    (alert,) = asyncio.run(run()).statuses()
    assert alert.matches == 1   # the second NEEDLE sits in the unfinished last part


@pytest.mark.parametrize("pattern", [r"^login:", r"panic$", r"\bOK\b", r"(?i)error", r"\Aboot", r"x\Z",
                                     r"(?<=\[)E\]", r"^$x|^abc$", r"[^a]+z", r"^rommon \d+ >$", r"OK\$$",
                                     r"x$|^boot", r"^(all|boot) ", r"ok\\$", r"^\s*$x"])
def test_block_search_agrees_with_matching_each_line(pattern: str) -> None:
    """Whatever the pattern's anchors, the matcher finds exactly the lines re.search finds one by one."""
    lines = ["login: root", "kernel panic", "panic in the middle", "all OK", "OKAY", "Error 5",
             "boot ok", "reboot", "x", "[E] bad", "abc", "zz", "a", "rommon 1 >", "rommon 2 > x",
             "price OK$", "ok\\", "  "]

    async def run() -> AlertMatcher:
        m = _matcher(AlertConfig(name="p", pattern=pattern, cooldown=0))
        await _feed(m, "\r\n".join(lines).encode() + b"\r\n")
        return m
    expected = sum(1 for line in lines if re.search(pattern, line))
    assert asyncio.run(run()).statuses()[0].matches == expected


def test_a_port_with_a_busy_loop_skips_the_oldest_bytes_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """More than MAX_PENDING bytes before one drain: the oldest are skipped and counted, never held."""
    monkeypatch.setattr(alerts_module, "MAX_PENDING", 1000)

    async def run() -> AlertMatcher:
        m = _matcher(AlertConfig(name="p", pattern="END", cooldown=0))
        for _ in range(30):
            m.feed(b"y" * 99 + b"\n")   # no loop turn in between: nothing drains
        m.feed(b"END\n")
        await _drained()
        return m
    m = asyncio.run(run())
    assert m.skipped > 0 and m.skipped % 100 == 0
    assert m.statuses()[0].matches == 1


def test_exec_failures_are_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    """A command that cannot start, one that fails and one that times out: one WARNING each, three failures."""
    async def run() -> AlertMatcher:
        import sys
        m = _matcher(
            AlertConfig(name="missing", pattern="A", action="exec", command=("/nonexistent/notify",), cooldown=0),
            AlertConfig(name="fails", pattern="B", action="exec", cooldown=0,
                        command=(sys.executable, "-c", "import sys; print('no route', file=sys.stderr); sys.exit(3)")),
            AlertConfig(name="hangs", pattern="C", action="exec", cooldown=0, timeout=0.5,
                        command=(sys.executable, "-c", "import time; time.sleep(60)")))
        await _feed(m, b"A\nB\nC\n")
        async with asyncio.timeout(10):
            while sum(a.failures for a in m.statuses()) < 3:
                await asyncio.sleep(0.05)
        await m.runner.close()
        return m
    with caplog.at_level(logging.WARNING, logger="bridge.alert"):
        m = asyncio.run(run())
    assert [a.failures for a in m.statuses()] == [1, 1, 1]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "alert missing: command /nonexistent/notify could not start" in text
    assert "alert fails: command" in text and "exited with status 3: no route" in text
    assert "alert hangs: command" in text and "timed out after 0.5 s and was killed" in text


def test_placeholders_are_substituted_in_each_argument_without_a_shell(tmp_path: "object") -> None:
    """{port}, {alert} and {line} reach the program as arguments, shell characters untouched."""
    import sys
    from pathlib import Path
    out = Path(str(tmp_path)) / "args"

    async def run() -> None:
        m = _matcher(AlertConfig(name="note", pattern="say", action="exec", cooldown=0, command=(
            sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write('|'.join(sys.argv[2:]))",
            str(out), "{port}", "{alert}", "line={line}")))
        await _feed(m, b"say $(rm -rf /); `x` {alert}\x00\n")   # a NUL cannot be in an argument: dropped
        async with asyncio.timeout(10):
            while not out.exists() or not out.read_text():
                await asyncio.sleep(0.05)
        await m.runner.close()
    asyncio.run(run())
    assert out.read_text() == "con|note|line=say $(rm -rf /); `x` {alert}"


@pytest.mark.parametrize(("pattern", "block"), [
    (r"^rommon \d+ >", r"rommon \d+ >"),
    (r"panic$", "panic"),
    (r"OK\$", None),          # an escaped $ stays, and a $ means each line is searched
    (r"ok\\$", r"ok\\"),     # an escaped backslash, then the anchor
    (r"a$|b", None),
    (r"\Aboot", None),
    (r"(?m)x", None),
    (r"(?i)error", r"(?i)error"),
])
def test_block_pattern_drops_only_outer_anchors(pattern: str, block: str | None) -> None:
    """The block search drops a leading ^ and a trailing unescaped $, and gives up where it could miss."""
    assert alerts_module.block_pattern(pattern) == block


def test_closing_the_runner_kills_a_running_command(tmp_path: "object") -> None:
    """At shutdown a command still running is killed and reaped (no process outlives the bridge)."""
    import sys
    from pathlib import Path
    pid_file = Path(str(tmp_path)) / "pid"

    async def run() -> int:
        m = _matcher(AlertConfig(name="slow", pattern="go", action="exec", cooldown=0, command=(
            sys.executable, "-c", "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
            "time.sleep(60)", str(pid_file))))
        await _feed(m, b"go\n")
        async with asyncio.timeout(10):
            while not pid_file.exists() or not pid_file.read_text():
                await asyncio.sleep(0.05)
        await m.runner.close()
        return int(pid_file.read_text())
    pid = asyncio.run(run())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_utf8_lines_match_as_text_and_binary_noise_does_not_hide_ascii() -> None:
    """A UTF-8 line matches a non-ASCII pattern; a block with invalid bytes still matches ASCII patterns."""
    async def run() -> AlertMatcher:
        m = _matcher(AlertConfig(name="temp", pattern="température", cooldown=0),
                     AlertConfig(name="panic", pattern="^Kernel panic", cooldown=0))
        await _feed(m, "alerte: température haute\r\n".encode())
        await _feed(m, b"\xff\xfe\x00garbage\r\nKernel panic - x\r\n")
        return m
    temp, panic = asyncio.run(run()).statuses()
    assert (temp.matches, temp.last_line) == (1, "alerte: température haute")
    assert (panic.matches, panic.last_line) == (1, "Kernel panic - x")


def test_a_fast_stream_is_matched_without_waiting_for_the_timer() -> None:
    """Past EARLY_DRAIN bytes waiting, the batch is matched at the next loop turn, not 20 ms later."""
    async def run() -> tuple[int, int]:
        m = _matcher(AlertConfig(name="p", pattern="^END", cooldown=0))
        m.feed(b"END small\n")
        await asyncio.sleep(0)
        before = m.statuses()[0].matches       # the timer has not fired yet
        m.feed((b"z" * 1023 + b"\n") * 300)    # 300 KiB
        m.feed(b"END big\n")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return before, m.statuses()[0].matches
    assert asyncio.run(run()) == (0, 2)
