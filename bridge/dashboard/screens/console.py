"""The attach console: a port's device as an interactive terminal.

It joins the port as a session (``attach``) like any client, under the
port's access policy. Every key goes to the device except Ctrl-] (leave)
and F2 (send a break). Output is drawn by a terminal emulator, so menus
and full-screen programs on the device display as on a real terminal.

Key delivery: every key is queued in order from the moment the console
opens; keys typed while the attach is under way wait in the queue and are
sent once it completes. One sender sends the queue in batches, one request
at a time, so order is kept; a failed send is said once and the sender goes
on. Ctrl-] never waits for the bridge: the console closes at once and the
detach is sent afterwards.
"""

from __future__ import annotations

import asyncio
import base64

from textual import events, work
from textual.app import ComposeResult
from textual.screen import Screen

from bridge.control.client import ControlError
from bridge.dashboard.keymap import BREAK_KEY, LEAVE_CHARACTER, LEAVE_KEY, key_bytes
from bridge.dashboard.messages import PortKey
from bridge.dashboard.source import StatusSource
from bridge.dashboard.widgets.terminal_view import TerminalView

INPUT_BATCH = 4096


class ConsoleScreen(Screen[None]):
    """An attached session's terminal."""

    def __init__(self, key: PortKey, source: StatusSource) -> None:
        super().__init__()
        self.key = key
        self.source = source
        self.session: int | None = None
        self.access = ""
        self._input: asyncio.Queue[bytes] = asyncio.Queue()
        self._leaving = False

    def compose(self) -> ComposeResult:
        """The whole screen is the terminal."""
        yield TerminalView(id="terminal")

    @property
    def terminal(self) -> TerminalView:
        """The terminal widget."""
        return self.query_one(TerminalView)

    def on_mount(self) -> None:
        """Focus the terminal and join the port."""
        self.terminal.focus()
        take = getattr(self.app, "take_typed_ahead", None)
        if take is not None:
            take(self.terminal)   # keys typed in one burst with `a` go to the device too
        # The app runs the attach: when Ctrl-] comes first, this screen is gone
        # (its workers cancelled), and the session the bridge opens is detached.
        self.app.run_worker(self.attach(), group="console-attach", exit_on_error=False)

    async def attach(self) -> None:
        """Join the port as a session, then start sending the queued keys."""
        try:
            reply = await self.source.request("attach", port=self.key.name)
        except ControlError as exc:
            if not self._leaving:
                self.notify(f"cannot attach to {self.key.name}: {exc}", severity="error")
                self.dismiss_console()
            return
        if self._leaving:   # Ctrl-] while the attach was under way
            await self._send_detach()
            return
        self.session = int(reply["session"])
        self.access = str(reply.get("access", ""))
        watcher = " (watching only: keys are not sent)" if self.access == "watcher" else ""
        self.notify(f"attached to {self.key.name}{watcher}. Ctrl-] leaves, F2 sends a break",
                    title="console")
        self.send_keys()

    @work(group="console", exit_on_error=False)
    async def send_keys(self) -> None:
        """Send the typed keys in order, in batches, one request at a time."""
        failed = False
        while self.session is not None:
            data = await self._input.get()
            while not self._input.empty() and len(data) < INPUT_BATCH:
                data += self._input.get_nowait()
            try:
                await self.source.request("input", port=self.key.name,
                                          data=base64.b64encode(data).decode("ascii"))
            except ControlError as exc:   # said once; the next keys are tried all the same
                if not failed:
                    self.notify(f"{self.key.name}: keys not delivered: {exc}", severity="error")
                failed = True

    def feed(self, data: bytes) -> None:
        """Output of the attached session."""
        self.terminal.feed(data)

    def detached(self, reason: str) -> None:
        """The bridge ended the session."""
        self.session = None
        self.notify(f"console of {self.key.name} closed: {reason}", severity="warning")
        self.dismiss_console()

    def on_key(self, event: events.Key) -> None:
        """Every key to the device, in order, except the leave and break keys."""
        event.stop()
        event.prevent_default()
        if event.key == LEAVE_KEY or event.character == LEAVE_CHARACTER:
            self.leave()
        elif event.key == BREAK_KEY:
            self.send_break()
        elif not self._leaving:
            data = key_bytes(event.key, event.character, self.terminal.application_cursor)
            if data is not None:
                self._input.put_nowait(data)   # sent once attached, if not yet

    def on_paste(self, event: events.Paste) -> None:
        """Pasted text goes to the device as typed."""
        if not self._leaving:
            self._input.put_nowait(event.text.replace("\n", "\r").encode("utf-8"))

    @work(group="console-break", exit_on_error=False)
    async def send_break(self) -> None:
        """Send a break through the attached session."""
        await self.source.request("break", port=self.key.name, attached=True)
        self.notify(f"break sent to {self.key.name}")

    def leave(self) -> None:
        """Go back at once; the detach is sent after (the bridge may be slow or gone)."""
        self._leaving = True
        attached = self.session is not None
        self.session = None
        self.dismiss_console()
        if attached:
            self.app.run_worker(self._send_detach(), group="console-detach", exit_on_error=False)

    async def _send_detach(self) -> None:
        try:
            await self.source.request("detach", port=self.key.name)
        except ControlError:
            pass  # the bridge may be gone already; leaving is what matters

    def dismiss_console(self) -> None:
        """Back to the previous screen (the key sender ends)."""
        self.workers.cancel_group(self, "console")
        if self.app.screen is self:
            self.app.pop_screen()
