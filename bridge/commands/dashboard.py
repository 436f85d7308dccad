"""`serial-bridge dashboard [--control ADDR ...]`: the Textual dashboard on running bridges."""

from __future__ import annotations

import argparse

HELP = "the Textual dashboard, attached to running bridges' control endpoints"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bridge.control.oneshot import add_control_argument

    add_control_argument(parser, many=True)
    parser.add_argument("--discover", metavar="ADDR", nargs="?", const="", default=None,
                        help="also list the bridges that advertise themselves by mDNS (mdns = true); "
                             "ADDR limits the search to the interface with that address")


def run(args: argparse.Namespace) -> int:
    from bridge.control.oneshot import control_address, control_token
    from bridge.dashboard.app import make_dashboard
    from bridge.dashboard.source import ControlSource, SourceFinder

    finders: list[SourceFinder] = []
    if args.discover is not None:
        import importlib.util

        from bridge.control.discovery import BridgeBrowser
        from bridge.errors import UserError

        if importlib.util.find_spec("zeroconf") is None:
            raise UserError("--discover needs zeroconf: pip install 'serial-bridge[mdns]'")
        finders.append(BridgeBrowser(interface=args.discover or None))
    addresses = args.control or ([] if finders else [control_address(None)])
    token = control_token()
    make_dashboard([ControlSource(address, token) for address in addresses], finders, token).run()
    return 0
