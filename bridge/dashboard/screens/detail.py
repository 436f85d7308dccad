"""A port's detail: summary and counters, live output with search, its sessions."""

from __future__ import annotations

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from bridge.control.client import ControlError
from bridge.control.schema import b64decode
from bridge.dashboard.messages import PortKey, PortView
from bridge.dashboard.source import StatusSource
from bridge.dashboard.screens.main import PORT_BINDINGS, hand_on_typed_ahead
from bridge.dashboard.widgets.output_log import OutputLog
from bridge.dashboard.widgets.port_summary import PortSummary
from bridge.dashboard.widgets.session_table import SessionTable


class DetailScreen(Screen[None]):
    """One port: what it is, what it says, who is connected."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match", "Next", show=False),
        Binding("N", "previous_match", "Prev", show=False),
        Binding("f", "follow", "Follow", show=False),
        Binding("k", "app.kick", "Kick"),
        *PORT_BINDINGS,
    ]

    def __init__(self, key: PortKey, source: StatusSource, view: PortView | None = None) -> None:
        super().__init__()
        self.key = key
        self.source = source
        self._first_view = view
        self.needle = ""
        self.tailing = False  # the bridge answered the tail: live output follows

    def compose(self) -> ComposeResult:
        """Summary, output, search box, sessions."""
        yield Header()
        yield PortSummary(id="summary")
        yield OutputLog(id="output")
        with Horizontal(id="search-bar"):
            yield Input(placeholder="search the output (Enter: find, Esc: close)", id="search")
        yield SessionTable(id="sessions")
        yield Footer()

    def on_key(self, event: events.Key) -> None:
        """Keys typed ahead of a screen pushed over this one go to it."""
        hand_on_typed_ahead(self, event)

    def on_mount(self) -> None:
        """Start with the output focused and the search bar hidden."""
        self.query_one("#search-bar").display = False
        self.query_one(OutputLog).focus()
        self.show(self._first_view)
        self.tail()

    @work(group="tail", exclusive=True, exit_on_error=False)
    async def tail(self) -> None:
        """Ask for the port's history and live output (again after a reconnect)."""
        self.tailing = False
        reply = await self.source.request("tail", port=self.key.name)
        self.show_history(b64decode(str(reply.get("history", ""))))
        self.tailing = True

    async def on_unmount(self) -> None:
        """Stop the tail when the screen goes away."""
        try:
            await self.source.request("untail", port=self.key.name)
        except ControlError:
            pass  # not connected: there is no tail to stop

    @property
    def output(self) -> OutputLog:
        """The output log."""
        return self.query_one(OutputLog)

    @property
    def selected_session(self) -> int | None:
        """The session under the sessions table's cursor."""
        return self.query_one(SessionTable).selected_session

    def show(self, view: PortView | None) -> None:
        """Show the port's fresh view."""
        self.query_one(PortSummary).show(view)
        if view is not None:
            self.query_one(SessionTable).show(view.info.sessions)

    def show_history(self, data: bytes) -> None:
        """Start the output over with the port's history, showing its newest line."""
        output = self.output
        output.clear()
        output.feed(data)
        output.follow()
        # The first layout may come after this: scroll to the end once it has been done.
        self.call_after_refresh(output.follow)

    def action_back(self) -> None:
        """Back to the ports table (or close the search bar first)."""
        bar = self.query_one("#search-bar")
        if bar.display:
            bar.display = False
            self.output.focus()
            return
        self.app.pop_screen()

    def action_search(self) -> None:
        """Open the search bar."""
        self.query_one("#search-bar").display = True
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def find(self, event: Input.Submitted) -> None:
        """Find the text typed in the search bar."""
        self.needle = event.value
        self._find(True)

    def action_next_match(self) -> None:
        """The next line that matches."""
        self._find(True)

    def action_previous_match(self) -> None:
        """The previous line that matches."""
        self._find(False)

    def action_follow(self) -> None:
        """Back to the newest output."""
        self.output.follow()

    def _find(self, forward: bool) -> None:
        if not self.needle:
            return
        if self.output.search(self.needle, forward) is None:
            self.notify(f"not found: {self.needle}", severity="warning")
