"""The main screen: the ports table and the bridges' connection state."""

from __future__ import annotations

from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from bridge.dashboard.messages import PortKey, PortView
from bridge.dashboard.widgets.log_pane import LogLines, LogPane
from bridge.dashboard.widgets.port_table import PortTable

# The port actions, shared by the main and detail screens (the App implements them).
PORT_BINDINGS: list[BindingType] = [
    Binding("b", "app.send_break", "Break"),
    Binding("i", "app.send_ip", "IP"),
    Binding("s", "app.edit_settings", "Settings"),
    Binding("a", "app.attach", "Attach"),
    Binding("e", "app.enable_port", "Enable", show=False),
    Binding("d", "app.disable_port", "Disable", show=False),
    Binding("r", "app.reload", "Reload", show=False),
    Binding("question_mark", "app.show_help", "Help"),
]


def hand_on_typed_ahead(screen: Screen[Any], event: events.Key) -> None:
    """Keys typed in one burst after s or a (before the form or console they open is up)
    are kept by the app for that screen, instead of acting on the ports here."""
    type_ahead = getattr(screen.app, "type_ahead", None)
    if type_ahead is not None and type_ahead(event):
        event.stop()
        event.prevent_default()


class MainScreen(Screen[None]):
    """The table of ports of every bridge."""

    BINDINGS = [*PORT_BINDINGS, Binding("q", "app.quit", "Quit")]

    def compose(self) -> ComposeResult:
        """The table, a line of connection state, the footer."""
        yield Header()
        yield PortTable(id="ports")
        if getattr(self.app, "log_lines", None) is not None:
            yield LogPane(id="log")
        yield Static("connecting...", id="connection")
        yield Footer()

    def on_key(self, event: events.Key) -> None:
        """Keys typed ahead of a screen pushed over this one go to it."""
        hand_on_typed_ahead(self, event)

    def on_mount(self) -> None:
        """Show what the app knows already, and the program's log in its pane when it has one."""
        lines = getattr(self.app, "log_lines", None)
        if isinstance(lines, LogLines):
            lines.show_in(self.query_one(LogPane))
        refresh = getattr(self.app, "refresh_views", None)
        if refresh is not None:
            self.call_after_refresh(refresh)

    def on_unmount(self) -> None:
        """Stop feeding the pane."""
        lines = getattr(self.app, "log_lines", None)
        if isinstance(lines, LogLines):
            lines.show_in(None)

    @property
    def table(self) -> PortTable:
        """The ports table."""
        return self.query_one(PortTable)

    @property
    def selected(self) -> PortKey | None:
        """The port under the cursor."""
        return self.table.selected_key

    def show_ports(self, views: list[PortView], multi_host: bool) -> None:
        """Show fresh port views."""
        self.table.show(views, multi_host)

    def show_connection(self, text: str, trouble: bool) -> None:
        """Show how the bridges are reached."""
        line = self.query_one("#connection", Static)
        line.update(text)
        line.set_class(trouble, "-trouble")

    @on(DataTable.RowSelected, "#ports")
    async def open_selected(self, event: DataTable.RowSelected) -> None:
        """Enter or a click on a row opens that port's detail."""
        await self.app.run_action("open_detail")
