"""A terminal screen rendered through pyte, for the attach console."""

from __future__ import annotations

import pyte
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

DECCKM = 1 << 5  # pyte keeps private modes shifted left by 5


def _colour(name: str) -> str | None:
    if name == "default":
        return None
    if name.startswith("bright"):
        return "bright_" + name[6:]
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return "#" + name
    return {"brown": "yellow"}.get(name, name)


def char_style(char: pyte.screens.Char, cursor: bool = False) -> Style:
    """The Rich style of one pyte cell (the cursor cell drawn reversed)."""
    return Style(color=_colour(char.fg), bgcolor=_colour(char.bg), bold=char.bold,
                 italic=char.italics, underline=char.underscore, strike=char.strikethrough,
                 reverse=char.reverse != cursor)


class TerminalView(Widget, can_focus=True):
    """A VT100/xterm screen: device output in, cells out.

    The screen keeps its size (80x24 by default) so full-screen programs on
    the device lay out as they expect; the widget shows its top-left part
    when it is smaller.
    """

    DEFAULT_CSS = """
    TerminalView { width: 1fr; height: 1fr; }
    """

    def __init__(self, columns: int = 80, lines: int = 24, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.screen_model = pyte.Screen(columns, lines)
        self._stream = pyte.ByteStream(self.screen_model)

    @property
    def application_cursor(self) -> bool:
        """The device switched cursor keys to application mode."""
        return DECCKM in self.screen_model.mode

    def feed(self, data: bytes) -> None:
        """Device output: update the screen model and repaint."""
        self._stream.feed(data)
        self.refresh()

    def display_lines(self) -> list[str]:
        """The screen as plain text, one string per line (trailing spaces kept)."""
        return list(self.screen_model.display)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """The emulated screen's width."""
        return self.screen_model.columns

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The emulated screen's height."""
        return self.screen_model.lines

    def render_line(self, y: int) -> Strip:
        """One row of the emulated screen."""
        model = self.screen_model
        if y >= model.lines:
            return Strip.blank(self.size.width)
        row = model.buffer[y]
        cursor_x = model.cursor.x if (y == model.cursor.y and self.has_focus
                                      and not model.cursor.hidden) else -1
        # The second cell of a wide character is empty: the character already covers it.
        segments = [Segment(row[x].data, char_style(row[x], x == cursor_x))
                    for x in range(min(model.columns, self.size.width)) if row[x].data]
        return Strip(segments).simplify()
