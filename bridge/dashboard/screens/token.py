"""Asking for the control token of a bridge found on the network (issue 14)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class TokenScreen(ModalScreen[str | None]):
    """One password field; dismissed with the token, or None when cancelled (Escape)."""

    BINDINGS = [Binding("escape", "cancel", "Skip this bridge")]

    def __init__(self, bridge: str, address: str) -> None:
        super().__init__()
        self.bridge = bridge
        self.address = address

    def compose(self) -> ComposeResult:
        """The question and the field."""
        with Vertical(id="token-box"):
            yield Static(f"Found [b]{self.bridge}[/b] at {self.address}; it needs a control token.",
                         id="token-title", markup=True)
            yield Input(placeholder="control token (Enter: connect, Esc: skip)", password=True, id="token")

    def on_mount(self) -> None:
        """Type straight away."""
        self.query_one("#token", Input).focus()

    @on(Input.Submitted, "#token")
    def submit(self, event: Input.Submitted) -> None:
        """Connect with this token (an empty one skips the bridge)."""
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Skip this bridge."""
        self.dismiss(None)
