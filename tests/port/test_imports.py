"""The port room's boundaries (DESIGN.md "Who owns what"): bridge/port/ imports nothing of
the control API, the server, the dashboard or the commands; its events are its own typed values."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import bridge.port
from bridge.port import status

PORT = Path(bridge.port.__file__).parent
FORBIDDEN = ("bridge.control", "bridge.server", "bridge.dashboard", "bridge.commands", "bridge.app", "bridge.cli")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_port_imports_nothing_of_the_layers_above_it() -> None:
    """No module of bridge/port/ imports bridge.control (or the server, dashboard, commands)."""
    modules = sorted(PORT.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        for name in _imports(module):
            assert not name.startswith(FORBIDDEN), f"{module.name} imports {name}"


def test_port_events_are_frozen_dataclasses() -> None:
    """Every event a port emits is a frozen dataclass defined in port/status.py."""
    for kind in (status.PortStateChanged, status.SessionOpened, status.SessionClosed, status.SettingsChanged):
        assert dataclasses.is_dataclass(kind)
        params = getattr(kind, "__dataclass_params__")
        assert params.frozen, kind.__name__
