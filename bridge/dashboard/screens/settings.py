"""The line-settings form: a modal that validates before it sends anything."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from bridge.control.schema import SETTING_CHOICES as _CHOICES
from bridge.control.schema import check_settings


def _stop_text(value: object) -> str:
    return "1.5" if value == 1.5 else str(int(value)) if isinstance(value, (int, float)) else str(value)


class SettingsScreen(ModalScreen[dict[str, Any] | None]):
    """Edit a port's baud rate, framing and flow control.

    Dismissed with the changed settings only (checked), or None when cancelled.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, port: str, current: dict[str, Any]) -> None:
        super().__init__()
        self.port = port
        self.current = current

    def compose(self) -> ComposeResult:
        """Baud input, four selects, the error line and the buttons."""
        with Vertical(id="settings-box"):
            yield Static(f"Line settings of [b]{self.port}[/b]", id="settings-title")
            with Grid(id="settings-grid"):
                yield Label("baud")
                yield Input(str(self.current.get("baud", "")), id="baud", type="integer")
                for key, choices in _CHOICES.items():
                    yield Label(key)
                    options = [(_stop_text(c) if key == "stopbits" else str(c), c) for c in choices]
                    value = self.current.get(key)
                    yield Select(options, value=value if value in choices else Select.BLANK,
                                 allow_blank=False, id=key)
            yield Static("", id="settings-error")
            with Horizontal(id="settings-buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """Start in the baud field, its text selected (typing replaces it), with any keys
        typed ahead of the form."""
        baud = self.query_one("#baud", Input)
        baud.focus()
        baud.select_all()
        take = getattr(self.app, "take_typed_ahead", None)
        if take is not None:
            take(baud)

    def changes(self) -> dict[str, Any]:
        """The settings that differ from the current ones, checked.

        Raises:
            ValueError: a one-line reason naming the field.
        """
        text = self.query_one("#baud", Input).value.strip()
        if not text.isdigit():
            raise ValueError("baud: a whole number is needed, for example 115200")
        wanted: dict[str, Any] = {"baud": int(text)}
        for key in _CHOICES:
            wanted[key] = self.query_one(f"#{key}", Select).value
        changed = {k: v for k, v in wanted.items() if self.current.get(k) != v}
        if not changed:
            return {}
        return check_settings(changed)

    @on(Button.Pressed, "#apply")
    @on(Input.Submitted, "#baud")
    def apply(self) -> None:
        """Check the form; close it with the changes, or say what is wrong."""
        try:
            changes = self.changes()
        except ValueError as exc:
            self.query_one("#settings-error", Static).update(str(exc))
            return
        self.dismiss(changes or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)
