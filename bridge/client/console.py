"""The running client: keyboard to the link, link to the screen, the escape prompt, the way out.

Theory of operation
-------------------

Everything runs on one asyncio loop. Standard input is watched with
``add_reader`` and read with one ``os.read`` per wake-up (a regular file or
/dev/null, which epoll refuses, is read once per turn of the loop instead); the socket is read
by one task; the screen is written with blocking writes (a terminal, or a
pipe whose reader sets the pace).

With standard input a terminal, it is put in raw mode and keys go to the
device as typed (character mode), or through a local line editor when the
server echoes nothing and suppresses no go-ahead (RFC 858 line mode). The
escape key opens a one-line prompt (``serial-bridge>``); while it is open, and
while a command runs, device output is held (up to ``HOLD_LIMIT`` bytes, the
oldest dropped and counted) and shown afterwards; the log file gets it at
once. The escape key typed at an empty prompt sends it to the device.

With standard input not a terminal (a pipe), bytes pass untouched: no escape
key, no line editing. At its end of file the client stays until the server
closes or nothing has arrived for ``linger`` seconds.

Every way out (quit, server close, reset, SIGTERM, SIGHUP, SIGINT, an
exception) goes through one ``finally`` that restores the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bridge.client.commands import CommandRunner
from bridge.client.lineedit import LineEditor
from bridge.client.link import Link, tls_reason
from bridge.client.logfile import DeviceLog
from bridge.client.terminal import RawTerminal, write_all
from bridge.control.console import escape_name
from bridge.telnet import Cmd

READ_SIZE = 65536
HOLD_LIMIT = 4 << 20
PROMPT = b"serial-bridge> "
INTERRUPT = 0x03
BINARY_WAIT = 2.0  # seconds a pipe waits for BINARY to be agreed before sending


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How the user asked to connect (the command line, checked)."""

    escape: int
    break_ms: int = 250
    baud: int | None = None
    framing: str | None = None
    flow: str | None = None
    dtr: bool | None = None
    rts: bool | None = None
    log: str | None = None
    log_timestamps: bool = False
    control: str | None = None
    linger: float = 2.0
    tls: bool = False
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None


def closed_without_a_byte(link: Link) -> str:
    """The reason for a server that closed the connection without ever sending a byte (exit 1).

    No Telnet server does that (it negotiates at once), and a raw port of the bridge with
    ``tls = true`` does it to a client that never starts TLS, once its handshake timeout
    passes: so the line names TLS first, then a refusal of this address or of our certificate.
    """
    seconds = max(0.0, time.time() - link.connected_at)
    where = link.target.address
    if link.writer.get_extra_info("sslcontext") is not None:
        return (f"{where} closed the TLS connection after {seconds:.1f} s without sending a byte: "
                "it may refuse this address or our certificate")
    return (f"{where} closed the connection after {seconds:.1f} s without sending a byte: "
            "the port may take only TLS (then use --tls), or may refuse this address")


class Exit(Exception):
    """Raised inside the loop's callbacks to leave with a code and a one-line reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Console:
    """One session of `connect` on this process's standard input and output.

    Args:
        link: the connected link.
        reader: the socket's stream reader.
        options: the command line's choices.
        stdin: the keyboard's file descriptor.
        stdout: the screen's file descriptor.
    """

    def __init__(self, link: Link, reader: asyncio.StreamReader, options: ClientOptions,
                 stdin: int = 0, stdout: int = 1) -> None:
        self.link = link
        self.reader = reader
        self.options = options
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = os.isatty(stdin)
        self.terminal = RawTerminal(stdin) if self.interactive else None
        self.log: DeviceLog | None = None
        self.commands = CommandRunner(self)
        self._prompt: LineEditor | None = None
        self._line = LineEditor()
        self._busy: asyncio.Task[None] | None = None
        self._held = bytearray()
        self._held_dropped = 0
        self._done: asyncio.Future[tuple[int, str]] | None = None
        self._reading_stdin = False
        self._stdin_polled = False  # standard input is a file, read on each turn of the loop (no add_reader)
        self._stdin_eof = False
        self._linger: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ the screen
    def show(self, data: bytes) -> None:
        """Device output: to the log at once, to the screen unless held."""
        if self.log is not None:
            try:
                self.log.write(data)
            except OSError as exc:
                self.log.close()
                self.log = None
                self.say(f"log stopped: {exc.strerror or exc}")
        if self._prompt is not None or self._busy is not None:
            self._held += data
            if len(self._held) > HOLD_LIMIT:
                cut = len(self._held) - HOLD_LIMIT
                del self._held[:cut]
                self._held_dropped += cut
            return
        write_all(self.stdout, data)

    def write_screen(self, data: bytes) -> None:
        """Bytes straight to the screen (not held, not logged)."""
        write_all(self.stdout, data)

    def say(self, text: str) -> None:
        """One line from the client itself: on the screen in a terminal, on stderr in a pipe."""
        if self.interactive:
            write_all(self.stdout, f"\r\n[{text}]\r\n".encode("utf-8", "replace"))
        else:
            print(f"serial-bridge: {text}", file=sys.stderr, flush=True)

    def print_lines(self, lines: list[str]) -> None:
        """Command output: lines on the screen (CR LF, the terminal being raw)."""
        text = "".join(f"{line}\r\n" for line in lines)
        write_all(self.stdout if self.interactive else 2, text.encode("utf-8", "replace"))

    def _release(self) -> None:
        if self._prompt is not None or self._busy is not None:
            return
        if self._held_dropped:
            self.say(f"{self._held_dropped} bytes of output dropped while the prompt or a command held it")
            self._held_dropped = 0
        if self._held:
            held, self._held = bytes(self._held), bytearray()
            write_all(self.stdout, held)

    # ----------------------------------------------------------- the keyboard
    def _on_stdin(self) -> None:
        try:
            self._read_stdin()
        except Exception as exc:  # a callback's exception would only be logged by the loop: leave with it
            self.fail(exc)

    def _read_stdin(self) -> None:
        try:
            data = os.read(self.stdin, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self.finish(0, f"standard input closed: {exc.strerror or exc}")
            return
        if not data:
            self._on_stdin_eof()
            return
        if not self.interactive:
            self.link.send(data)
        else:
            self._keys(data)
        if self.link.congested:
            self._pause_stdin()

    def _keys(self, data: bytes) -> None:
        escape = self.options.escape
        while data:
            if self._busy is not None:
                if INTERRUPT in data:
                    self._busy.cancel()
                return  # other keys are dropped while a command runs (send, status ...)
            if self._prompt is not None:
                data = self._prompt_keys(data)
                continue
            index = data.find(escape)
            if index < 0:
                self._type(data)
                return
            self._type(data[:index])
            data = data[index + 1:]
            self._open_prompt()

    def _type(self, data: bytes) -> None:
        if not data:
            return
        if not self.link.line_mode:
            self.link.send(data)
            return
        while data:
            edit = self._line.feed(data)
            if edit.echo:
                write_all(self.stdout, edit.echo)
            if edit.line is not None:
                self.link.send(edit.line + b"\r\n")
            elif edit.interrupt:
                self.link.send_command(Cmd.IP)  # Ctrl-C in local line mode: Interrupt Process
            data = edit.rest

    def _open_prompt(self) -> None:
        self._prompt = LineEditor()
        write_all(self.stdout, b"\r\n" + PROMPT)

    def _prompt_keys(self, data: bytes) -> bytes:
        prompt = self._prompt
        assert prompt is not None
        if not prompt.buffer and data[0] == self.options.escape:
            self._close_prompt(b"\r\x1b[K")
            self.link.send(bytes((self.options.escape,)))  # pressed twice: the key itself
            return data[1:]
        edit = prompt.feed(data)
        if edit.echo:
            write_all(self.stdout, edit.echo)
        if edit.cancelled:
            self._close_prompt(b"")
        elif edit.line is not None:
            self._prompt = None
            self.commands.run_line(edit.line.decode("utf-8", "replace"))
            self._release()
        return edit.rest

    def _close_prompt(self, erase: bytes) -> None:
        self._prompt = None
        if erase:
            write_all(self.stdout, erase)
        self._release()

    def start_busy(self, task: asyncio.Task[None]) -> None:
        """A command that takes time: hold output and keys until it ends; Ctrl-C cancels it."""
        self._busy = task
        task.add_done_callback(self._end_busy)

    def _end_busy(self, task: asyncio.Task[None]) -> None:
        self._busy = None
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.say(f"command failed: {exc}")
        if self._done is not None and not self._done.done():
            self._release()

    # ------------------------------------------------------------- the pipe
    def _on_stdin_eof(self) -> None:
        self._stop_stdin()
        self._stdin_eof = True
        if self.interactive:
            self.finish(0, "standard input closed")
            return
        self._arm_linger()

    def _arm_linger(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
        loop = asyncio.get_running_loop()
        self._linger = loop.call_later(self.options.linger, self.finish, 0, "")

    def _pause_stdin(self) -> None:
        self._stop_stdin()
        asyncio.get_running_loop().create_task(self._resume_stdin())

    async def _resume_stdin(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.link.writer.drain()
        if not self._stdin_eof and self._done is not None and not self._done.done():
            self._start_stdin()

    def _start_stdin(self) -> None:
        if self._reading_stdin:
            return
        loop = asyncio.get_running_loop()
        try:
            loop.add_reader(self.stdin, self._on_stdin)
            self._stdin_polled = False
        except PermissionError:  # a regular file or /dev/null: epoll refuses it, and it is always readable
            self._stdin_polled = True
            loop.call_soon(self._poll_stdin)
        self._reading_stdin = True

    def _poll_stdin(self) -> None:
        """Standard input from a file: one read per turn of the loop while reading is on."""
        if not self._reading_stdin or self._done is None or self._done.done():
            return
        self._on_stdin()
        if self._reading_stdin:
            asyncio.get_running_loop().call_soon(self._poll_stdin)

    def _stop_stdin(self) -> None:
        if self._reading_stdin:
            if not self._stdin_polled:
                asyncio.get_running_loop().remove_reader(self.stdin)
            self._reading_stdin = False

    # -------------------------------------------------------------- running
    def finish(self, code: int, reason: str) -> None:
        """Leave with an exit code and a one-line reason (empty: nothing to say)."""
        if self._done is not None and not self._done.done():
            self._done.set_result((code, reason))

    def fail(self, exc: BaseException) -> None:
        """Leave because of an exception: a closed standard output is exit 1 with one line;
        anything else is raised out of :meth:`run` (after the terminal is restored)."""
        if isinstance(exc, BrokenPipeError):
            self.finish(1, "standard output closed")
        elif self._done is not None and not self._done.done():
            self._done.set_exception(exc)

    async def _pump(self) -> None:
        try:
            while True:
                try:
                    data = await self.reader.read(READ_SIZE)
                except ConnectionResetError:
                    self.finish(1, "connection reset by the server")
                    return
                except ssl.SSLError as exc:  # a TLS alert, or a record that is no TLS, after the handshake
                    self.finish(1, f"connection lost: TLS: {tls_reason(exc)}")
                    return
                except OSError as exc:
                    self.finish(1, f"connection lost: {exc.strerror or exc}")
                    return
                if not data:
                    self.link.receive(b"")
                    if self.link.bytes_in == 0:
                        self.finish(1, closed_without_a_byte(self.link))
                    else:
                        self.finish(0, "connection closed by the server")
                    return
                shown = self.link.receive(data)
                if shown:
                    self.show(shown)
                if self._stdin_eof:
                    self._arm_linger()
        except OSError as exc:  # the screen: a closed pipe, a terminal gone (EIO)
            self.finish(1, f"standard output closed: {exc.strerror or exc}"
                        if not isinstance(exc, BrokenPipeError) else "standard output closed")
        except Exception as exc:
            self.fail(exc)

    async def _guard(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a task whose failure must end the session (else nobody would see it). The coroutine is
        made here, so a task cancelled before it starts leaves none never awaited (a RuntimeWarning)."""
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.fail(exc)

    async def run(self, first: bytes = b"") -> tuple[int, str]:
        """Run until a way out; returns (exit code, reason). The terminal is restored on every path.

        Args:
            first: device output read before the console started, shown first.
        """
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self.link.on_change = self._line.clear
        tasks: list[asyncio.Task[None]] = []
        try:
            if self.options.log:
                try:
                    self.commands.open_log(self.options.log)
                except ValueError as exc:
                    return 1, str(exc)
            self._install_signals(loop)  # before raw mode: a signal from here on restores the terminal
            if self.interactive:
                write_all(self.stdout, self.banner().encode() + b"\r\n")
            if self.terminal is not None:
                self.terminal.enter()
            if first:
                self.show(first)
            tasks.append(loop.create_task(self._pump()))
            if not self.interactive:
                # RFC 856 leaves bytes sent while BINARY is being agreed ambiguous (CR NUL): wait for it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.link.binary_settled.wait(), BINARY_WAIT)
            self._start_stdin()
            tasks.append(loop.create_task(self._guard(self.commands.apply_options)))
            return await self._done
        finally:
            self._stop_stdin()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self._busy is not None:
                self._busy.cancel()
            self._remove_signals(loop)
            if self.terminal is not None:
                self.terminal.restore()
            if self.log is not None:
                self.log.close()
            self.link.writer.close()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP"), (signal.SIGINT, "SIGINT")):
            loop.add_signal_handler(sig, self.finish, 0, f"stopped by {name}")
        if self.interactive:
            loop.add_signal_handler(signal.SIGWINCH, self.link.send_window_size)

    def _remove_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGWINCH):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)

    def banner(self) -> str:
        """The first line in a terminal: where we are and how to get out."""
        return (f"Connected to {self.link.target}. Escape key: {escape_name(self.options.escape)} "
                "(then help).")
