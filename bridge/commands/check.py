"""``serial-bridge check --config FILE``: validate a config file.

Prints every problem, one line each (file, line, port, key), to stderr and
exits 2; or prints ``FILE: OK, N ports (names)`` and exits 0, after one
stderr line per feature the file asks for that this install lacks (a
missing extra: ``serve`` then runs without it and logs the same line).
"""

from __future__ import annotations

import argparse
import sys

HELP = "validate a config file: every problem on its own line; exit 0 when good, 2 when not"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add check's options."""
    parser.add_argument("--config", "-c", required=True, metavar="FILE",
                        help="the configuration file to check")


def run(args: argparse.Namespace) -> int:
    """Check the file; 0 when it is good, 2 when it is not."""
    from bridge.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    for note in config.notes:   # usable, but without a feature it asks for (serve logs the same)
        print(f"{note} (warning)", file=sys.stderr)
    count = len(config.ports)
    summary = f"{args.config}: OK, {count} port{'' if count == 1 else 's'}"
    if count:
        summary += f" ({', '.join(config.names)})"
    if config.notes:
        summary += f"; {len(config.notes)} warning{'' if len(config.notes) == 1 else 's'} above"
    print(summary)
    return 0
