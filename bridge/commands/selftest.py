"""``serial-bridge selftest``: check a loopback adapter or a null-modem pair."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence

from bridge.errors import UserError
from bridge.hardware.selftest import DEFAULT_BAUDS, CheckResult, Outcome, run_selftest
from bridge.hardware.table import format_table

NOTHING_BACK = ("hint: no data came back at any baud rate: is TX joined to RX "
                "(or the null-modem cable plugged into both adapters)?")

HELP = "check a loopback adapter (TX joined to RX) or a null-modem pair; exit 1 on any failure"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare DEVICE, optional DEVICE2 and ``--bauds``."""
    parser.add_argument("device", metavar="DEVICE", help="an adapter with TX joined to RX")
    parser.add_argument("device2", metavar="DEVICE2", nargs="?", default=None,
                        help="a second adapter, joined to DEVICE by a null-modem cable")
    parser.add_argument("--bauds", default=",".join(str(b) for b in DEFAULT_BAUDS),
                        help="comma-separated baud rates to test (default: %(default)s)")


def parse_bauds(text: str) -> list[int]:
    """``"9600,115200"`` -> ``[9600, 115200]``; raise UserError with one line when malformed."""
    bauds = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or int(item) <= 0:
            raise UserError(f"bad baud rate {item!r} in --bauds {text}: expected numbers such as 9600,115200")
        bauds.append(int(item))
    return bauds


def render(results: Sequence[CheckResult]) -> str:
    """The pass/fail/skip table and a one-line count."""
    rows = [[str(r.baud) if r.baud is not None else "-", r.check, r.outcome.value.upper(), r.detail]
            for r in results]
    counts = Counter(r.outcome for r in results)
    summary = (f"selftest: {counts[Outcome.PASS]} pass, {counts[Outcome.FAIL]} fail, "
               f"{counts[Outcome.SKIP]} skip")
    text = format_table(("BAUD", "CHECK", "RESULT", "DETAIL"), rows) + "\n" + summary
    data = [r for r in results if r.check.startswith("data")]
    if data and all(r.detail.endswith(", got 0 back") for r in data):
        text += "\n" + NOTHING_BACK
    return text


def run(args: argparse.Namespace) -> int:
    """Run the checks and print the table: 0 when nothing failed, 1 otherwise."""
    bauds = parse_bauds(args.bauds)
    paths = [args.device] + ([args.device2] if args.device2 else [])
    results = run_selftest(paths, bauds)
    print(render(results))
    return 1 if any(r.outcome is Outcome.FAIL for r in results) else 0
