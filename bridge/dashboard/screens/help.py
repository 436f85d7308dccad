"""The help screen: every key, and what it does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
[b]serial-bridge dashboard[/b]

[b]Ports table[/b]
  Up/Down     move          Enter   port detail
  b  break    i  interrupt (IP)     s  line settings
  e  enable   d  disable (asks)     r  reload the config
  a  attach a console               ?  this help
  Ctrl-P  command palette           q / Ctrl-Q  quit

[b]Port detail[/b]  (the same keys, and)
  /  search the output   n / N  next / previous match
  f  follow new output   k  kick the session under the cursor (asks)
  Tab  output / sessions Esc   back

[b]Console (attach)[/b]
  every key goes to the device, except
  Ctrl-]  the prompt: quit leaves, help lists (as in connect)
  Ctrl-] Ctrl-]  send Ctrl-] itself     F2  send a break

Press Esc or q to close this help."""


class HelpScreen(ModalScreen[None]):
    """The keys, in one box."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("q", "dismiss", "Close", show=False),
                Binding("question_mark", "dismiss", show=False)]

    def compose(self) -> ComposeResult:
        """The help text in a scrollable box."""
        with VerticalScroll(id="help-box"):
            yield Static(HELP_TEXT, id="help-text")
