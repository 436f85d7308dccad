"""`serial-bridge status [--json]`: the running bridge's ports, over the control endpoint."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

HELP = "show the running bridge's ports (state, settings, clients, counters)"

COLUMNS = ("PORT", "DEVICE", "STATE", "SETTINGS", "LISTEN", "CLIENTS", "RX", "TX", "LAST")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bridge.control.oneshot import add_control_argument

    parser.add_argument("--json", action="store_true",
                        help="print the ports as JSON (the control API's list reply)")
    add_control_argument(parser)


def format_table(ports: list[dict[str, Any]], now: float) -> str:
    """The ports as an aligned text table; errors and the last alert match on indented
    lines below their port."""
    from bridge.control.model import PortInfo, human_age, human_bytes

    rows: list[tuple[str, ...]] = [COLUMNS]
    notes: dict[int, list[str]] = {}
    for raw in ports:
        port = PortInfo.from_json(raw)
        listen = port.listen + (" tls" if port.tls else "")
        if port.listen_readonly:
            listen += f", read-only {port.listen_readonly}"
        rows.append((port.name, port.device, port.state, port.settings_short, listen,
                     str(len(port.sessions)), human_bytes(port.rx_bytes),
                     human_bytes(port.tx_bytes), human_age(port.last_activity, now)))
        if port.error:
            notes.setdefault(len(rows) - 1, []).append(f"  {port.name}: {port.error}")
        alert = port.last_alert
        if alert is not None:   # issue 14
            notes.setdefault(len(rows) - 1, []).append(
                f"  {port.name}: alert {alert.name} matched {alert.matches}x, last {human_age(alert.last_at, now)}"
                f" ago: {alert.last_line or ''}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        lines.extend(notes.get(index, ()))
    if len(rows) == 1:
        lines.append("(no ports)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from bridge.control.oneshot import control_address, run_request

    reply = run_request(control_address(args.control), "list")
    ports = reply.get("ports", [])
    if args.json:
        json.dump({"ports": ports}, sys.stdout, indent=2)
        print()
    else:
        print(format_table(ports, time.time()))
    return 0
