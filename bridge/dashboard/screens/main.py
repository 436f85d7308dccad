"""The main screen: the ports table and the bridges' connection state."""

from __future__ import annotations

from textual import on
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


class MainScreen(Screen[None]):
    """The table of ports of every bridge."""

    BINDINGS = PORT_BINDINGS

    def compose(self) -> ComposeResult:
        """The table, a line of connection state, the footer."""
        yield Header()
        yield PortTable(id="ports")
        if getattr(self.app, "log_lines", None) is not None:
            yield LogPane(id="log")
        yield Static("connecting...", id="connection")
        yield Footer()

    def on_mount(self) -> None:
        """Show the program's log in its pane, when it has one."""
        lines = getattr(self.app, "log_lines", None)
        if isinstance(lines, LogLines):
            lines.show_in(self.query_one(LogPane))

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
