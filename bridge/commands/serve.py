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

LOOPS = ("auto", "asyncio", "uvloop")

log = logging.getLogger("bridge.serve")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", required=True, metavar="FILE", help="the bridge's TOML config")
    # asyncio's own loop by default: under uvloop an XMODEM transfer over a raw port lost its
    # last ACK in 3 runs of 8 (docs/performance.md), so uvloop is asked for, never assumed.
    parser.add_argument("--loop", choices=LOOPS, default="asyncio",
                        help="the event loop: asyncio's own (the default), uvloop (pip install "
                             "'serial-bridge[fast]'; experimental), or auto (uvloop when installed)")


def loop_factory(choice: str, *, tls: bool = False) -> tuple[Callable[[], asyncio.AbstractEventLoop], str]:
    """The event loop factory for ``--loop`` and the name to log for it.

    Args:
        choice: ``"auto"`` (uvloop when importable, else asyncio's), ``"asyncio"`` or ``"uvloop"``.
        tls: some port has ``tls = true``. Those ports start TLS on an accepted
            connection (``loop.start_tls``); under uvloop the client's first TLS
            record can be read before the handshake takes the connection, which
            then hangs, so ``auto`` keeps asyncio's loop for such a config.

    Returns:
        ``(factory, name)``, for example ``(uvloop.new_event_loop, "uvloop 0.23.0")``.

    Raises:
        UserError: for ``"uvloop"`` when uvloop is not installed, or with TLS ports.
    """
    if tls and choice != "asyncio":
        if choice == "uvloop":
            raise UserError("--loop uvloop: ports with tls = true need asyncio's loop (--loop asyncio)")
        return asyncio.new_event_loop, "asyncio (the standard library's; ports with tls = true need it)"
    if choice != "asyncio":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            if choice == "uvloop":
                raise UserError("--loop uvloop: uvloop is not installed "
                                "(pip install 'serial-bridge[fast]')") from None
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory, f"uvloop {getattr(uvloop, '__version__', '?')}"
    return asyncio.new_event_loop, "asyncio (the standard library's)"


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

    factory, name = loop_factory(getattr(args, "loop", "auto"), tls=any(port.tls for port in config.ports))
    server = make_bridge(config, reloader=lambda: load_config(args.config))
    log.info("event loop: %s", name)
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(with_watchdog(server.run()))  # WATCHDOG=1 pings when systemd asks (WatchdogSec)
    return 0
