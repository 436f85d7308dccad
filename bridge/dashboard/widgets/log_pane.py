"""The log pane: a program's own log lines, shown in the dashboard instead of drawn over it.

``serial-bridge demo`` runs the bridge and the dashboard in one process on one
terminal; its log lines go to this pane (through :class:`PaneLogHandler`)
rather than to stderr, where they would be drawn over the screen.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque

from textual.widgets import Log

MAX_LINES = 500


class LogLines:
    """The last ``MAX_LINES`` log lines, and the pane showing them (once there is one)."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque(maxlen=MAX_LINES)
        self._pane: LogPane | None = None

    def add(self, line: str) -> None:
        """Keep a line and show it (call on the app's thread)."""
        self.lines.append(line)
        if self._pane is not None:
            self._pane.write_line(line)

    def show_in(self, pane: LogPane | None) -> None:
        """Show every kept line in ``pane`` and the new ones as they come (None: stop)."""
        self._pane = pane
        if pane is not None:
            pane.clear()
            pane.write_lines(self.lines)


class LogPane(Log):
    """A few lines of the program's log, newest at the bottom."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, id=id, auto_scroll=True)


class PaneLogHandler(logging.Handler):
    """A logging handler that hands each formatted record to ``LogLines.add``.

    Records from other threads (the session log writer's) are passed to the
    event loop's thread with ``call_soon_threadsafe``.
    """

    def __init__(self, lines: LogLines, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._lines = lines
        self._loop = loop
        self._thread = threading.get_ident()
        self.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            if threading.get_ident() == self._thread:
                self._lines.add(line)
            elif not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._lines.add, line)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
