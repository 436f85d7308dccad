"""The escape prompt's commands, and the command line's settings applied at connect.

Each command word of :mod:`bridge.control.console` has one method here,
found through a dispatch table. Line settings go through RFC 2217 and report
the value the server answered; without RFC 2217 in force they say so in one
line. Anything a user can get wrong is one line, never an exception.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bridge.client import rfc2217
from bridge.client.logfile import DeviceLog
from bridge.client.remote import RemoteError, fetch_history
from bridge.client.sender import CrLfWriter, Transfer, send_file
from bridge.client.terminal import window_size
from bridge.control.console import (
    COMMAND_WORDS,
    Command,
    escape_name,
    parse_baud,
    parse_command,
    parse_flow,
    parse_framing,
    parse_on_off,
)
from bridge.telnet import Cmd, ComPortCmd

if TYPE_CHECKING:
    from bridge.client.console import Console
    from bridge.client.link import Link

NO_COMPORT = "the server does not speak RFC 2217 (COM-PORT-OPTION refused)"
MAX_SEND = 256 << 20


class CommandRunner:
    """Runs prompt lines against one console."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @property
    def link(self) -> Link:
        """The console's link."""
        return self.console.link

    # ------------------------------------------------------------- dispatch
    def run_line(self, line: str) -> None:
        """Run one prompt line; problems are one line on the screen."""
        try:
            command = parse_command(line)
        except ValueError as exc:
            self.console.say(str(exc))
            return
        if command is None:
            return
        handler = _HANDLERS[command.name]
        try:
            handler(self, command)
        except ValueError as exc:
            self.console.say(str(exc))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.console.start_busy(task)

    # ------------------------------------------------------------ commands
    def do_break(self, command: Command) -> None:
        """RFC 2217 break (SET-CONTROL 5, then 6 after --break-ms), else IAC BRK."""
        if self.link.comport_active:
            self._spawn(self._comport_break())
            return
        self.link.send_command(Cmd.BRK)
        self.console.say("break sent (IAC BRK)")

    async def _comport_break(self) -> None:
        on = await self.link.comport(ComPortCmd.SET_CONTROL, bytes((rfc2217.BREAK_ON,)))
        try:
            await asyncio.sleep(self.console.options.break_ms / 1000)
        finally:
            off = await self.link.comport(ComPortCmd.SET_CONTROL, bytes((rfc2217.BREAK_OFF,)))
        answered = on is not None and off is not None
        self.console.say(f"break sent ({self.console.options.break_ms} ms, RFC 2217)"
                         + ("" if answered else "; the server did not answer"))

    def do_baud(self, command: Command) -> None:
        """SET-BAUDRATE."""
        self._comport_set("baud", ComPortCmd.SET_BAUDRATE, parse_baud(command.args[0]).to_bytes(4, "big"))

    def do_framing(self, command: Command) -> None:
        """SET-DATASIZE, SET-PARITY, SET-STOPSIZE."""
        framing = parse_framing(command.args[0])
        self._spawn(self._framing(framing.bytesize, framing.parity, framing.stopbits))

    async def _framing(self, bytesize: int, parity: str, stopbits: float) -> None:
        if await self._comport_or_say("framing"):
            await self._set_framing(bytesize, parity, stopbits, announce=True)

    async def _set_framing(self, bytesize: int, parity: str, stopbits: float, *, announce: bool) -> None:
        link = self.link
        await link.comport(ComPortCmd.SET_DATASIZE, bytes((bytesize,)))
        await link.comport(ComPortCmd.SET_PARITY, bytes((rfc2217.PARITY_CODES[parity],)))
        await link.comport(ComPortCmd.SET_STOPSIZE, bytes((rfc2217.STOPSIZE_CODES[stopbits],)))
        if announce:
            self.console.say(f"framing now {link.line.framing}")

    def do_flow(self, command: Command) -> None:
        """SET-CONTROL 1/2/3."""
        flow = parse_flow(command.args[0])
        self._comport_set("flow", ComPortCmd.SET_CONTROL, bytes((rfc2217.FLOW_CODES[flow],)))

    def do_dtr(self, command: Command) -> None:
        """SET-CONTROL 8/9."""
        on = parse_on_off("dtr", command.args[0])
        self._comport_set("dtr", ComPortCmd.SET_CONTROL, bytes((rfc2217.DTR_ON if on else rfc2217.DTR_OFF,)))

    def do_rts(self, command: Command) -> None:
        """SET-CONTROL 11/12."""
        on = parse_on_off("rts", command.args[0])
        self._comport_set("rts", ComPortCmd.SET_CONTROL, bytes((rfc2217.RTS_ON if on else rfc2217.RTS_OFF,)))

    async def _comport_or_say(self, what: str) -> bool:
        """Take RFC 2217 if it is not in force yet; False (and one line said) when there is none."""
        if not self.link.telnet:
            self.console.say(f"{what}: a raw TCP connection (tcp://) carries no RFC 2217")
            return False
        if not await self.link.ensure_comport():
            self.console.say(f"{what}: {NO_COMPORT}")
            return False
        return True

    def _comport_set(self, what: str, cmd: ComPortCmd, value: bytes) -> None:
        self._spawn(self._set_one(what, cmd, value))

    async def _set_one(self, what: str, cmd: ComPortCmd, value: bytes) -> None:
        if not await self._comport_or_say(what):
            return
        answer = await self.link.comport(cmd, value)
        if answer is None:
            self.console.say(f"{what}: the server did not answer")
            return
        self.console.say(f"{what} now {_describe(what, self.link.line)}")

    def do_ayt(self, command: Command) -> None:
        """IAC AYT; the server's answer arrives as output. A TIMING-MARK after it (RFC 860) tells
        when any answer would have arrived, so silence is said, not left to guess."""
        self.link.send_command(Cmd.AYT)
        self._spawn(self._ayt_answered(self.link.data_in))

    async def _ayt_answered(self, before: int) -> None:
        mark = await self.link.timing_mark()
        if self.link.data_in == before:
            why = "" if mark is not None else " (nor to TIMING-MARK)"
            self.console.say(f"no answer to AYT{why}")

    def do_history(self, command: Command) -> None:
        """The port's history, over the control endpoint."""
        self._spawn(self._history())

    async def _history(self) -> None:
        try:
            name, data = await fetch_history(self.link.target, self.console.options.control)
        except RemoteError as exc:
            self.console.say(str(exc))
            return
        self.console.say(f"history of {name}: {len(data)} bytes")
        self.console.write_screen(data)
        self.console.say(f"end of history of {name}")

    def do_log(self, command: Command) -> None:
        """Start (``log FILE``) or stop (``log off``) the device log."""
        arg = command.args[0]
        if self.console.log is not None:
            old = self.console.log
            self.console.log = None
            old.close()
            self.console.say(f"log {old.path} closed ({old.bytes} bytes)")
        if arg.lower() != "off":
            self.open_log(arg)
            self.console.say(f"logging to {arg}")

    def open_log(self, path: str) -> None:
        """Open the device log (appending).

        Raises:
            ValueError: the file cannot be opened (one line).
        """
        try:
            self.console.log = DeviceLog(path, timestamps=self.console.options.log_timestamps)
        except OSError as exc:
            raise ValueError(f"log {path}: {exc.strerror or exc}") from None

    def do_send(self, command: Command) -> None:
        """Stream a file to the device at the line rate (Ctrl-C stops)."""
        path = command.args[0]
        try:
            with open(path, "rb") as file:
                data = file.read(MAX_SEND + 1)
        except OSError as exc:
            raise ValueError(f"send {path}: {exc.strerror or exc}") from None
        if len(data) > MAX_SEND:
            raise ValueError(f"send {path}: larger than {MAX_SEND >> 20} MiB")
        self._spawn(self._send(path, data))

    async def _send(self, path: str, data: bytes) -> None:
        line = self.link.line
        if await self.link.ensure_comport() and not line.baud:
            await self.link.comport(ComPortCmd.SET_BAUDRATE, bytes(4))
        rate = line.baud / line.char_bits() if line.baud else None
        console = self.console
        screen = CrLfWriter(console.write_screen) if console.interactive else None
        started = time.monotonic()
        transfer = Transfer(len(data))
        try:
            sent = await send_file(data, os.path.basename(path) or path, rate=rate, send=self.link.send, drain=self._drain,
                                   screen=screen, transfer=transfer, width=window_size(console.stdin)[0])
        except asyncio.CancelledError:
            console.say(f"send {path} stopped: {transfer.sent} of {len(data)} bytes sent")
            raise
        pace = f" at {line.baud} baud" if rate else ""
        console.say(f"sent {path}: {sent} bytes in {time.monotonic() - started:.1f} s{pace}")

    async def _drain(self) -> None:
        await self.link.writer.drain()

    def do_status(self, command: Command) -> None:
        """The connection, options, line settings and modem lines."""
        self._spawn(self._status())

    async def _status(self) -> None:
        link = self.link
        if not await link.ensure_comport():
            self.console.print_lines(self.status_lines())
            return
        for cmd, value in ((ComPortCmd.SET_BAUDRATE, bytes(4)), (ComPortCmd.SET_DATASIZE, bytes(1)),
                           (ComPortCmd.SET_PARITY, bytes(1)), (ComPortCmd.SET_STOPSIZE, bytes(1)),
                           (ComPortCmd.SET_CONTROL, bytes((rfc2217.ASK_FLOW,))),
                           (ComPortCmd.SET_CONTROL, bytes((rfc2217.ASK_DTR,))),
                           (ComPortCmd.SET_CONTROL, bytes((rfc2217.ASK_RTS,)))):
            await link.comport(cmd, value, timeout=1.0)
        self.console.print_lines(self.status_lines())

    def status_lines(self) -> list[str]:
        """What ``status`` prints."""
        link = self.link
        line = link.line
        mode = "raw TCP" if not link.telnet else ("local line mode" if link.line_mode else "character mode")
        echo = "server" if link.remote_echo else ("local" if link.line_mode else "none")
        lines = [
            f"connected to {link.target}, {time.time() - link.connected_at:.0f} s, "
            f"{link.bytes_in} bytes in, {link.bytes_out} bytes out",
            f"mode: {mode}, echo: {echo}, escape key {escape_name(self.console.options.escape)}",
            f"telnet options: {link.options_text()}",
        ]
        tls = link.tls_text()
        if tls:
            lines.append(f"tls: {tls}")
        if link.comport_active:
            lines.append(f"line: {line.baud or '?'} baud {line.framing}, flow {line.flow or '?'}, "
                         f"DTR {rfc2217.on_off(line.dtr)}, RTS {rfc2217.on_off(line.rts)}")
            lines.append(f"modem lines: {line.modem_text()}")
        else:
            lines.append(f"line settings: not available ({NO_COMPORT if link.telnet else 'raw TCP'})")
        log = self.console.log
        lines.append(f"log: {log.path} ({log.bytes} bytes)" if log else "log: off")
        return lines

    def do_help(self, command: Command) -> None:
        """Every command with one line of help."""
        width = max(len(word.usage) for word in COMMAND_WORDS)
        key = escape_name(self.console.options.escape)
        lines = [f"  {word.usage.ljust(width)}  {word.help}" for word in COMMAND_WORDS]
        lines.append(f"  {key} twice sends {key} itself; an empty line goes back to the session")
        self.console.print_lines(lines)

    def do_quit(self, command: Command) -> None:
        """Close the connection and leave (exit 0)."""
        self.console.finish(0, "")

    # ------------------------------------------------------- at connect time
    async def apply_options(self) -> None:
        """Apply --baud, --framing, --flow, --dtr and --rts once RFC 2217 is settled."""
        options = self.console.options
        wanted = [name for name in ("baud", "framing", "flow", "dtr", "rts") if getattr(options, name) is not None]
        link = self.link
        if not wanted:
            if link.target.kind == "rfc2217" and not await link.ensure_comport():
                self.console.say(NO_COMPORT)
            return
        if not await link.ensure_comport():
            self.console.say(f"--{', --'.join(wanted)} not applied: "
                             + (NO_COMPORT if link.telnet else "raw TCP carries no RFC 2217"))
            return
        if options.baud is not None:
            await link.comport(ComPortCmd.SET_BAUDRATE, options.baud.to_bytes(4, "big"))
        if options.framing is not None:
            framing = parse_framing(options.framing)
            await self._set_framing(framing.bytesize, framing.parity, framing.stopbits, announce=False)
        for name, value in (("flow", options.flow), ("dtr", options.dtr), ("rts", options.rts)):
            if value is not None:
                await link.comport(ComPortCmd.SET_CONTROL, bytes((_control_code(name, value),)))
        self.console.say(f"line set: {', '.join(f'{name} {_describe(name, link.line)}' for name in wanted)}")


def _control_code(name: str, value: object) -> int:
    if name == "flow":
        return rfc2217.FLOW_CODES[str(value)]
    if name == "dtr":
        return rfc2217.DTR_ON if value else rfc2217.DTR_OFF
    return rfc2217.RTS_ON if value else rfc2217.RTS_OFF


def _describe(what: str, line: rfc2217.LineView) -> str:
    values: dict[str, Callable[[], str]] = {
        "baud": lambda: str(line.baud or "?"),
        "framing": lambda: line.framing,
        "flow": lambda: line.flow or "?",
        "dtr": lambda: rfc2217.on_off(line.dtr),
        "rts": lambda: rfc2217.on_off(line.rts),
    }
    return values[what]()


_HANDLERS: dict[str, Callable[[CommandRunner, Command], None]] = {
    "break": CommandRunner.do_break,
    "baud": CommandRunner.do_baud,
    "framing": CommandRunner.do_framing,
    "flow": CommandRunner.do_flow,
    "dtr": CommandRunner.do_dtr,
    "rts": CommandRunner.do_rts,
    "ayt": CommandRunner.do_ayt,
    "history": CommandRunner.do_history,
    "log": CommandRunner.do_log,
    "send": CommandRunner.do_send,
    "status": CommandRunner.do_status,
    "help": CommandRunner.do_help,
    "quit": CommandRunner.do_quit,
}
