"""Alerts on device output: each complete line matched against a port's patterns.

Theory of operation
-------------------
The port worker hands every device read to ``AlertMatcher.feed`` (a device
tail, ``PortWorker.add_tail``), which only appends the bytes to a list and,
unless one is pending, schedules ``_drain`` ``DRAIN_DELAY`` (20 ms) later:
O(1) Python work per read, no regular expression on the data path, the
reads of 20 ms matched in one batch (a console sending small reads costs
one drain, not one per read), and a port with no alert has no tail at all.

``_drain`` joins what came since the last drain to the unfinished line kept
from before (so a line split across reads is matched whole), cuts it at the
last ``\\n`` and matches the complete lines. A line that grows past
``MAX_LINE`` bytes without an end is matched in parts of ``MAX_LINE`` bytes
(a match straddling two parts is missed). Bytes waiting for a drain are
bounded by ``MAX_PENDING``: past it (a loop too busy to drain), the oldest
are skipped and counted.

Matching is cheap when nothing matches, which is nearly always: each
pattern is first searched once over the whole block of new lines, in a form
that can only find more (``block_pattern``: without a leading ``^`` or a
trailing ``$``, with ``re.MULTILINE``), and only a block with a hit is split
into lines to find which. A pattern that form could miss lines with (string
anchors, lookbehinds, inline ``m``/``s`` flags, a ``$`` elsewhere) is searched
line by line. A block is decoded as UTF-8, or as Latin-1 (byte for byte) when
it is not valid UTF-8; a trailing ``\\r`` is no part of a line.

A match counts, and fires the alert's action unless the alert fired less
than ``cooldown`` seconds ago. ``log`` is one WARNING line naming the port,
the alert and the line; ``exec`` hands the command to the bridge's
``CommandRunner``: no shell, a bounded number running and waiting, a
timeout, and a failure that is one WARNING line. A command never blocks the
port: it runs as a subprocess the event loop only waits on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from bridge.config.alert import AlertConfig
from bridge.port.status import AlertStatus

log = logging.getLogger("bridge.alert")

DRAIN_DELAY = 0.02         # seconds: reads are batched this long before they are matched
EARLY_DRAIN = 256 * 1024   # bytes waiting that are matched at the next loop turn, not the timer
MAX_LINE = 4096            # bytes: a longer line is matched in parts of this size
MAX_PENDING = 1 << 20      # bytes waiting for a drain before the oldest are skipped
MAX_RUNNING = 4            # exec commands running at once, for the whole bridge
MAX_WAITING = 32           # exec commands waiting for a slot before new ones are refused
MAX_LOGGED_LINE = 400      # characters of a line quoted in a log message
# What a search over a block of lines could miss that a search in one line finds:
# string anchors, lookbehinds, inline multiline/dotall flags, and a "$" (the CR
# before a line's "\n" stays in the block).
_NO_PREFILTER = re.compile(r"\\[AZ]|\(\?<[=!]|\(\?[aiLmsux-]*[sm]|\$")


def _substitute(arg: str, fields: dict[str, str]) -> str:
    for key, value in fields.items():
        arg = arg.replace("{" + key + "}", value)
    return arg


def _text(data: bytes) -> str:
    """Device output as text: UTF-8, or byte for byte (Latin-1) when it is not valid UTF-8.

    Both are fast (a strict UTF-8 decode gives up at the first bad byte), where
    replacing bad bytes costs ~50 ms a megabyte of binary output (an XMODEM
    transfer, line noise at the wrong baud rate). ASCII reads the same either way.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _quote(line: str) -> str:
    return line if len(line) <= MAX_LOGGED_LINE else line[:MAX_LOGGED_LINE] + "..."


class CommandRunner:
    """Runs alert commands for a whole bridge: no shell, bounded, each with a timeout.

    Args:
        max_running: commands running at once.
        max_waiting: commands waiting for a slot; more are refused (one WARNING each).
    """

    def __init__(self, max_running: int = MAX_RUNNING, max_waiting: int = MAX_WAITING) -> None:
        self._slots = asyncio.Semaphore(max_running)
        self._max_waiting = max_waiting
        self._waiting = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, argv: list[str], timeout: float, what: str,
               failed: Callable[[], None]) -> bool:
        """Start ``argv`` when a slot is free; False (and one WARNING) when too many wait.

        Args:
            argv: the program and its arguments (already substituted).
            timeout: seconds before the command is killed (its process group).
            what: how log lines name it ("port rtr1: alert panic").
            failed: called once if the command cannot start, fails or times out.
        """
        if self._waiting >= self._max_waiting:
            log.warning("%s: command not run: %d commands already waiting", what, self._waiting)
            failed()
            return False
        self._waiting += 1
        task = asyncio.get_running_loop().create_task(self._run(argv, timeout, what, failed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, argv: list[str], timeout: float, what: str, failed: Callable[[], None]) -> None:
        started = False
        try:
            async with self._slots:
                self._waiting -= 1
                started = True
                problem = await self._execute(argv, timeout)
        finally:
            if not started:   # cancelled while waiting for a slot
                self._waiting -= 1
        if problem is not None:
            log.warning("%s: command %s %s", what, argv[0], problem)
            failed()

    @staticmethod
    async def _execute(argv: list[str], timeout: float) -> str | None:
        """Run one command; None when it exits 0, else what went wrong (one line)."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except (OSError, ValueError) as exc:   # ValueError: a NUL in an argument
            return f"could not start: {getattr(exc, 'strerror', None) or exc}"
        assert proc.stderr is not None
        tail = b""
        try:
            async with asyncio.timeout(timeout):
                while chunk := await proc.stderr.read(4096):
                    tail = (tail + chunk)[-1024:]   # keep the end: the error is usually there
                code = await proc.wait()
        except TimeoutError:
            _kill_group(proc.pid)
            await proc.wait()
            return f"timed out after {timeout:g} s and was killed"
        except asyncio.CancelledError:   # the bridge is stopping: no command outlives it
            _kill_group(proc.pid)
            await proc.wait()
            raise
        if code == 0:
            return None
        last = next((line for line in reversed(tail.decode(errors="replace").splitlines()) if line.strip()), "")
        status = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return status + (f": {last.strip()}" if last else "")

    async def close(self) -> None:
        """Kill what still runs (at shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass(slots=True)
class _Alert:
    """One alert's rule, compiled, and its counts."""

    config: AlertConfig
    regex: re.Pattern[str]
    prefilter: re.Pattern[str] | None
    matches: int = 0
    fired: int = 0
    failures: int = 0
    last_line: str | None = None
    last_at: float | None = None
    last_fired: float | None = None   # time.monotonic()

    def status(self) -> AlertStatus:
        c = self.config
        return AlertStatus(name=c.name, pattern=c.pattern, action=c.action, matches=self.matches,
                           fired=self.fired, failures=self.failures, last_line=self.last_line,
                           last_at=self.last_at)


class AlertMatcher:
    """The alerts of one port, fed with its device output.

    Args:
        port: the port's name (for log lines and ``{port}``).
        rules: the port's ``[[port.alert]]`` tables, already checked.
        runner: where exec actions go (shared by the bridge).
        fired: told (port, alert, line) each time an alert fires, for the control API.
    """

    def __init__(self, port: str, rules: tuple[AlertConfig, ...], runner: CommandRunner,
                 fired: Callable[[str, str, str], None] | None = None) -> None:
        self.port = port
        self._fired = fired
        self.runner = runner
        self._alerts = [_compile(rule) for rule in rules]
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._partial = b""
        self._timer: asyncio.Handle | None = None   # the pending drain
        self._early = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.skipped = 0   # bytes never matched because the drain fell behind

    # ------------------------------------------------------------ hot path
    def feed(self, data: bytes) -> None:
        """One device read (called by the port for every read): O(1), never blocks."""
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size > MAX_PENDING:
            self._skip_oldest()
        if self._timer is None:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._timer = self._loop.call_later(DRAIN_DELAY, self._drain)
        elif self._pending_size > EARLY_DRAIN and not self._early:   # a fast stream: do not wait
            self._early = True
            self._timer.cancel()
            self._timer = self._loop.call_soon(self._drain)   # type: ignore[union-attr]

    def _skip_oldest(self) -> None:
        while self._pending_size > MAX_PENDING and len(self._pending) > 1:
            old = self._pending.pop(0)
            self._pending_size -= len(old)
            self.skipped += len(old)
        self._partial = b""   # the line it was in is no longer whole

    # ------------------------------------------------------- off the hot path
    def _drain(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._early = False
        data = self._partial + b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        end = data.rfind(b"\n")
        if end < 0:
            block, rest = b"", data
        else:
            block, rest = data[:end], data[end + 1:]
        parts: list[bytes] = []
        while len(rest) > MAX_LINE:   # a line with no end yet: match it in parts
            parts.append(rest[:MAX_LINE])
            rest = rest[MAX_LINE:]
        self._partial = rest
        if end >= 0:
            self._match(_text(block))
        for part in parts:
            self._match(_text(part))

    def _match(self, block: str) -> None:
        """Match every line of ``block`` (lines joined by ``\\n``, no final one; a CR before
        the ``\\n`` is no part of the line)."""
        lines: list[str] | None = None
        for alert in self._alerts:
            if alert.prefilter is not None and alert.prefilter.search(block) is None:
                continue
            if lines is None:
                lines = [line[:-1] if line.endswith("\r") else line for line in block.split("\n")]
            for line in lines:
                if alert.regex.search(line) is not None:
                    self._matched(alert, line)

    def _matched(self, alert: _Alert, line: str) -> None:
        now = time.monotonic()
        alert.matches += 1
        alert.last_line = line
        alert.last_at = time.time()
        cfg = alert.config
        if alert.last_fired is not None and now - alert.last_fired < cfg.cooldown:
            log.debug("port %s: alert %s matched in its cooldown: %s", self.port, cfg.name, _quote(line))
            return
        alert.last_fired = now
        alert.fired += 1
        if self._fired is not None:
            self._fired(self.port, cfg.name, line)
        if cfg.action == "exec":
            fields = {"port": self.port, "alert": cfg.name, "line": line.replace("\0", "")}
            argv = [_substitute(arg, fields) for arg in cfg.command]
            log.info("port %s: alert %s: running %s", self.port, cfg.name, argv[0])
            self.runner.submit(argv, cfg.timeout, f"port {self.port}: alert {cfg.name}",
                               lambda: self._failed(alert))
        else:
            log.warning("port %s: alert %s: %s", self.port, cfg.name, _quote(line))

    @staticmethod
    def _failed(alert: _Alert) -> None:
        alert.failures += 1

    def flush(self) -> None:
        """Match what waits now (tests, and a port stopping: its last line, even unfinished)."""
        self._drain()
        if self._partial:
            rest, self._partial = self._partial, b""
            self._match(_text(rest))

    def statuses(self) -> tuple[AlertStatus, ...]:
        """A snapshot of every alert of the port."""
        return tuple(alert.status() for alert in self._alerts)


def block_pattern(pattern: str) -> str | None:
    """A pattern for a whole block of lines that finds a superset of the lines ``pattern``
    finds, or None when there is none this simple (then each line is searched).

    A leading ``^`` and a trailing ``$`` are dropped: fewer constraints only add
    candidates, and Python's ``re`` scans for a literal much faster than for
    ``^`` at every line start.
    """
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if pattern.endswith("$"):
        body = pattern[:-1]
        if (len(body) - len(body.rstrip("\\"))) % 2 == 0:   # not an escaped "\$"
            pattern = body
    if not pattern or _NO_PREFILTER.search(pattern):
        return None
    return pattern


def _compile(rule: AlertConfig) -> _Alert:
    regex = re.compile(rule.pattern)
    block = block_pattern(rule.pattern)
    try:
        prefilter = None if block is None else re.compile(block, re.MULTILINE)
    except re.error:   # what is left without the anchors is not a pattern: search each line
        prefilter = None
    return _Alert(config=rule, regex=regex, prefilter=prefilter)
