"""`serial-bridge serve --config FILE`: the daemon, in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import sys

HELP = "run the bridge in the foreground (logs on stderr; SIGHUP reloads, SIGTERM stops)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", required=True, metavar="FILE", help="the bridge's TOML config")


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

    server = make_bridge(config, reloader=lambda: load_config(args.config))
    asyncio.run(with_watchdog(server.run()))  # WATCHDOG=1 pings when systemd asks (WatchdogSec)
    return 0
