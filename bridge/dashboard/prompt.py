"""The attach console's escape prompt: the command words of `serial-bridge connect`.

The words and their parser are shared with the client (bridge/control/console.py);
here each one acts through the control API the dashboard already uses:
``break`` the attached session's break, ``baud``/``framing``/``flow`` the
``set`` request, ``history`` the port's history (``tail``), ``status`` the
``port`` request, ``log`` a local file. What the control API cannot do
(``dtr``, ``rts``) or what belongs to a Telnet session (``ayt``, ``send``) is
said in one line. Anything typed is one line of answer, never an exception.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from typing import IO, TYPE_CHECKING, Any

from bridge.control.client import ControlError
from bridge.control.console import (
    DEFAULT_ESCAPE,
    Command,
    help_lines,
    parse_baud,
    parse_command,
    parse_flow,
    parse_framing,
)
from bridge.control.model import PortInfo, human_bytes, settings_short
from bridge.control.schema import ProtocolError, b64decode
from bridge.dashboard.widgets.output_log import printable

if TYPE_CHECKING:
    from bridge.dashboard.screens.console import ConsoleScreen

HISTORY_LINES = 200   # the last lines of the history shown in the answers
CONNECT_ONLY = {
    "ayt": "Telnet's Are You There needs a Telnet session: use serial-bridge connect",
    "send": "sending a file is for serial-bridge connect (paced to the line rate)",
}
NO_MODEM_LINES = ("{word}: not available in the dashboard (the control API has no modem-line "
                  "request); serial-bridge connect {port} sets it through RFC 2217")
HELP_NOTES = {"ayt": "connect only", "send": "connect only", "dtr": "connect only",
              "rts": "connect only"}


class DeviceLogFile:
    """``log FILE``: what the attached session receives, appended to a local file (bytes as received)."""

    def __init__(self) -> None:
        self.path: str | None = None
        self._file: IO[bytes] | None = None

    def open(self, path: str) -> None:
        """Start appending to ``path`` (``~`` expanded), closing the previous log.

        Raises:
            OSError: the file cannot be opened for appending.
        """
        full = os.path.expanduser(path)
        handle = open(full, "ab")   # noqa: SIM115 - kept open until `log off` or leaving
        self.close()
        self._file, self.path = handle, full

    def write(self, data: bytes) -> str | None:
        """Append device output; on a write error the log is closed and the reason returned."""
        if self._file is None:
            return None
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as exc:
            path = self.path
            self.close()
            return f"log {path}: {exc.strerror or exc}; logging stopped"
        return None

    def close(self) -> None:
        """Stop logging."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
        self._file, self.path = None, None


class PromptCommands:
    """Runs prompt lines for one console screen."""

    def __init__(self, screen: ConsoleScreen) -> None:
        self.screen = screen
        self.log = DeviceLogFile()

    @property
    def port(self) -> str:
        """The console's port name."""
        return self.screen.key.name

    def run_line(self, line: str) -> None:
        """Run one prompt line; every problem is one line in the answers."""
        try:
            command = parse_command(line)
        except ValueError as exc:
            self.screen.say(str(exc))
            return
        if command is not None:
            _HANDLERS[command.name](self, command)

    def _request(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run one request in the background; a refusal or a lost bridge is one line."""
        async def guarded() -> None:
            try:
                await coro
            except ControlError as exc:
                self.screen.say(f"{self.port}: {exc}")
        self.screen.run_worker(guarded(), group="console-prompt", exit_on_error=False)

    # ------------------------------------------------------------ commands
    def do_break(self, command: Command) -> None:
        """A break through the attached session (as F2)."""
        self.screen.send_break()

    def do_baud(self, command: Command) -> None:
        """The line speed, through ``set``."""
        self._request(self._set({"baud": parse_baud(command.args[0])}))

    def do_framing(self, command: Command) -> None:
        """Data bits, parity and stop bits, through ``set``."""
        framing = parse_framing(command.args[0])
        stop = framing.stopbits
        self._request(self._set({"bytesize": framing.bytesize, "parity": framing.parity,
                                 "stopbits": int(stop) if stop.is_integer() else stop}))

    def do_flow(self, command: Command) -> None:
        """Flow control, through ``set``."""
        self._request(self._set({"flow": parse_flow(command.args[0])}))

    async def _set(self, changes: dict[str, Any]) -> None:
        reply = await self.screen.source.request("set", port=self.port, settings=changes)
        settings = reply.get("settings", {})
        self.screen.say(f"{self.port}: line set: {settings_short(settings)}")
        for key, refused in (reply.get("not_applied") or {}).items():
            self.screen.say(f"{self.port}: {key} {refused.get('asked')} not applied by the device; "
                            f"in force: {refused.get('in_force')}")

    def do_modem_line(self, command: Command) -> None:
        """DTR and RTS: the control API has no request for them."""
        self.screen.say(NO_MODEM_LINES.format(word=command.name, port=self.port))

    def do_connect_only(self, command: Command) -> None:
        """ayt and send belong to a Telnet session."""
        self.screen.say(f"{command.name}: {CONNECT_ONLY[command.name]}")

    def do_history(self, command: Command) -> None:
        """The port's recent output (the bridge's history, through ``tail``)."""
        self._request(self._history())

    async def _history(self) -> None:
        source, port = self.screen.source, self.port
        reply = await source.request("tail", port=port)
        if not self.screen.port_is_tailed():
            await source.request("untail", port=port)   # the detail screen below keeps its own tail
        try:
            data = b64decode(str(reply.get("history", "")))
        except ProtocolError as exc:
            self.screen.say(f"history of {port}: {exc}")
            return
        lines = printable(data).split("\n")
        shown = lines[-HISTORY_LINES:]
        more = f", its last {len(shown)} lines" if len(lines) > len(shown) else ""
        self.screen.say(f"history of {port}: {len(data)} bytes{more}")
        for text in shown:
            self.screen.say(text)
        self.screen.say(f"end of history of {port}")

    def do_log(self, command: Command) -> None:
        """``log FILE`` starts appending device output to a local file; ``log off`` stops."""
        path = command.args[0]
        if path.lower() == "off":
            old = self.log.path
            self.log.close()
            self.screen.say(f"log {old} closed" if old else "no log is open")
            return
        try:
            self.log.open(path)
        except OSError as exc:
            self.screen.say(f"log {path}: {exc.strerror or exc}")
            return
        self.screen.say(f"logging {self.port} to {self.log.path}")

    def do_status(self, command: Command) -> None:
        """One line: the port's state, settings, clients, counters, and this console."""
        self._request(self._status())

    async def _status(self) -> None:
        reply = await self.screen.source.request("port", port=self.port)
        info = PortInfo.from_json(reply.get("port", {}))
        screen = self.screen
        console = (f"session {screen.session} ({screen.access})" if screen.session is not None
                   else "not attached")
        clients = len(info.sessions)
        log = f", log {self.log.path}" if self.log.path else ""
        screen.say(f"{info.name}: {info.state}, {info.settings_short}, {clients} "
                   f"client{'s' if clients != 1 else ''}, rx {human_bytes(info.rx_bytes)} "
                   f"tx {human_bytes(info.tx_bytes)}, listen {info.listen} ({info.mode}); "
                   f"this console: {console}{log}")

    def do_help(self, command: Command) -> None:
        """Every command with one line of help."""
        for line in help_lines(DEFAULT_ESCAPE, HELP_NOTES):
            self.screen.say(line)

    def do_quit(self, command: Command) -> None:
        """Leave the console (detach)."""
        self.screen.leave()


_HANDLERS: dict[str, Callable[[PromptCommands, Command], None]] = {
    "break": PromptCommands.do_break,
    "baud": PromptCommands.do_baud,
    "framing": PromptCommands.do_framing,
    "flow": PromptCommands.do_flow,
    "dtr": PromptCommands.do_modem_line,
    "rts": PromptCommands.do_modem_line,
    "ayt": PromptCommands.do_connect_only,
    "send": PromptCommands.do_connect_only,
    "history": PromptCommands.do_history,
    "log": PromptCommands.do_log,
    "status": PromptCommands.do_status,
    "help": PromptCommands.do_help,
    "quit": PromptCommands.do_quit,
}
