"""The dashboard knows the daemon only through the control API (DESIGN.md, STYLE.md)."""

from __future__ import annotations

from pathlib import Path

import bridge.dashboard
from tests.layers import imports_of

ALLOWED = ("bridge.control", "bridge.dashboard")


def bridge_imports(path: Path) -> list[str]:
    """Every module of ``bridge`` that one file imports."""
    names = imports_of(path, package="bridge.dashboard")   # relative: inside the package
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
