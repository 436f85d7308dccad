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


EVERY_PROBLEM = """\
[bridge]
allow = ["10.0.0.0/8", "2001:db8::1/32"]

[[port]]
name = "rtr1"
device = "usb:serial=,vid=zz,pid=0403"
listen = 7001
allow = ["192.0.2.7/24", "bogus", "198.51.100.0/24"]

[[port.alert]]
name = "panic"
pattern = "(unclosed"

[[port.alert]]
name = "all"
pattern = ".*"
cooldown = -1

[[port]]
name = "sw1"
device = "/dev/ttyUSB1"
listen = 7002

[[port.alert]]
name = "rommon"
patern = "rommon"
"""


def test_every_problem_of_a_value_is_reported_and_alerts_cite_their_own_table(tmp_path: Path) -> None:
    """UAT 6: two bad items of one list are two lines; every bad [[port.alert]] is reported
    (every problem of each), each at its own [[port.alert]] line, not the [[port]]'s."""
    (tmp_path / "bridge.toml").write_text(EVERY_PROBLEM)
    result = check("--config", "bridge.toml", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        "bridge.toml:2: key 'allow': \"2001:db8::1/32\" has host bits set; did you mean \"2001:db8::/32\"?",
        "bridge.toml:6: port 'rtr1': key 'device': usb: selector field 'serial' must not be empty",
        "bridge.toml:6: port 'rtr1': key 'device': usb: selector field 'vid' must be 4 hex digits (as 0403), "
        "got \"zz\"",
        "bridge.toml:8: port 'rtr1': key 'allow': \"192.0.2.7/24\" has host bits set; did you mean "
        "\"192.0.2.0/24\"?",
        "bridge.toml:8: port 'rtr1': key 'allow': \"bogus\" is not an IPv4 or IPv6 address or network",
        "bridge.toml:10: port 'rtr1': key 'alert': alert 'panic': pattern \"(unclosed\" is not a valid "
        "regular expression: missing ), unterminated subpattern at position 0",
        "bridge.toml:14: port 'rtr1': key 'alert': alert 'all': pattern \".*\" matches an empty line, "
        "so it would match every line",
        "bridge.toml:14: port 'rtr1': key 'alert': alert 'all': cooldown must be a number of seconds >= 0, "
        "got -1",
        "bridge.toml:24: port 'sw1': key 'alert': alert 'rommon': unknown key \"patern\"; did you mean "
        "\"pattern\"?",
        "bridge.toml:24: port 'sw1': key 'alert': alert 'rommon': pattern is missing; every alert needs one",
    ]


def test_every_bad_authorized_keys_line_is_reported(tmp_path: Path) -> None:
    """Two bad lines of a [[user]]'s keys are two problems, each naming its line of the list."""
    (tmp_path / "bridge.toml").write_text(
        '[[port]]\nname = "rtr1"\ndevice = "loop://"\nlisten = 7001\n\n'
        '[[user]]\nname = "bob"\nkeys = ["ssh-ed25519 AAAA garbage", "not a key"]\n')
    result = check("--config", "bridge.toml", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "bad authorized_keys line 1:" in lines[0] and "bad authorized_keys line 2:" in lines[1]
