"""The dashboard app: assembly, the status feed and the port actions.

Screens and widgets live in their own modules; this class wires the status
feed (one worker per bridge) to them and implements the actions that the
key bindings and the command palette share.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from textual.notifications import SeverityLevel

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from bridge.dashboard import source as feed
from bridge.dashboard.messages import BridgeEventReceived, PortKey, PortsReceived, SourceStateChanged
from bridge.dashboard.screens.confirm import ConfirmScreen
from bridge.dashboard.screens.console import ConsoleScreen
from bridge.dashboard.screens.detail import DetailScreen
from bridge.dashboard.screens.help import HelpScreen
from bridge.dashboard.screens.main import MainScreen
from bridge.dashboard.screens.settings import SettingsScreen
from bridge.dashboard.screens.token import TokenScreen
from bridge.dashboard.source import ControlSource, SourceFinder, StatusSource
from bridge.dashboard.store import PortStore
from bridge.dashboard.widgets.log_pane import LogLines

# Port actions for the command palette: (action, title, help).
PALETTE_ACTIONS = (
    ("send_break", "Send break", "send a break on the serial line"),
    ("send_ip", "Send interrupt (IP)", "what the port's profile says; default Ctrl-C"),
    ("edit_settings", "Change line settings", "baud rate, framing, flow control"),
    ("enable_port", "Enable port", "open the device and accept clients"),
    ("disable_port", "Disable port", "close the device; clients are told"),
    ("attach", "Attach console", "type to the device from here"),
)
TYPING_SCREEN_KEYS = frozenset({"s", "a"})   # open a screen that takes typing (settings, console)
_CONSOLE_BLOCKED = frozenset({"command_palette", "quit", "help_quit"})
_DONE = {"break": "break sent", "ip": "interrupt sent", "enable": "enabled",
         "disable": "disabled", "kick": "session disconnected", "set": "settings applied"}


class DashboardApp(App[None]):
    """Ports of one or more bridges, and what an operator does with them."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "serial-bridge"

    def __init__(self, sources: Sequence[StatusSource], finders: Sequence[SourceFinder] = (),
                 token: str | None = None, *, log_lines: LogLines | None = None) -> None:
        """Args:
            sources: the bridges to follow from the start (``--control``).
            finders: where more bridges come from while running (``--discover``).
            token: the control token for found bridges that need one; asked for when None.
            log_lines: this program's own log, shown in a pane of the main
                screen (the demo, which runs the bridge in this process).
        """
        super().__init__()
        self.log_lines = log_lines
        self._typed_ahead: list[events.Key] = []
        self._typing_ahead = False
        self.sources = list(sources)
        self.finders = list(finders)
        self.token = token
        self.store = PortStore([s.label for s in self.sources])
        self.sub_title = ", ".join(s.label for s in self.sources)
        self.notices: deque[tuple[str, str, str]] = deque(maxlen=200)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Show a notification (plain text by default: names may hold brackets) and keep it
        in ``notices`` as (severity, title, message)."""
        self.notices.append((severity, title, message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # --- keys typed ahead of a screen --------------------------------------
    # Keys typed in one burst with the key that opens a screen (s, a) are routed
    # by Textual to the screen that was active when they arrived. That screen
    # hands them here; the new screen takes them once its field has the focus.

    def type_ahead(self, event: events.Key) -> bool:
        """Called by the ports table and detail screens with every key they get: True when
        the key was typed after one that opens a typing screen (s, a), so kept for it."""
        if self._typing_ahead:
            self._typed_ahead.append(events.Key(event.key, event.character))
            return True
        if event.key in TYPING_SCREEN_KEYS:
            self._typing_ahead = True   # its binding runs after this: the keys that follow are for it
        return False

    def take_typed_ahead(self, widget: Widget | None) -> None:
        """Replay the keys typed ahead into ``widget`` (the new screen's focused field), in
        order; None drops them (no screen opened after all)."""
        keys, self._typed_ahead, self._typing_ahead = self._typed_ahead, [], False
        if widget is not None:
            for key in keys:
                widget.post_message(key)

    def get_default_screen(self) -> Screen[Any]:
        """The ports table."""
        return MainScreen()

    @property
    def main_screen(self) -> MainScreen:
        """The ports table screen (always at the bottom of the stack)."""
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        """Start one status feed per bridge."""
        for index in range(len(self.sources)):
            self.follow(index)
        for finder in self.finders:
            self.discover(finder)

    async def on_unmount(self) -> None:
        """Disconnect from every bridge."""
        for finder in self.finders:
            finder.close()
        for source in self.sources:
            await source.close()

    def add_source(self, source: StatusSource) -> int:
        """Follow one more bridge (a found one); returns its index."""
        self.sources.append(source)
        index = self.store.add_source(source.label)
        self.sub_title = ", ".join(s.label for s in self.sources)
        self.follow(index)
        self.refresh_views()
        return index

    @work(group="discovery", exit_on_error=False)
    async def discover(self, finder: SourceFinder) -> None:
        """Add each bridge the finder reports, as --control would (asking for a token when needed)."""
        known = {getattr(s, "address", None) for s in self.sources}
        async for found in finder.found():
            if found.gone:
                self.notify(f"{found.name} withdrew its advertisement", title="discovery")
                continue
            if found.address in known:
                continue
            known.add(found.address)
            if found.token_required and self.token is None:
                self.ask_token(found.name, found.address)
            else:
                self.add_source(ControlSource(found.address, self.token, label=found.name))
                self.notify(f"found {found.name} at {found.address}", title="discovery")

    def ask_token(self, name: str, address: str) -> None:
        """Ask for a found bridge's control token, then follow it (Escape skips it)."""
        def answered(token: str | None) -> None:
            if token:
                self.add_source(ControlSource(address, token, label=name))
        self.push_screen(TokenScreen(name, address), answered)

    @work(group="status-feed", exit_on_error=False)
    async def follow(self, index: int) -> None:
        """Read one bridge's updates and post them as messages."""
        async for update in self.sources[index].updates():
            if isinstance(update, feed.Event):
                self.post_message(BridgeEventReceived(index, update.message))
            elif isinstance(update, feed.Ports):
                self.post_message(PortsReceived(index, update.ports))
            elif isinstance(update, feed.Connected):
                self.post_message(SourceStateChanged(index, True))
            else:
                self.post_message(SourceStateChanged(index, False, update.reason))

    @on(Worker.StateChanged)
    def report_failure(self, event: Worker.StateChanged) -> None:
        """Every failed worker (an action, a tail, the console) ends up here as one line."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            message = str(event.worker.error).splitlines()[0] if str(event.worker.error) else \
                type(event.worker.error).__name__
            self.notify(message, severity="error", title="failed")

    # --- the status feed --------------------------------------------------

    @on(SourceStateChanged)
    def show_source_state(self, message: SourceStateChanged) -> None:
        """A bridge came or went: say so, and start the tail again after a reconnect."""
        changed = self.store.set_online(message.source, message.connected, message.reason)
        label = self.sources[message.source].label
        if changed and message.connected:
            self.notify(f"connected to {label}")
            for screen in self.screen_stack:
                if isinstance(screen, DetailScreen) and screen.key.source == message.source:
                    screen.tail()
        elif changed or not message.connected:
            self.notify(message.reason or f"lost {label}", severity="error", title="bridge")
            for screen in list(self.screen_stack):
                if isinstance(screen, ConsoleScreen) and screen.key.source == message.source \
                        and screen.session is not None:
                    screen.detached("the connection to the bridge was lost")
        self.refresh_views()

    @on(PortsReceived)
    def show_ports(self, message: PortsReceived) -> None:
        """Fresh ports of one bridge."""
        self.store.set_ports(message.source, message.ports)
        self.refresh_views()

    @on(BridgeEventReceived)
    def show_event(self, message: BridgeEventReceived) -> None:
        """One event: counters, output, or something to tell the operator."""
        handler = _EVENT_HANDLERS.get(str(message.event.get("event")))
        if handler is not None:
            handler(self, message.source, message.event)

    def refresh_views(self) -> None:
        """Push the store's views down to the screens (not to one being built or torn down)."""
        main = self.main_screen
        if not main.is_mounted or not main.query("#connection"):
            return   # an update that comes while the app starts or exits
        main.show_ports(self.store.views(), self.store.multi_host)
        online = sum(self.store.online)
        parts = [f"{s.label}: {'connected' if self.store.online[i] else 'reconnecting'}"
                 for i, s in enumerate(self.sources)]
        main.show_connection("  ".join(parts), online < len(self.sources))
        for screen in self.screen_stack:
            if isinstance(screen, DetailScreen) and screen.is_mounted:
                screen.show(self.store.view(screen.key))

    def _on_counters(self, source: int, event: dict[str, Any]) -> None:
        self.store.apply_counters(source, event)
        self.refresh_views()

    def _on_output(self, source: int, event: dict[str, Any]) -> None:
        from bridge.control.schema import ProtocolError, b64decode

        try:
            data = b64decode(str(event.get("data", "")))
        except ProtocolError:
            return
        key = PortKey(source, str(event.get("port")))
        attached = "session" in event
        for screen in self.screen_stack:
            if attached and isinstance(screen, ConsoleScreen) and screen.key == key:
                screen.feed(data)
            elif not attached and isinstance(screen, DetailScreen) and screen.key == key:
                screen.output.feed(data)

    def _on_detached(self, source: int, event: dict[str, Any]) -> None:
        key = PortKey(source, str(event.get("port")))
        for screen in self.screen_stack:
            if isinstance(screen, ConsoleScreen) and screen.key == key:
                screen.detached(str(event.get("reason", "closed")))

    def _on_port_state(self, source: int, event: dict[str, Any]) -> None:
        state = str(event.get("state"))
        error = f": {event['error']}" if event.get("error") else ""
        self.notify(f"{event.get('port')} is {state}{error}", title=self._host(source),
                    severity="information" if state == "up" else "warning")

    def _on_session(self, source: int, event: dict[str, Any]) -> None:
        verb = "connected" if event.get("event") == "session-open" else "left"
        self.notify(f"{event.get('peer')} {verb} ({event.get('access')})",
                    title=f"{self._host(source)}{event.get('port')}")

    def _on_alert(self, source: int, event: dict[str, Any]) -> None:
        self.notify(f"{event.get('alert')}: {event.get('line')}", severity="warning",
                    title=f"{self._host(source)}{event.get('port')}: alert")

    def _on_dropped(self, source: int, event: dict[str, Any]) -> None:
        self.notify(f"{event.get('count')} updates were dropped (the dashboard fell behind)",
                    severity="warning")

    def _host(self, source: int) -> str:
        return f"{self.sources[source].label}: " if self.store.multi_host else ""

    # --- port actions (key bindings and the command palette) --------------

    def current_port(self) -> PortKey | None:
        """The port the operator is looking at."""
        screen = self.screen
        if isinstance(screen, (DetailScreen, ConsoleScreen)):
            return screen.key
        return self.main_screen.selected

    def _require_port(self) -> PortKey | None:
        key = self.current_port()
        if key is None:
            self.notify("no port selected", severity="warning")
        return key

    @work(group="actions", exit_on_error=False)
    async def act(self, key: PortKey, op: str, **args: Any) -> None:
        """Run one port request and say that it was done."""
        await self.sources[key.source].request(op, port=key.name, **args)
        self.notify(f"{key.name}: {_DONE.get(op, 'done')}")

    def action_open_detail(self) -> None:
        """Show the selected port's detail."""
        key = self._require_port()
        if key is not None:
            self.push_screen(DetailScreen(key, self.sources[key.source], self.store.view(key)))

    def _act_on_selected(self, op: str) -> None:
        key = self._require_port()
        if key is not None:
            self.act(key, op)

    def action_send_break(self) -> None:
        """Send a break on the selected port."""
        self._act_on_selected("break")

    def action_send_ip(self) -> None:
        """Send Interrupt Process to the selected port."""
        self._act_on_selected("ip")

    def action_enable_port(self) -> None:
        """Enable the selected port."""
        self._act_on_selected("enable")

    def action_disable_port(self) -> None:
        """Disable the selected port, once the operator says yes."""
        key = self._require_port()
        if key is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(key, "disable")

        self.push_screen(ConfirmScreen(f"Disable {key.name}? Its device is closed and its "
                                       "clients are told; e enables it again."), answered)

    def action_edit_settings(self) -> None:
        """Open the line-settings form for the selected port."""
        key = self._require_port()
        view = self.store.view(key) if key is not None else None
        if key is None or view is None:
            self.take_typed_ahead(None)
            return

        def apply(changes: dict[str, Any] | None) -> None:
            if changes:
                self.act(key, "set", settings=changes)

        self.push_screen(SettingsScreen(key.name, dict(view.info.settings)), apply)

    def action_kick(self) -> None:
        """Disconnect the session under the cursor of the detail screen."""
        screen = self.screen
        session = screen.selected_session if isinstance(screen, DetailScreen) else None
        if not isinstance(screen, DetailScreen) or session is None:
            self.notify("choose a session in a port's detail first", severity="warning")
            return
        key = screen.key

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(key, "kick", session=session)

        self.push_screen(ConfirmScreen(f"Disconnect session {session} of {key.name}?"), answered)

    def action_attach(self) -> None:
        """Open the console on the selected port."""
        key = self._require_port()
        if key is not None:
            self.push_screen(ConsoleScreen(key, self.sources[key.source]))
        else:
            self.take_typed_ahead(None)

    def action_reload(self) -> None:
        """Reload the config of the selected port's bridge (or of every bridge)."""
        key = self.current_port()
        for index in [key.source] if key is not None else range(len(self.sources)):
            self.reload_bridge(index)

    @work(group="actions", exit_on_error=False)
    async def reload_bridge(self, index: int) -> None:
        """Ask one bridge to re-read its config, and say what changed."""
        result = (await self.sources[index].request("reload")).get("result", {})
        label = self.sources[index].label
        if result.get("rejected"):   # the file was refused: the bridge runs on as it was
            for error in result["rejected"]:
                self.notify(str(error), severity="error", title="config")
            self.notify("the bridge keeps running its previous configuration", severity="error",
                        title=f"reload refused by {label}")
            return
        changes = [f"{k}: {', '.join(result[k])}" for k in ("added", "removed", "changed") if result.get(k)]
        changes += [str(change) for change in result.get("bridge") or []]   # users, [bridge] keys
        self.notify("; ".join(changes) or "nothing changed", title=f"reloaded {label}")
        for error in result.get("errors", []):
            self.notify(str(error), severity="error", title="config")

    def action_show_help(self) -> None:
        """Show the keys."""
        self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """In the console, Ctrl-P and Ctrl-Q belong to the device."""
        if isinstance(self.screen, ConsoleScreen) and action in _CONSOLE_BLOCKED:
            return False
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: Textual's commands, the port actions, reload and help."""
        yield from super().get_system_commands(screen)
        key = self.current_port()
        if key is not None:
            for action, title, help_text in PALETTE_ACTIONS:
                yield SystemCommand(f"{title}: {key.name}", help_text, getattr(self, f"action_{action}"))
            if isinstance(screen, DetailScreen):
                yield SystemCommand(f"Kick session: {key.name}", "disconnect the session under the cursor",
                                    self.action_kick)
        yield SystemCommand("Reload config", "re-read the bridge's config file", self.action_reload)
        yield SystemCommand("Keys", "the help screen", self.action_show_help)


_EVENT_HANDLERS: dict[str, Callable[[DashboardApp, int, dict[str, Any]], None]] = {
    "counters": DashboardApp._on_counters,
    "output": DashboardApp._on_output,
    "detached": DashboardApp._on_detached,
    "port-state": DashboardApp._on_port_state,
    "session-open": DashboardApp._on_session,
    "session-close": DashboardApp._on_session,
    "dropped": DashboardApp._on_dropped,
    "alert": DashboardApp._on_alert,
}


def make_dashboard(sources: Sequence[StatusSource], finders: Sequence[SourceFinder] = (),
                   token: str | None = None, *, log_lines: LogLines | None = None) -> DashboardApp:
    """The dashboard over these bridges (and those ``finders`` find, with a log pane for
    ``log_lines``); used by the CLI, the demo and the tests."""
    return DashboardApp(sources, finders, token, log_lines=log_lines)
