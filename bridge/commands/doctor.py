"""``serial-bridge doctor``: check the host for what silently breaks serial setups."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from bridge.hardware.doctor import Finding, Level, diagnose
from bridge.hardware.system import SystemView
from bridge.hardware.table import format_table

HELP = "check the host for what silently breaks serial setups, and say how to fix each"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--config``."""
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="also check the devices this config names")


def render(findings: Sequence[Finding]) -> str:
    """The OK/WARN/FAIL table, with the fix for each problem."""
    rows = [[f.level.value, f.check, f.detail, f.fix or "-"] for f in findings]
    return format_table(("RESULT", "CHECK", "DETAIL", "FIX"), rows)


def run(args: argparse.Namespace, view: SystemView | None = None) -> int:
    """Print the findings: 0 when nothing fails, 1 otherwise."""
    findings = diagnose(view or SystemView(), args.config)
    print(render(findings))
    return 1 if any(f.level is Level.FAIL for f in findings) else 0
