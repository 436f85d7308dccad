"""The wheel as a user gets it: built, installed into a fresh virtual environment, run from there.

Marked ``wheel`` (deselect with ``-m "not wheel"``); ``make test`` and CI run it. The wheel is
built from a copy of the checkout's distributable files with pip's build isolation (setuptools
from the index, as ``pip install .`` does), and installed with ``--no-deps``: the fresh venv
reaches the dependencies (pyserial, textual, ...) through a ``.pth`` line naming this test
venv's site-packages, which Python appends to ``sys.path`` after the venv's own site-packages,
and which never processes that folder's own ``.pth`` files (so the checkout's editable install
is not seen).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("pyproject.toml", "README.md", "bridge", "hw_profiles", "udev")

pytestmark = pytest.mark.wheel


def _run(cmd: list[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (outside the checkout) with the freshly built wheel installed; its bin/ folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SHIPPED:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    dist = tmp / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist),
                  str(src)], cwd=tmp)
    assert built.returncode == 0, built.stderr
    wheels = list(dist.glob("serial_bridge-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    install = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    str(wheels[0])], cwd=tmp)
    assert install.returncode == 0, install.stderr
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp)
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib.stdout.strip()) / "serial_bridge_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return venv / "bin"


def test_wheel_holds_profiles_and_udev_rules(installed: Path) -> None:
    """The wheel ships every hw_profiles/*.toml and udev/*.rules inside the package, and no tests."""
    wheel = next((installed.parent.parent / "dist").glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    profiles = {f"bridge/_hw_profiles/{p.name}" for p in (ROOT / "hw_profiles").glob("*.toml")}
    rules = {f"bridge/_udev/{p.name}" for p in (ROOT / "udev").glob("*.rules")}
    assert profiles and rules
    assert profiles | rules <= names
    assert {f"bridge/dashboard/{p.name}" for p in (ROOT / "bridge" / "dashboard").glob("*.tcss")} <= names
    assert not any(n.startswith("tests/") for n in names)


def test_console_script_runs_from_the_installed_package(installed: Path, tmp_path: Path) -> None:
    """`serial-bridge --version` and `python -m bridge` work, importing bridge from the venv, not the checkout."""
    version = _run([str(installed / "serial-bridge"), "--version"], cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("serial-bridge ")
    where = _run([str(installed / "python"), "-c", "import bridge; print(bridge.__file__)"], cwd=tmp_path)
    assert where.stdout.strip().startswith(str(installed.parent)), where.stdout
    assert _run([str(installed / "python"), "-m", "bridge", "--help"], cwd=tmp_path).returncode == 0


def test_profiles_and_udev_work_installed(installed: Path, tmp_path: Path) -> None:
    """`profiles` lists the shipped profiles and `udev --example` prints the shipped rules file."""
    profiles = _run([str(installed / "serial-bridge"), "profiles"], cwd=tmp_path)
    assert profiles.returncode == 0, profiles.stderr
    assert "cisco-console" in profiles.stdout and "esp32" in profiles.stdout
    example = _run([str(installed / "serial-bridge"), "udev", "--example"], cwd=tmp_path)
    assert example.returncode == 0, example.stderr
    assert example.stdout == (ROOT / "udev" / "99-serial-bridge.rules").read_text()
    rules = _run([str(installed / "serial-bridge"), "udev"], cwd=tmp_path)
    assert rules.returncode == 0, rules.stderr
    assert rules.stdout.startswith("# udev rules written by serial-bridge udev")


def test_check_and_service_work_installed(installed: Path, tmp_path: Path) -> None:
    """A config checks, and `service` prints a unit naming the installed console script."""
    config = tmp_path / "bridge.toml"
    config.write_text('[[port]]\nname = "a"\ndevice = "loop://"\nlisten = 0\nprofile = "esp32"\n')
    check = _run([str(installed / "serial-bridge"), "check", "--config", str(config)], cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = _run([str(installed / "serial-bridge"), "service", "--config", str(config)], cwd=tmp_path)
    assert unit.returncode == 0, unit.stderr
    assert f"ExecStart={installed / 'serial-bridge'} serve --config {config}" in unit.stdout


def test_import_works_installed(installed: Path, tmp_path: Path) -> None:
    """`import ser2net` (the bridge.migrate package) runs from the installed wheel."""
    conf = ROOT / "tests" / "data" / "ser2net" / "consolepi.conf"
    result = _run([str(installed / "serial-bridge"), "import", "ser2net", str(conf)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[[port]]") == 40
