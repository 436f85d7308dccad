"""``serial-bridge import ser2net FILE``: convert another server's configuration to this TOML.

The TOML goes to standard output; every setting without a counterpart is one
warning line on standard error (``FILE:LINE: connection NAME: ...``). Exit 0
when at least one port was converted, 1 when none was, 2 when the file cannot
be read.
"""

from __future__ import annotations

import argparse
import sys

HELP = "convert a ser2net configuration (4.x YAML or 3.x ser2net.conf) to this TOML on standard output"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``FORMAT`` (only ``ser2net``) and ``FILE``."""
    parser.add_argument("format", choices=["ser2net"], metavar="FORMAT",
                        help="what FILE is: ser2net (ser2net.yaml or ser2net.conf)")
    parser.add_argument("file", metavar="FILE", help="the configuration to convert")


def run(args: argparse.Namespace) -> int:
    """Print the converted config and the warnings; 0, 1 when nothing converted, 2 on a bad file."""
    from bridge.migrate.ser2net import convert, render

    conversion = convert(args.file)
    for line in conversion.warnings:
        print(f"warning: {line}", file=sys.stderr)
    if not conversion.ports:
        return 1
    sys.stdout.write(render(conversion))
    return 0
