"""The local terminal: raw mode in, the exact settings back out.

``RawTerminal`` saves the terminal's settings (``termios.tcgetattr``) once,
puts it in raw mode (as ``cfmakeraw``: no echo, no line editing, no signals
from keys, no output processing, 8-bit characters) and puts the saved
settings back with :meth:`RawTerminal.restore`. ``restore`` is idempotent, so
every way out (quit, server close, a signal, an exception) may call it, and
``stty -g`` reads the same afterwards as before.

Only the terminal on standard input is touched; with standard input not a
terminal (a pipe), nothing is.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import termios
import tty
from typing import Any

DEFAULT_SIZE = (80, 24)
RESTORE_TRIES = 5


class RawTerminal:
    """Raw mode on one terminal file descriptor, with the saved settings put back on restore.

    Args:
        fd: the terminal's file descriptor (standard input).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._saved: list[Any] | None = None

    @property
    def raw(self) -> bool:
        """True while raw mode is on."""
        return self._saved is not None

    def enter(self) -> None:
        """Save the settings and switch to raw mode (typed-ahead input is kept).

        Raises:
            termios.error: the descriptor is no terminal.
        """
        if self._saved is not None:
            return
        self._saved = termios.tcgetattr(self.fd)
        tty.setraw(self.fd, termios.TCSANOW)

    def restore(self) -> None:
        """Put the saved settings back; does nothing when raw mode is off. Never raises."""
        saved, self._saved = self._saved, None
        if saved is None:
            return
        # TCSANOW, not TCSADRAIN: output already written was processed when written, and a drain
        # can wait on a reader that is gone. A signal may interrupt the call (EINTR): try again.
        for _ in range(RESTORE_TRIES):
            try:
                termios.tcsetattr(self.fd, termios.TCSANOW, saved)
                if termios.tcgetattr(self.fd) == saved:
                    return
            except termios.error as exc:
                if exc.args[0] != errno.EINTR:
                    return  # the terminal is gone (hang-up): nothing left to restore
            except OSError:
                return


def window_size(fd: int) -> tuple[int, int]:
    """The terminal's size as (columns, rows), from TIOCGWINSZ; 80x24 when unknown."""
    try:
        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return DEFAULT_SIZE
    rows, cols = struct.unpack("HHHH", packed)[:2]
    if not rows or not cols:
        return DEFAULT_SIZE
    return cols, rows


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to ``fd`` (blocking; a non-blocking fd is waited for).

    Raises:
        OSError: the write failed (a closed pipe: BrokenPipeError).
    """
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            import select

            select.select([], [fd], [], 1.0)
            continue
        view = view[written:]
