"""The simulated board's console, sans-IO: bytes and times in, bytes out.

Theory of operation
-------------------
:class:`BoardConsole` is the whole behaviour of the demo board's serial
console, with no file descriptors, no event loop and no clock of its own.
The caller passes the current time (any monotonic clock, in seconds) with
every call and prints what each call returns:

- ``power_on(now)`` starts (or restarts) the boot;
- ``receive_data(data, now)`` takes bytes typed on the serial line;
- ``receive_break(now)`` takes a serial break;
- ``tick(now)`` prints whatever timed output is due, and
  ``next_deadline()`` says when the next is due (None when nothing is), so
  a runner sleeps exactly until then and never polls.

Timed output (the boot, a reboot) is a queue of :class:`~bridge.demo.text.Step`
whose delays are board seconds multiplied by ``time_scale``. Each step also
sets the board's :class:`~bridge.demo.text.Phase`, which decides what typed
bytes do: dropped while booting, stop the countdown during autoboot, go to
the line editor at a prompt. Every call first prints what is due by ``now``,
so output and input stay in the order they happened in.

End of line: CR, LF, CR LF and CR NUL are each one Enter, whatever the
phase, and also when the pair is split across two calls.
"""

from __future__ import annotations

import math
import re
import shlex
import time
from collections import deque
from collections.abc import Callable, Iterable

from bridge.demo import text
from bridge.demo.line import Key, LineEditor
from bridge.demo.text import Phase, Step

__all__ = ["BoardConsole", "Phase"]

CR, LF, NUL = 0x0D, 0x0A, 0x00
BREAK_NOTICE = b"[break received]"
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_UNAME_FIELDS = "snrvmo"  # the order uname prints its fields in


class BoardConsole:
    """A small Linux board's serial console: U-Boot, kernel messages, login, shell.

    Args:
        name: the board's host name, shown in the prompts and by ``uname -n``.
        time_scale: multiplies every delay of the boot (0.01 runs it 100
            times faster); uptime is counted in board seconds, that is real
            seconds divided by this.
        wall_clock: the date and time of day, in seconds since the epoch,
            for ``date`` and ``uptime``.

    Raises:
        ValueError: name is not a valid host name or time_scale is not a
            positive finite number.
    """

    def __init__(self, name: str = "demo-board", time_scale: float = 1.0,
                 wall_clock: Callable[[], float] = time.time) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"board name {name!r} is not a host name (letters, digits, '-')")
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time scale must be a positive number, not {time_scale!r}")
        self.name = name
        self.time_scale = time_scale
        self._wall_clock = wall_clock
        self._phase = Phase.OFF
        self._steps: deque[Step] = deque()
        self._next_at = 0.0
        self._powered_at = 0.0
        self._after_cr = False
        self._user = ""
        self._editor = LineEditor()
        self._on_enter: dict[Phase, Callable[[str, float], bytes]] = {
            Phase.LOGIN: self._enter_login,
            Phase.PASSWORD: self._enter_password,
            Phase.SHELL: self._enter_shell,
            Phase.UBOOT: self._enter_uboot,
        }
        self._shell: dict[str, Callable[[list[str], float], bytes]] = {
            "help": lambda args, now: text.SHELL_HELP,
            "uname": self._uname,
            "uptime": self._uptime,
            "echo": lambda args, now: text.crlf(" ".join(args)),
            "date": lambda args, now: text.crlf(text.format_date(self._wall_clock())),
            "whoami": lambda args, now: text.crlf(self._user),
            "reboot": self._reboot,
            "exit": self._logout,
            "logout": self._logout,
        }
        self._uboot: dict[str, Callable[[float], bytes]] = {
            "help": lambda now: text.UBOOT_HELP + text.UBOOT_PROMPT.encode(),
            "boot": lambda now: self._run(text.boot_steps(self.name), now),
            "reset": lambda now: self._run(text.reset_steps(self.name), now),
            "printenv": lambda now: text.uboot_env(self.name) + text.UBOOT_PROMPT.encode(),
            "version": lambda now: text.UBOOT_VERSION_TEXT + text.UBOOT_PROMPT.encode(),
        }

    # -- the public interface -------------------------------------------------

    @property
    def phase(self) -> Phase:
        """What the board is doing now (as of the last call)."""
        return self._phase

    def power_on(self, now: float) -> bytes:
        """Start the board, or restart it from any phase: the boot begins again.

        Returns:
            What the board prints at once (the rest comes from ``tick``).
        """
        self._editor.clear()
        self._editor.echo = True
        return self._run(text.power_on_steps(self.name), now)

    def next_deadline(self) -> float | None:
        """When the next timed output is due (same clock as ``now``), or None."""
        return self._next_at if self._steps else None

    def tick(self, now: float) -> bytes:
        """Print the timed output that is due by now."""
        out = bytearray()
        while self._steps and self._next_at <= now:
            step = self._steps.popleft()
            if step.power_on:
                self._powered_at = self._next_at
            out += step.text
            self._phase = step.phase
            if self._steps:
                self._next_at += self._steps[0].delay * self.time_scale
        return bytes(out)

    def receive_data(self, data: bytes, now: float) -> bytes:
        """Take bytes typed on the serial line.

        Returns:
            What the board prints: due timed output first, then the echo and
            the answers to the typed bytes.
        """
        out = bytearray(self.tick(now))
        for byte in data:
            if self._after_cr and byte in (LF, NUL):
                self._after_cr = False
                continue
            self._after_cr = byte == CR
            out += self._key(CR if byte == LF else byte, now)
        return bytes(out)

    def receive_break(self, now: float) -> bytes:
        """Take a serial break.

        During the autoboot countdown it stops autoboot and drops to the
        firmware prompt; at a prompt it prints a ``[break received]`` line and
        the prompt again (the line typed so far is dropped); while the
        kernel boots it prints the line between kernel messages; while off,
        nothing.

        Returns:
            What the board prints.
        """
        out = self.tick(now)
        if self._phase is Phase.OFF:
            return out
        if self._phase is Phase.AUTOBOOT:
            return out + b"\r\nautoboot interrupted\r\n" + self._stop_autoboot()
        if self._phase is Phase.BOOTING:
            return out + BREAK_NOTICE + b"\r\n"
        if self._phase is Phase.PASSWORD:
            self._to_login()
        self._editor.clear()
        return out + b"\r\n" + BREAK_NOTICE + b"\r\n" + self._prompt()

    # -- timed output ---------------------------------------------------------

    def _run(self, steps: Iterable[Step], now: float) -> bytes:
        """Replace the timed output with steps, the first counted from now."""
        self._steps = deque(steps)
        self._phase = Phase.BOOTING
        if not self._steps:
            return b""
        self._next_at = now + self._steps[0].delay * self.time_scale
        return self.tick(now)

    def _stop_autoboot(self) -> bytes:
        self._steps.clear()
        self._phase = Phase.UBOOT
        self._editor.clear()
        return text.UBOOT_PROMPT.encode()

    # -- typed input ----------------------------------------------------------

    def _key(self, byte: int, now: float) -> bytes:
        if self._phase in (Phase.OFF, Phase.BOOTING):
            return b""
        if self._phase is Phase.AUTOBOOT:
            return b" 0\r\n" + self._stop_autoboot()  # U-Boot ends the count at 0
        echo, key = self._editor.key(byte)
        if key is Key.ENTER:
            return echo + self._on_enter[self._phase](self._editor.take(), now)
        if key is Key.INTERRUPT:
            return echo + self._interrupt()
        if key is Key.EOF and self._phase is Phase.SHELL:
            return self._logout([], now)
        return echo

    def _interrupt(self) -> bytes:
        if self._phase is Phase.PASSWORD:
            self._to_login()
        return self._prompt()

    def _prompt(self) -> bytes:
        prompts = {
            Phase.LOGIN: text.login_prompt(self.name),
            Phase.PASSWORD: text.PASSWORD_PROMPT.encode(),
            Phase.SHELL: text.shell_prompt(self.name),
            Phase.UBOOT: text.UBOOT_PROMPT.encode(),
        }
        return prompts.get(self._phase, b"")

    def _to_login(self) -> None:
        self._phase = Phase.LOGIN
        self._editor.echo = True
        self._user = ""

    # -- login ----------------------------------------------------------------

    def _enter_login(self, line: str, now: float) -> bytes:
        user = line.strip()
        if not user:
            return text.issue(self.name) + text.login_prompt(self.name)
        self._user = user
        self._phase = Phase.PASSWORD
        self._editor.echo = False
        return text.PASSWORD_PROMPT.encode()

    def _enter_password(self, line: str, now: float) -> bytes:
        user = self._user
        self._to_login()
        if user != text.USERNAME or line != text.PASSWORD:
            return text.crlf("Login incorrect") + text.login_prompt(self.name)
        self._user = user
        self._phase = Phase.SHELL
        welcome = text.crlf(
            f"Welcome to the {self.name}, a board simulated by serial-bridge.",
            "Type 'help' for the commands.",
        )
        return welcome + text.shell_prompt(self.name)

    # -- the shell ------------------------------------------------------------

    def _enter_shell(self, line: str, now: float) -> bytes:
        try:
            words = shlex.split(line)
        except ValueError:
            return text.crlf("-sh: syntax error: unterminated quoted string") + self._prompt()
        if not words:
            return self._prompt()
        command = self._shell.get(words[0])
        if command is None:
            return text.crlf(f"-sh: {words[0]}: command not found") + self._prompt()
        out = command(words[1:], now)
        # reboot and logout leave the shell: their output ends as the board's does
        return out + self._prompt() if self._phase is Phase.SHELL else out

    def _uname(self, args: list[str], now: float) -> bytes:
        values = {"s": "Linux", "n": self.name, "r": text.KERNEL_RELEASE,
                  "v": text.KERNEL_VERSION, "m": text.MACHINE, "o": "GNU/Linux"}
        wanted: set[str] = set()
        for arg in args:
            if not arg.startswith("-") or arg == "-":
                return text.crlf(f"uname: extra operand '{arg}'",
                                 "Try 'uname --help' for more information.")
            for letter in arg[1:]:
                if letter == "a":
                    wanted.update(_UNAME_FIELDS)
                elif letter in values:
                    wanted.add(letter)
                else:
                    return text.crlf(f"uname: invalid option -- '{letter}'",
                                     "Try 'uname --help' for more information.")
        fields = [values[letter] for letter in _UNAME_FIELDS if letter in (wanted or {"s"})]
        return text.crlf(" ".join(fields))

    def _uptime(self, args: list[str], now: float) -> bytes:
        seconds = (now - self._powered_at) / self.time_scale
        return text.crlf(text.format_uptime(self._wall_clock(), seconds))

    def _reboot(self, args: list[str], now: float) -> bytes:
        seconds = (now - self._powered_at) / self.time_scale
        self._user = ""
        return self._run(text.reboot_steps(self.name, seconds), now)

    def _logout(self, args: list[str], now: float) -> bytes:
        self._to_login()
        return text.crlf("logout") + text.issue(self.name) + text.login_prompt(self.name)

    # -- the firmware prompt --------------------------------------------------

    def _enter_uboot(self, line: str, now: float) -> bytes:
        words = line.split()
        if not words:
            return self._prompt()
        command = self._uboot.get(words[0])
        if command is None:
            return text.crlf(f"Unknown command '{words[0]}' - try 'help'") + self._prompt()
        return command(now)
