"""A port's live output with scrollback and search."""

from __future__ import annotations

import re

from textual.widgets import Log

MAX_LINES = 5000
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]")


def printable(data: bytes) -> str:
    """Device bytes as log text: escape sequences and control characters removed."""
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


class OutputLog(Log):
    """Scrolling device output (``MAX_LINES`` of scrollback) that can be searched."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, id=id)
        self.match_line: int | None = None

    def feed(self, data: bytes) -> None:
        """Append device output."""
        self.write(printable(data))

    def search(self, needle: str, forward: bool = True) -> int | None:
        """Move to the next line (after the last match) that contains ``needle``,
        ignoring case; wraps around. Returns its index, or None."""
        if not needle:
            return None
        lines = self.lines
        count = len(lines)
        if not count:
            return None
        start = self.match_line if self.match_line is not None else (count - 1 if forward else 0)
        lowered = needle.lower()
        step = 1 if forward else -1
        for offset in range(1, count + 1):
            index = (start + step * offset) % count
            if lowered in lines[index].lower():
                self.match_line = index
                self.auto_scroll = False
                self.scroll_to(y=max(0, index - self.size.height // 2), animate=False)
                return index
        return None

    def follow(self) -> None:
        """Back to following new output at the bottom."""
        self.match_line = None
        self.auto_scroll = True
        self.scroll_end(animate=False)
