"""Running under systemd: sd_notify messages, the watchdog pinger, journald priority prefixes.

Theory of operation: systemd hands a ``Type=notify`` service the address of a
datagram socket in ``NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract
namespace), and with ``WatchdogSec=`` the interval in ``WATCHDOG_USEC``
(microseconds; ``WATCHDOG_PID`` names the process meant). The service must
send ``WATCHDOG=1`` more often than that, or systemd kills and restarts it
(sd_watchdog_enabled(3), sd_notify(3)). The pinger here is an asyncio task of
the daemon's own event loop, sending every half interval: a loop that is
wedged (a blocking call, a busy coroutine) stops the pings, and is restarted.

When stderr is connected to the journal, systemd sets ``JOURNAL_STREAM`` to
``DEVICE:INODE`` of that stream; a line starting with ``<N>`` then gets
syslog priority N (sd-daemon(3)), so warnings and errors show as such in
``journalctl -p``. :func:`stderr_is_journal` checks the variable against
stderr itself (a child that inherited the variable but not the stream must
not prefix), and :class:`JournalFormatter` adds the prefix to every line.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Coroutine
from typing import Any, TextIO, TypeVar

_T = TypeVar("_T")

# logging level -> syslog priority (RFC 5424 section 6.2.1): crit, err, warning, info, debug.
PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
DEBUG_PRIORITY = 7


def notify(message: str, environ: dict[str, str] | None = None) -> bool:
    """Send one sd_notify datagram (e.g. ``"WATCHDOG=1"``) to ``$NOTIFY_SOCKET``.

    Returns:
        True when sent; False without ``NOTIFY_SOCKET`` or when the socket refuses it
        (the daemon runs on either way).
    """
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message.encode(), address)
    except OSError:
        return False
    return True


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """The watchdog interval systemd asks for, in seconds, or None when there is none for us.

    None when ``WATCHDOG_USEC`` is unset, not a positive integer, or ``WATCHDOG_PID``
    names another process (sd_watchdog_enabled(3)).
    """
    env = os.environ if environ is None else environ
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or not env.get("NOTIFY_SOCKET"):
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000


async def ping_watchdog(interval: float) -> None:
    """Send ``WATCHDOG=1`` every ``interval / 2`` seconds from the running loop, until cancelled."""
    import asyncio

    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval / 2)


async def with_watchdog(main: Coroutine[Any, Any, _T]) -> _T:
    """Await ``main`` with the watchdog pinger running beside it when systemd asks for one.

    Usage: ``asyncio.run(with_watchdog(server.run()))``.
    """
    import asyncio

    interval = watchdog_interval()
    if interval is None:
        return await main
    pinger = asyncio.get_running_loop().create_task(ping_watchdog(interval), name="systemd-watchdog")
    try:
        return await main
    finally:
        pinger.cancel()


def stderr_is_journal(stream: TextIO | None = None, environ: dict[str, str] | None = None) -> bool:
    """True when ``stream`` (default stderr) is the journal stream named by ``$JOURNAL_STREAM``."""
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, sep, inode = value.partition(":")
    if not sep or not device.isdigit() or not inode.isdigit():
        return False
    try:
        info = os.fstat((sys.stderr if stream is None else stream).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (info.st_dev, info.st_ino) == (int(device), int(inode))


def priority(levelno: int) -> int:
    """The syslog priority (2 crit .. 7 debug) of a logging level."""
    for level, value in PRIORITIES:
        if levelno >= level:
            return value
    return DEBUG_PRIORITY


class JournalFormatter(logging.Formatter):
    """Prefix each line of a record with ``<N>``, its syslog priority, for journald."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))
