"""`serial-bridge profiles`, run as a real subprocess: the listing, JSON, and user folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bridge.config import list_profiles


def profiles(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the profiles command of this interpreter's serial-bridge."""
    return subprocess.run([sys.executable, "-m", "bridge", "profiles", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_listing_names_each_profile_its_description_and_keys(tmp_path: Path) -> None:
    """Each shipped profile is listed with its description and a sets: line of its keys."""
    result = profiles(cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout.splitlines()
    shipped = list_profiles()
    assert len(out) == 2 * len(shipped)
    cisco = next(i for i, line in enumerate(out) if line.startswith("cisco-console "))
    assert out[cisco].split(None, 1)[1] == shipped["cisco-console"].description
    assert out[cisco + 1].split() == ["sets:", "baud=9600", "bytesize=8", 'parity="none"',
                                      "stopbits=1", 'flow="none"', "break_ms=300",
                                      'ip_action="ctrl-c"', "dm_break=false", "ec_byte=8",
                                      "el_byte=21", 'newline="cr"']


def test_json_lists_every_profile_with_its_settings(tmp_path: Path) -> None:
    """--json gives an object per profile with description, source, file and settings."""
    result = profiles("--json", cwd=tmp_path)
    data = json.loads(result.stdout)
    assert result.returncode == 0 and sorted(data) == sorted(list_profiles())
    assert data["esp32"]["settings"]["hupcl"] is False
    assert data["esp32"]["builtin"] is True and data["esp32"]["source"]


def test_profiles_dir_adds_and_overrides(tmp_path: Path) -> None:
    """--profiles-dir adds profiles and replaces shipped ones of the same name."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "lab.toml").write_text('description = "lab bench"\nbaud = 38400\n')
    (tmp_path / "mine" / "generic-9600.toml").write_text('description = "site 9600"\nbaud = 9600\n')
    data = json.loads(profiles("--json", "--profiles-dir", "mine", cwd=tmp_path).stdout)
    assert data["lab"] == {"description": "lab bench", "source": None, "file": "mine/lab.toml",
                           "builtin": False, "settings": {"baud": 38400}}
    assert data["generic-9600"]["description"] == "site 9600"


def test_config_profiles_dir_is_used(tmp_path: Path) -> None:
    """--config lists the profiles of its [bridge] profiles_dir, relative to the config file."""
    (tmp_path / "etc" / "p").mkdir(parents=True)
    (tmp_path / "etc" / "p" / "x.toml").write_text('description = "x"\n')
    (tmp_path / "etc" / "b.toml").write_text('[bridge]\nprofiles_dir = "p"\n')
    result = profiles("--config", "etc/b.toml", cwd=tmp_path)
    assert result.returncode == 0
    assert any(line.startswith("x ") and "etc/p/x.toml" in line for line in result.stdout.splitlines())


def test_bad_profile_is_listed_as_a_problem_and_exit_2(tmp_path: Path) -> None:
    """A bad user profile gives its problem line on stderr and exit status 2."""
    (tmp_path / "bad.toml").write_text('description = "b"\nflow = "yes"\n')
    result = profiles("--profiles-dir", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "bad.toml:2: key 'flow': must be one of none | rtscts | xonxoff | dsrdtr, got \"yes\""]


def test_missing_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """--config naming a missing file is one line, exit 2."""
    result = profiles("--config", "nope.toml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "nope.toml: no such file\n")
