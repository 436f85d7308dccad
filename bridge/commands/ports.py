"""``serial-bridge ports``: the serial adapters on this machine."""

from __future__ import annotations

import argparse
import json
import os

from bridge.device.adapters import Adapter, list_adapters
from bridge.hardware.table import format_table

HELP = "list the serial adapters on this machine (device, by-id name, VID:PID, serial, USB location)"

HEADERS = ("DEVICE", "BY-ID", "VID:PID", "SERIAL", "MANUFACTURER", "PRODUCT", "LOCATION")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--json``."""
    parser.add_argument("--json", action="store_true", help="print a JSON list for scripts")


def location_text(adapter: Adapter) -> str:
    """The USB location as shown in the table: ``1-1.2`` or ``1-1.2 if1``; ``-`` when none."""
    if adapter.location is None:
        return "-"
    if adapter.interface is None:
        return adapter.location
    return f"{adapter.location} if{adapter.interface}"


def table_row(adapter: Adapter) -> list[str]:
    """One table row; ``-`` stands for a value the adapter does not have."""
    return [
        adapter.device,
        os.path.basename(adapter.by_id) if adapter.by_id else "-",
        adapter.vid_pid or "-",
        adapter.serial_number or "-",
        adapter.manufacturer or "-",
        adapter.product or "-",
        location_text(adapter),
    ]


def render(adapters: list[Adapter], as_json: bool) -> str:
    """The command's output for these adapters, as a table or as JSON."""
    if as_json:
        return json.dumps([a.to_dict() for a in adapters], indent=2)
    if not adapters:
        return "no serial adapters found"
    return format_table(HEADERS, [table_row(a) for a in adapters])


def run(args: argparse.Namespace, adapters: list[Adapter] | None = None) -> int:
    """Print the adapters (this machine's unless ``adapters`` is given); always exit 0."""
    found = list_adapters() if adapters is None else adapters
    print(render(found, bool(args.json)))
    return 0
