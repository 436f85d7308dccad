"""`serial-bridge check --config FILE`, run as a real subprocess: exit codes and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GOOD = """\
[bridge]
bind = "127.0.0.1"

[[port]]
name = "rtr1"
device = "/dev/ttyUSB-not-plugged-in"
listen = 7001
profile = "cisco-console"

[[port]]
name = "esp"
device = "usb:vid=10c4,pid=ea60,serial=0001"
listen = 7002
profile = "esp32"
"""

BAD = """\
[bridge]
bnd = "0.0.0.0"

[[port]]
name = "rtr1"
device = "/dev/ttyUSB0"
listen = 7001
baud = "fast"

[[port]]
name = "rtr1"
device = "/dev/ttyUSB1"
listen = 7001
profile = "nope"
"""


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the check command of this interpreter's serial-bridge."""
    return subprocess.run([sys.executable, "-m", "bridge", "check", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_good_config_exits_0_and_names_its_ports(tmp_path: Path) -> None:
    """A good file prints FILE: OK with the port count and names, and exits 0."""
    (tmp_path / "bridge.toml").write_text(GOOD)
    result = check("--config", "bridge.toml", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        0, "bridge.toml: OK, 2 ports (rtr1, esp)\n", "")


def test_one_port_is_counted_in_the_singular(tmp_path: Path) -> None:
    """A file with one port says "1 port"."""
    (tmp_path / "b.toml").write_text('[[port]]\nname = "x"\ndevice = "loop://"\nlisten = 7001\n')
    result = check("--config", "b.toml", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "b.toml: OK, 1 port (x)\n")


def test_bad_config_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    """Every problem is one line on stderr naming file, line, port and key; exit status 2."""
    (tmp_path / "bridge.toml").write_text(BAD)
    result = check("--config", "bridge.toml", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "bridge.toml:2: key 'bnd': unknown key in [bridge]; did you mean 'bind'?",
        "bridge.toml:8: port 'rtr1': key 'baud': must be a positive integer, got \"fast\"",
        "bridge.toml:11: port 'rtr1': key 'name': duplicate port name: another [[port]] on line 5 has it",
        "bridge.toml:13: port 'rtr1': key 'listen': address 127.0.0.1:7001 is already used by port "
        "'rtr1' as 'listen'",
        "bridge.toml:14: port 'rtr1': key 'profile': unknown profile 'nope'; see: serial-bridge profiles",
    ]


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A file that does not exist gives one clear line, no traceback, exit 2."""
    result = check("--config", "absent.toml", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", "absent.toml: no such file\n")


def test_unreadable_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A directory given as the config gives one clear line, exit 2."""
    result = check("--config", str(tmp_path), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, f"{tmp_path}: is a directory, not a file\n")


def test_syntax_error_is_one_line_with_its_line_number(tmp_path: Path) -> None:
    """A TOML syntax error is reported with the line tomllib gives, exit 2."""
    (tmp_path / "b.toml").write_text('[[port]]\nname = "x"\nlisten = 70 01\n')
    result = check("--config", "b.toml", cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("b.toml:3: TOML syntax error: ") and line.endswith(" (column 13)")


def test_check_without_config_is_a_usage_error(tmp_path: Path) -> None:
    """check with no --config is a usage error, exit 2."""
    result = check(cwd=tmp_path)
    assert result.returncode == 2 and "--config" in result.stderr
