"""The engine is sans-IO: bridge/telnet/ imports only the standard library and itself."""

from __future__ import annotations

from pathlib import Path

import bridge.telnet
from tests.layers import imports_of

FORBIDDEN = {"asyncio", "socket", "serial", "selectors", "threading", "logging", "ssl"}
ENGINE = Path(bridge.telnet.__file__).parent


def test_engine_imports_no_io_and_nothing_else_of_bridge() -> None:
    """DESIGN.md: no asyncio, socket, serial or logging under bridge/telnet/, and only bridge.telnet of bridge."""
    modules = sorted(ENGINE.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        for name in imports_of(module):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{module.name} imports {name}"
            if top == "bridge":
                assert name.startswith("bridge.telnet"), f"{module.name} imports {name}"


def test_every_engine_module_starts_with_future_annotations() -> None:
    """STYLE.md: every module has ``from __future__ import annotations``."""
    for module in sorted(ENGINE.glob("*.py")):
        assert "from __future__ import annotations" in module.read_text(), module.name
