"""`serial-bridge dashboard [--control ADDR ...]`: the Textual dashboard on running bridges."""

from __future__ import annotations

import argparse

HELP = "the Textual dashboard, attached to running bridges' control endpoints"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bridge.control.oneshot import add_control_argument

    add_control_argument(parser, many=True)


def run(args: argparse.Namespace) -> int:
    from bridge.control.oneshot import control_address, control_token
    from bridge.dashboard.app import make_dashboard
    from bridge.dashboard.source import ControlSource

    addresses = args.control or [control_address(None)]
    token = control_token()
    make_dashboard([ControlSource(address, token) for address in addresses]).run()
    return 0
