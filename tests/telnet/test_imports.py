"""The engine is sans-IO: bridge/telnet/ imports only the standard library and itself."""

from __future__ import annotations

import ast
from pathlib import Path

import bridge.telnet

FORBIDDEN = {"asyncio", "socket", "serial", "selectors", "threading", "logging", "ssl"}
ENGINE = Path(bridge.telnet.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_engine_imports_no_io_and_nothing_else_of_bridge() -> None:
    """DESIGN.md: no asyncio, socket, serial or logging under bridge/telnet/, and only bridge.telnet of bridge."""
    modules = sorted(ENGINE.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        for name in _imports(module):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{module.name} imports {name}"
            if top == "bridge":
                assert name.startswith("bridge.telnet"), f"{module.name} imports {name}"


def test_every_engine_module_starts_with_future_annotations() -> None:
    """STYLE.md: every module has ``from __future__ import annotations``."""
    for module in sorted(ENGINE.glob("*.py")):
        assert "from __future__ import annotations" in module.read_text(), module.name
