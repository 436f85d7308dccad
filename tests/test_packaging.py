"""The package as installed: every subpackage listed, profiles shipped, no layer breaking the design."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.layers import imports_of, imports_under

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_lists_every_package_under_bridge() -> None:
    """pyproject's explicit package list (needed for hw_profiles) names every folder with an __init__.py."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(data["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "bridge").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject.toml: {sorted(found - listed)}"
    assert "bridge._hw_profiles" in listed


def test_the_telnet_engine_imports_nothing_of_io_or_the_bridge() -> None:
    """bridge/telnet is sans-IO: no asyncio, socket, serial, and nothing from the rest of bridge."""
    bad = {n for n in imports_under(ROOT / "bridge" / "telnet")
           if n.split(".")[0] in {"asyncio", "socket", "serial", "selectors", "logging"}
           or (n.startswith("bridge.") and not n.startswith("bridge.telnet"))}
    assert not bad


def test_the_device_layer_knows_nothing_of_telnet_or_clients() -> None:
    """bridge/device imports neither the telnet engine nor the port layer."""
    bad = {n for n in imports_under(ROOT / "bridge" / "device")
           if n.startswith(("bridge.telnet", "bridge.port", "bridge.server", "bridge.dashboard"))}
    assert not bad


def test_production_code_never_imports_the_demo() -> None:
    """Only the demo command may import bridge.demo."""
    for path in (ROOT / "bridge").rglob("*.py"):
        if "demo" in path.parts or path.name == "demo.py":
            continue
        for name in imports_of(path):
            assert not name.startswith("bridge.demo"), path


def _make_dry_run(target: str, tmp: Path) -> str:
    import shutil
    import subprocess

    import pytest

    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    venv = tmp / "venv"
    result = subprocess.run([make, "-n", "-C", str(ROOT), f"VENV={venv}", f"{venv}/{target}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_demo_installs_no_test_tools_and_make_test_does(tmp_path: Path) -> None:
    """`make demo`'s stamp installs the package alone; `make test`'s adds the test extra (separate stamps)."""
    demo = [line for line in _make_dry_run(".installed-demo", tmp_path).splitlines() if " install " in line]
    test = [line for line in _make_dry_run(".installed", tmp_path).splitlines() if " install " in line]
    assert any(line.rstrip().endswith(" .") for line in demo), demo
    assert not any("[test]" in line for line in demo), demo
    assert any("'.[test]'" in line for line in test), test
