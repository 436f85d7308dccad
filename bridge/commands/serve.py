"""`serial-bridge serve --config FILE`: the daemon, in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Callable

from bridge.errors import UserError

HELP = "run the bridge in the foreground (logs on stderr; SIGHUP reloads, SIGTERM stops)"

LOOPS = ("lean", "asyncio", "uvloop", "auto")

log = logging.getLogger("bridge.serve")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", required=True, metavar="FILE", help="the bridge's TOML config")
    # The standard library's selector loop by default, with the lean dispatch of bridge/leanloop.py.
    # uvloop is asked for, never assumed (experimental; TLS ports refuse it). The XMODEM hang once
    # seen under it was lrzsz's rx destroying its own last ACK on a pty (docs/interop.md).
    parser.add_argument("--loop", choices=LOOPS, default="lean",
                        help="the event loop: lean (the default: asyncio's selector loop with a "
                             "shorter path from a ready socket to its callback), asyncio (the "
                             "standard library's, unchanged), uvloop (pip install "
                             "'serial-bridge[fast]'; experimental), or auto (uvloop when installed, "
                             "else lean)")


def loop_factory(choice: str, *, tls: bool = False) -> tuple[Callable[[], asyncio.AbstractEventLoop], str]:
    """The event loop factory for ``--loop`` and the name to log for it.

    Args:
        choice: ``"lean"`` (``bridge.leanloop.LeanEventLoop``; the standard
            loop where this Python lacks what it needs), ``"asyncio"`` (the
            standard library's loop, unchanged), ``"uvloop"``, or ``"auto"``
            (uvloop when importable, else lean).
        tls: some port has ``tls = true``. Those ports start TLS on an accepted
            connection (``loop.start_tls``); under uvloop the client's first TLS
            record can be read before the handshake takes the connection, which
            then hangs, so ``auto`` keeps the lean loop for such a config.

    Returns:
        ``(factory, name)``, for example ``(uvloop.new_event_loop, "uvloop 0.23.0")``.

    Raises:
        UserError: for ``"uvloop"`` when uvloop is not installed, or with TLS ports.
    """
    if choice == "asyncio":
        return asyncio.new_event_loop, "asyncio (the standard library's)"
    if tls and choice == "uvloop":
        raise UserError("--loop uvloop: ports with tls = true need asyncio's loop (--loop lean or asyncio)")
    if choice in ("uvloop", "auto") and not tls:
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            if choice == "uvloop":
                raise UserError("--loop uvloop: uvloop is not installed "
                                "(pip install 'serial-bridge[fast]')") from None
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory, f"uvloop {getattr(uvloop, '__version__', '?')}"
    from bridge.leanloop import LeanEventLoop, lean_supported
    if not lean_supported():
        return asyncio.new_event_loop, "asyncio (the standard library's; this Python cannot run the lean loop)"
    return LeanEventLoop, "lean (asyncio's selector loop, bridge/leanloop.py)"


def run(args: argparse.Namespace) -> int:
    from bridge.app import make_bridge
    from bridge.config.load import load_config
    from bridge.config.problem import ConfigError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    from bridge.systemd import with_watchdog

    factory, name = loop_factory(getattr(args, "loop", "lean"), tls=any(port.tls for port in config.ports))
    server = make_bridge(config, reloader=lambda: load_config(args.config))
    log.info("event loop: %s", name)
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(with_watchdog(server.run()))  # WATCHDOG=1 pings when systemd asks (WatchdogSec)
    return 0
