"""Run one of pyserial's example servers on a pseudo-terminal, unchanged.

Usage: ``python bench/_pyserial_pty.py SCRIPT [ARGS...]`` runs ``SCRIPT``
(e.g. pyserial's ``examples/rfc2217_server.py``) as ``__main__`` with
``ARGS``, after one adaptation of pyserial for a pty: a pty has no modem
lines, so the ioctls behind ``Serial.rts``/``dtr`` (TIOCMBIS, TIOCMBIC) and
``cts``/``dsr``/``ri``/``cd`` (TIOCMGET) fail with ENOTTY. pyserial's own
``open()`` ignores that failure (ENOTTY and EINVAL) for DTR and RTS; here
the same failure is ignored everywhere, and the inputs read as not asserted.

Without it, ``rfc2217_server.py`` sets RTS on every accepted connection,
gets ENOTTY, logs it and drops the connection before serving it. With real
hardware the ioctls succeed; nothing else of the script changes, and the
cost per byte is the script's own.
"""

from __future__ import annotations

import errno
import runpy
import sys
from collections.abc import Callable
from typing import Any

import serial.serialposix

_NO_MODEM_LINES = (errno.ENOTTY, errno.EINVAL)


def _tolerant_setter(update: Callable[[Any], None]) -> Callable[[Any], None]:
    """``update`` (a ``_update_*_state`` method) with ENOTTY/EINVAL ignored."""
    def wrapped(self: Any) -> None:
        try:
            update(self)
        except OSError as exc:
            if exc.errno not in _NO_MODEM_LINES:
                raise
    return wrapped


def _tolerant_input(prop: property) -> property:
    """A modem input property (``cts`` ...) that reads False where the device has none."""
    read = prop.fget
    assert read is not None

    def wrapped(self: Any) -> bool:
        try:
            return bool(read(self))
        except OSError as exc:
            if exc.errno not in _NO_MODEM_LINES:
                raise
            return False
    return property(wrapped, doc=prop.__doc__)


def adapt_for_pty() -> None:
    """Patch pyserial's POSIX Serial class as the module docstring says."""
    cls: Any = serial.serialposix.Serial
    for name in ("_update_rts_state", "_update_dtr_state"):
        setattr(cls, name, _tolerant_setter(getattr(cls, name)))
    for name in ("cts", "dsr", "ri", "cd"):
        setattr(cls, name, _tolerant_input(getattr(cls, name)))


def main() -> None:
    """Adapt pyserial, then run the script named by the first argument."""
    if len(sys.argv) < 2:
        sys.exit("usage: _pyserial_pty.py SCRIPT [ARGS...]")
    adapt_for_pty()
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
