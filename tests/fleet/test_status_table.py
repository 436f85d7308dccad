"""`serial-bridge status` (the table): a port's last alert match on a line below it."""

from __future__ import annotations

from bridge.commands.status import format_table


def test_the_last_alert_match_is_a_line_below_its_port() -> None:
    """The alert that matched last is named with its count, age and line; a port without matches has no line."""
    now = 1_000_000.0
    ports = [
        {"name": "rtr1", "device": "/dev/ttyUSB0", "state": "up", "listen": "127.0.0.1:7001",
         "alerts": [{"name": "panic", "matches": 0, "last_at": None},
                    {"name": "rommon", "matches": 3, "last_at": now - 120, "last_line": "rommon 1 >"}]},
        {"name": "sw1", "device": "/dev/ttyUSB1", "state": "up", "listen": "127.0.0.1:7002",
         "alerts": [{"name": "panic", "matches": 0, "last_at": None}]},
    ]
    lines = format_table(ports, now).splitlines()
    assert lines[1].startswith("rtr1")
    assert lines[2] == "  rtr1: alert rommon matched 3x, last 2m ago: rommon 1 >"
    assert lines[3].startswith("sw1") and len(lines) == 4
