"""The attach console: a port's device as an interactive terminal.

It joins the port as a session (``attach``) like any client, under the
port's access policy. Every key goes to the device except the escape key
(Ctrl-], as in `serial-bridge connect`) and F2 (send a break). Output is
drawn by a terminal emulator, so menus and full-screen programs on the
device display as on a real terminal.

The escape key opens a one-line prompt docked at the bottom
(``serial-bridge>``) that takes connect's command words (bridge/dashboard/prompt.py):
Enter runs the line and goes back to the session, an empty line, Esc,
Ctrl-C or Ctrl-D go back, and the escape key at the empty prompt (so:
pressed twice) sends it to the device. ``quit`` leaves the console. Answers
stay above the prompt line until the next key goes to the device.

Key delivery: every key is queued in order from the moment the console
opens; keys typed while the attach is under way wait in the queue and are
sent once it completes. One sender sends the queue in batches, one request
at a time, so order is kept; a failed send is said once and the sender goes
on. Leaving never waits for the bridge: the console closes at once and the
detach is sent afterwards.
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Label, RichLog

from bridge.control.client import ControlError
from bridge.control.console import PROMPT
from bridge.dashboard.keymap import (
    BREAK_KEY,
    ESCAPE_BYTE,
    ESCAPE_CHARACTER,
    ESCAPE_KEY,
    ESCAPE_KEY_NAME,
    PROMPT_CANCEL_KEYS,
    key_bytes,
)
from bridge.dashboard.messages import PortKey
from bridge.dashboard.prompt import PromptCommands
from bridge.dashboard.screens.detail import DetailScreen
from bridge.dashboard.source import StatusSource
from bridge.dashboard.widgets.terminal_view import TerminalView

INPUT_BATCH = 4096
ANSWER_LINES = 1000   # kept in the answers pane (it shows the last dozen, scrolls with the mouse)


def _edit_actions() -> dict[str, str]:
    """Input's own editing keys (Backspace, cursor keys, Ctrl-U ...) and their actions."""
    actions = {}
    for binding in Input.BINDINGS:
        if isinstance(binding, Binding):
            for key in binding.key.split(","):
                actions[key.strip()] = binding.action
    return actions


EDIT_ACTIONS = {key: action for key, action in _edit_actions().items()
                if action not in ("submit", "copy", "cut", "paste")}


class PromptInput(Input):
    """The escape prompt's line. It takes every key it gets itself (none reaches the
    device or the app's bindings) and says when the line is done with ``Finished``;
    keys after that go on to the screen, behind ``Finished``, in order."""

    class Finished(Message):
        """The line is done: ``how`` is ``enter`` (run ``line``), ``cancel`` or ``escape``
        (the escape key at the empty prompt: send it to the device)."""

        def __init__(self, how: str, line: str) -> None:
            super().__init__()
            self.how = how
            self.line = line

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, compact=True)
        self.finished = False

    def reset(self) -> None:
        """An empty line, taking keys again."""
        self.value = ""
        self.finished = False

    async def _on_key(self, event: events.Key) -> None:
        event.prevent_default()   # no other key handler of Input runs (this one does it all)
        if self.finished:
            return   # typed after Enter: bubbles to the screen, behind Finished
        event.stop()
        if event.key in PROMPT_CANCEL_KEYS:
            self._finish("cancel")
        elif _is_escape(event):
            if not self.value:   # at the empty prompt; in a line it is ignored
                self._finish("escape")
        elif event.key == "enter":
            self._finish("enter")
        elif event.is_printable:
            await super()._on_key(event)
        elif event.key in EDIT_ACTIONS:
            await self.run_action(EDIT_ACTIONS[event.key])

    def _finish(self, how: str) -> None:
        self.finished = True
        self.post_message(self.Finished(how, self.value))


class ConsoleScreen(Screen[None]):
    """An attached session's terminal, with connect's escape prompt."""

    def __init__(self, key: PortKey, source: StatusSource) -> None:
        super().__init__()
        self.key = key
        self.source = source
        self.session: int | None = None
        self.access = ""
        self.answers: deque[str] = deque(maxlen=ANSWER_LINES)   # every answer of the prompt
        self.commands = PromptCommands(self)
        self._input: asyncio.Queue[bytes] = asyncio.Queue()
        self._leaving = False

    def compose(self) -> ComposeResult:
        """The terminal, and the prompt pane docked at the bottom (hidden until the escape key)."""
        yield TerminalView(id="terminal")
        with Vertical(id="prompt-pane"):
            yield RichLog(id="prompt-answers", wrap=True, markup=False, max_lines=ANSWER_LINES)
            with Horizontal(id="prompt-line"):
                yield Label(PROMPT, id="prompt-label")
                yield PromptInput(id="prompt")

    @property
    def terminal(self) -> TerminalView:
        """The terminal widget."""
        return self.query_one(TerminalView)

    @property
    def prompt_input(self) -> PromptInput:
        """The escape prompt's input line."""
        return self.query_one(PromptInput)

    @property
    def prompt_open(self) -> bool:
        """The escape prompt takes the keys."""
        return self.query_one("#prompt-pane").has_class("-open")

    def on_mount(self) -> None:
        """Focus the terminal and join the port."""
        self.terminal.focus()
        take = getattr(self.app, "take_typed_ahead", None)
        if take is not None:
            take(self.terminal)   # keys typed in one burst with `a` go to the device too
        # The app runs the attach: when the console is left first, this screen is gone
        # (its workers cancelled), and the session the bridge opens is detached.
        self.app.run_worker(self.attach(), group="console-attach", exit_on_error=False)

    def on_unmount(self) -> None:
        """Close a `log FILE` still open."""
        self.commands.log.close()

    async def attach(self) -> None:
        """Join the port as a session, then start sending the queued keys."""
        try:
            reply = await self.source.request("attach", port=self.key.name)
        except ControlError as exc:
            if not self._leaving:
                self.notify(f"cannot attach to {self.key.name}: {exc}", severity="error")
                self.dismiss_console()
            return
        if self._leaving:   # left while the attach was under way
            await self._send_detach()
            return
        self.session = int(reply["session"])
        self.access = str(reply.get("access", ""))
        watcher = " (watching only: keys are not sent)" if self.access == "watcher" else ""
        self.notify(f"attached to {self.key.name}{watcher}. {ESCAPE_KEY_NAME} opens the prompt "
                    "(quit leaves, help lists), F2 sends a break", title="console")
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
        """Output of the attached session (and to the `log FILE`, when one is open)."""
        self.terminal.feed(data)
        problem = self.commands.log.write(data)
        if problem is not None:
            self.say(problem)

    def detached(self, reason: str) -> None:
        """The bridge ended the session."""
        self.session = None
        self.notify(f"console of {self.key.name} closed: {reason}", severity="warning")
        self.dismiss_console()

    # --- keys ----------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """Every key to the device, in order, except the escape key and F2; with the
        prompt open, keys edit the prompt line."""
        if self.prompt_open:
            self._prompt_key(event)
            return
        event.stop()
        event.prevent_default()
        if _is_escape(event):
            self.open_prompt()
        elif event.key == BREAK_KEY:
            self.send_break()
        elif not self._leaving:
            data = key_bytes(event.key, event.character, self.terminal.application_cursor)
            if data is not None:
                self._to_device(data)

    def _prompt_key(self, event: events.Key) -> None:
        """A key with the prompt open that did not go through the prompt line (typed ahead
        into the terminal, or the focus elsewhere): to the line, in order."""
        event.stop()
        event.prevent_default()
        self.prompt_input.post_message(events.Key(event.key, event.character))

    def on_prompt_input_finished(self, message: PromptInput.Finished) -> None:
        """The prompt line is done: back to the session, then run it (quit leaves)."""
        message.stop()
        self.close_prompt()
        if message.how == "escape":
            self._to_device(ESCAPE_BYTE)   # pressed twice: the key itself goes to the device
        elif message.how == "enter":
            self.commands.run_line(message.line)

    def _to_device(self, data: bytes) -> None:
        """Queue bytes for the device (sent once attached); the answers make way for it."""
        if self._leaving:
            return
        pane = self.query_one("#prompt-pane")
        if pane.has_class("-answers"):
            pane.remove_class("-answers")
            self.query_one("#prompt-answers", RichLog).clear()
        self._input.put_nowait(data)

    def on_paste(self, event: events.Paste) -> None:
        """Pasted text goes to the device as typed (to the prompt line while it is open)."""
        if self.prompt_open:
            event.stop()
            self.prompt_input.insert_text_at_cursor(event.text.splitlines()[0] if event.text else "")
        else:
            self._to_device(event.text.replace("\n", "\r").encode("utf-8"))

    # --- the prompt ------------------------------------------------------------

    def open_prompt(self) -> None:
        """Show the prompt line and give it the keys."""
        self.query_one("#prompt-pane").add_class("-open")
        prompt = self.prompt_input
        prompt.reset()
        prompt.focus()

    def close_prompt(self) -> None:
        """Back to the session: keys go to the device again."""
        self.query_one("#prompt-pane").remove_class("-open")
        self.terminal.focus()

    def say(self, line: str) -> None:
        """One line of answer, shown above the prompt line until the next key to the device."""
        self.answers.append(line)
        if self.is_mounted:
            self.query_one("#prompt-answers", RichLog).write(line)
            self.query_one("#prompt-pane").add_class("-answers")

    def port_is_tailed(self) -> bool:
        """A detail screen of this port is open below (it holds its own ``tail``)."""
        return any(isinstance(screen, DetailScreen) and screen.key == self.key and screen.tailing
                   for screen in self.app.screen_stack)

    # --- actions ---------------------------------------------------------------

    @work(group="console-break", exit_on_error=False)
    async def send_break(self) -> None:
        """Send a break through the attached session (F2, or ``break`` at the prompt)."""
        try:
            await self.source.request("break", port=self.key.name, attached=True)
        except ControlError as exc:
            self.say(f"{self.key.name}: break not sent: {exc}")
            self.notify(f"{self.key.name}: break not sent: {exc}", severity="error")
            return
        self.say(f"{self.key.name}: break sent")
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


def _is_escape(event: events.Key) -> bool:
    """The escape key, by Textual's name or by the character a terminal sends for it."""
    return event.key == ESCAPE_KEY or event.character == ESCAPE_CHARACTER
