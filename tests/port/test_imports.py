"""The port room's boundaries (DESIGN.md "Who owns what"): bridge/port/ imports nothing of
the control API, the server, the dashboard or the commands; its events are its own typed values."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import bridge.port
from bridge.port import status
from tests.layers import imports_of

PORT = Path(bridge.port.__file__).parent
FORBIDDEN = ("bridge.control", "bridge.server", "bridge.dashboard", "bridge.commands", "bridge.app", "bridge.cli")


def test_port_imports_nothing_of_the_layers_above_it() -> None:
    """No module of bridge/port/ imports bridge.control (or the server, dashboard, commands)."""
    modules = sorted(PORT.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        for name in imports_of(module):
            assert not name.startswith(FORBIDDEN), f"{module.name} imports {name}"


def test_port_events_are_frozen_dataclasses() -> None:
    """Every event a port emits is a frozen dataclass defined in port/status.py."""
    for kind in (status.PortStateChanged, status.SessionOpened, status.SessionClosed, status.SettingsChanged):
        assert dataclasses.is_dataclass(kind)
        params = getattr(kind, "__dataclass_params__")
        assert params.frozen, kind.__name__


def test_helpers_take_a_protocol_not_the_worker() -> None:
    """Only attach.py (the control API's adapter) names the worker class; the helpers
    (admission, line control, modem polling, the Telnet side, the session) get bridge.port.roles."""
    for module in sorted(PORT.glob("*.py")):
        if module.name in ("worker.py", "attach.py"):
            continue
        assert "bridge.port.worker" not in imports_of(module), module.name
        assert not re.search(r"\bworker: PortWorker\b", module.read_text()), module.name


# Attributes that name another owner: a helper's port, a session's worker, a connection.
OTHERS = frozenset({"worker", "port", "session", "sessions", "conn", "transport", "device", "line",
                    "telnet", "admission", "modem"})


def _foreign_assignments(path: Path) -> list[str]:
    """Assignments to an attribute of something other than ``self`` or what it holds (``a.b = ...``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if not isinstance(target, ast.Attribute):
                continue
            owner = target.value
            if isinstance(owner, ast.Attribute) and owner.attr not in OTHERS:
                owner = owner.value    # self.counters.field: a record the object itself holds
            if not (isinstance(owner, ast.Name) and owner.id == "self"):
                found.append(f"{path.name}:{getattr(node, 'lineno', 0)}: {ast.unparse(target)}")
    return found


def test_no_module_sets_another_objects_attributes() -> None:
    """DESIGN.md "Who owns what": state is changed through its owner's methods, never set from outside."""
    found = [hit for module in sorted(PORT.glob("*.py")) for hit in _foreign_assignments(module)]
    allowed = [hit for hit in found if hit.startswith("attach.py:") and "transport._protocol" in hit]
    assert sorted(set(found) - set(allowed)) == []
