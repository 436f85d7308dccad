"""The `serial-bridge dashboard` command's arguments."""

from __future__ import annotations

from bridge.cli import build_parser


def test_dashboard_takes_several_control_addresses() -> None:
    """--control may be repeated, one per bridge."""
    parser, _ = build_parser()
    args = parser.parse_args(["dashboard", "--control", "/run/a.sock", "--control", "10.0.0.2:7100"])
    assert args.control == ["/run/a.sock", "10.0.0.2:7100"]

