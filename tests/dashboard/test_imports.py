"""The dashboard knows the daemon only through the control API (DESIGN.md, STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import bridge.dashboard

ALLOWED = ("bridge.control", "bridge.dashboard")


def bridge_imports(path: Path) -> list[str]:
    """Every module of ``bridge`` that one file imports."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.append("bridge.dashboard")  # relative: inside the package
    return [n for n in names if n == "bridge" or n.startswith("bridge.")]


def test_dashboard_imports_only_control_and_itself() -> None:
    """No dashboard module imports a part of bridge other than control/ and dashboard/."""
    root = Path(bridge.dashboard.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 10
    offending = {str(f.relative_to(root)): name for f in files for name in bridge_imports(f)
                 if not name.startswith(ALLOWED)}
    assert offending == {}


def test_the_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The checker reports an import of bridge.port (so the test above can fail)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from bridge.port.status import PortStatus\nimport bridge.device\n")
    assert bridge_imports(bad) == ["bridge.port.status", "bridge.device"]
