"""``serial-bridge udev``: print udev rules that pin adapters to stable names."""

from __future__ import annotations

import argparse
import sys

from bridge.device.adapters import Adapter, list_adapters
from bridge.hardware.udev_rules import check_access, choose, example_rules, render_rules

HELP = "print udev rules that pin adapters to /dev/serial-bridge/<name>"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--name NAME=DEVICE`` (repeatable), ``--group`` and ``--mode``."""
    parser.add_argument("--name", action="append", default=[], metavar="NAME=DEVICE",
                        help="pin DEVICE (a /dev path or a usb: selector) to /dev/serial-bridge/NAME; "
                             "repeatable; without it, every USB adapter gets a made-up name")
    parser.add_argument("--group", default="dialout", help="group owning the devices (default: dialout)")
    parser.add_argument("--mode", default="0660", help="permissions of the devices (default: 0660)")
    parser.add_argument("--example", action="store_true",
                        help="print the shipped, commented example rules file instead")


def run(args: argparse.Namespace, adapters: list[Adapter] | None = None) -> int:
    """Print the rules for the named adapters (or all USB ones); 0, or 2 on a usage error."""
    if getattr(args, "example", False):
        print(example_rules(), end="")
        return 0
    access = check_access(args.group, args.mode)
    found = list_adapters() if adapters is None else adapters
    pairs = choose(args.name, found)
    if not pairs:
        print("serial-bridge: no USB serial adapters found: nothing to write rules for", file=sys.stderr)
    unnamed = [] if args.name else [a for a in found if not a.is_usb]
    print(render_rules(pairs, found, access, unnamed), end="")
    return 0
