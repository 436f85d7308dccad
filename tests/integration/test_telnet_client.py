"""Debian's own `telnet` (inetutils) against the real daemon, driven through a pseudo-terminal
as a person would use it. Skipped where no telnet client is installed."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import time
from collections.abc import Callable

import pytest

from tests.integration.helpers import WAIT, Daemon, PtyDevice

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]

TELNET = shutil.which("telnet")
pytestmark = pytest.mark.skipif(TELNET is None, reason="no telnet client installed (apt-get install telnet)")


class Terminal:
    """A program running on a pty, as in a terminal window."""

    def __init__(self, argv: list[str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                                     start_new_session=True)
        os.close(slave)
        self.screen = bytearray()

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect(self, marker: bytes) -> None:
        deadline = time.monotonic() + WAIT
        while marker not in self.screen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"never saw {marker!r}; screen: {bytes(self.screen[-300:])!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096)
                except OSError:
                    break

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(WAIT)
        os.close(self.master)


def test_debian_telnet_gets_character_mode_remote_echo_and_sends_a_break(start_daemon: Start,
                                                                         make_pty: MakePty) -> None:
    """telnet ends in character mode with the device echoing; `send brk` and `send ayt` reach the bridge."""
    dev = make_pty()
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n[[port]]\nname = "rtr"\ndevice = "{dev.path}"\n'
                          'listen = 0\nlock_files = false\n')
    daemon.wait_log(r"rtr: device .* open")
    assert TELNET is not None
    term = Terminal([TELNET, "127.0.0.1", str(daemon.port_of("rtr"))])
    try:
        term.expect(b"you are the writer")
        term.type(b"x")                       # character mode: one key, sent at once
        assert dev.read(1) == b"x"
        dev.write(b"x")                       # the device echoes, the client does not
        term.type(b"\r")                      # Enter: telnet sends CR NUL, the device gets CR
        assert dev.read(1) == b"\r"
        dev.write(b"\r\nRouter> ")
        term.expect(b"Router> ")
        assert term.screen.count(b"x") == 1   # no local echo doubling the key
        term.type(b"\x1d")                    # the escape key, then a command
        term.expect(b"telnet>")
        term.type(b"send brk\r")
        daemon.wait_log(r"rtr: sending break")
        term.type(b"\x1d")
        term.expect(b"telnet>")
        term.type(b"send ayt\r")
        term.expect(b"port rtr")
    finally:
        term.close()
        daemon.stop()
