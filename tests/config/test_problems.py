"""Problems in configs: each named by file, line, port and key, all of them at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import Problem
from bridge.config.problem import ConfigError
from bridge.errors import UserError
from tests.config.conftest import lines, problems

PORT = '[[port]]\nname = "{name}"\ndevice = "/dev/ttyUSB0"\nlisten = {listen}\n'


def one_port(extra: str) -> str:
    """A config of one port rtr1 (header on line 1) with extra lines from line 5 on."""
    return PORT.format(name="rtr1", listen=7001) + extra


@pytest.mark.parametrize(("extra", "expected"), [
    ('baud = "fast"\n',
     "bridge.toml:5: port 'rtr1': key 'baud': must be a positive integer, got \"fast\""),
    ("baud = 0\n", "bridge.toml:5: port 'rtr1': key 'baud': must be a positive integer, got 0"),
    ("bytesize = 9\n",
     "bridge.toml:5: port 'rtr1': key 'bytesize': must be an integer from 5 to 8, got 9"),
    ('parity = "evn"\n', "bridge.toml:5: port 'rtr1': key 'parity': must be one of "
                         'none | even | odd | mark | space, got "evn"; did you mean "even"?'),
    ("stopbits = 3\n", "bridge.toml:5: port 'rtr1': key 'stopbits': must be 1, 1.5 or 2, got 3"),
    ('required = "yes"\n',
     "bridge.toml:5: port 'rtr1': key 'required': must be true or false, got \"yes\""),
    ("break_ms = 20000\n",
     "bridge.toml:5: port 'rtr1': key 'break_ms': must be an integer from 1 to 10000, got 20000"),
    ("ec_byte = 256\n",
     "bridge.toml:5: port 'rtr1': key 'ec_byte': must be an integer from 0 to 255, got 256"),
    ("modem_poll_ms = 5\n",
     "bridge.toml:5: port 'rtr1': key 'modem_poll_ms': must be an integer >= 20, got 5"),
    ("stall_timeout = 0\n",
     "bridge.toml:5: port 'rtr1': key 'stall_timeout': must be a number > 0, got 0"),
    ("idle_timeout = -1.5\n",
     "bridge.toml:5: port 'rtr1': key 'idle_timeout': must be a number >= 0, got -1.5"),
    ("log_max_bytes = 100\n",
     "bridge.toml:5: port 'rtr1': key 'log_max_bytes': must be an integer >= 4096, got 100"),
    ("max_connections = true\n",
     "bridge.toml:5: port 'rtr1': key 'max_connections': must be a positive integer, got true"),
    ('break_sequence = "~~~~~~~~~b"\n',
     "bridge.toml:5: port 'rtr1': key 'break_sequence': must be at most 8 characters, got 10"),
    ("stopbit = 1\n", "bridge.toml:5: port 'rtr1': key 'stopbit': unknown key; did you mean 'stopbits'?"),
    ("colour = 1\n", "bridge.toml:5: port 'rtr1': key 'colour': unknown key"),
    ('bind = "::"\n', "bridge.toml:5: port 'rtr1': key 'bind': only [bridge] takes it; "
                      'for one port, write listen = "host:port"'),
    ('control = "x"\n', "bridge.toml:5: port 'rtr1': key 'control': only [bridge] takes it"),
    ("mode = [1]\n",
     "bridge.toml:5: port 'rtr1': key 'mode': must be one of telnet | raw, got an array"),
])
def test_bad_port_value_is_one_line_naming_file_line_port_key(extra: str, expected: str) -> None:
    """Each kind of bad value gives exactly the expected line."""
    assert lines(one_port(extra)) == [expected]


@pytest.mark.parametrize(("device", "message"), [
    ('"usb:vid=403,pid=6001"', "usb: selector field 'vid' must be 4 hex digits (as 0403), got \"403\""),
    ('"usb:pid=60011"', "usb: selector field 'pid' must be 4 hex digits (as 0403), got \"60011\""),
    ('"usb:interface=one"', "usb: selector field 'interface' must be an integer, got \"one\""),
    ('"usb:serail=A1"', "unknown usb: selector field \"serail\"; did you mean \"serial\"?"),
    ('"usb:serial=A,serial=B"', "usb: selector names 'serial' twice"),
    ('"usb:"', 'usb: selector is empty; write for example "usb:serial=A1B2C3"'),
    ('"usb:serial"', 'usb: selector needs key=value pairs, got "serial"'),
    ('"usb:path=front"', "usb: selector field 'path' must be a USB port path such as 1-1.4, "
                         'got "front"'),
    ('"nosuch://x"', 'pyserial has no URL handler for "nosuch://" '
                     "(known: loop, spy, rfc2217, socket, hwgrep, alt)"),
    ('""', 'must be a device path, a pyserial URL or a usb: selector, got ""'),
])
def test_bad_device_is_reported_on_its_line(device: str, message: str) -> None:
    """device must be a path, a URL pyserial knows, or a well-formed usb: selector."""
    text = f'[[port]]\nname = "d"\nlisten = 7001\ndevice = {device}\n'
    assert lines(text) == [f"bridge.toml:4: port 'd': key 'device': {message}"]


@pytest.mark.parametrize(("listen", "message"), [
    ("70000", "must be a TCP port from 0 to 65535, got 70000"),
    ('"::1:7001"', 'write an IPv6 address in brackets, as "[::1]:7001", got "::1:7001"'),
    ('"host"', 'must be a TCP port or "host:port" with a port from 0 to 65535, got "host"'),
    ("7001.5", 'must be a TCP port or "host:port", got 7001.5'),
])
def test_bad_listen_is_reported(listen: str, message: str) -> None:
    """listen must be a TCP port or host:port, IPv6 hosts in brackets."""
    text = f'[[port]]\nname = "l"\ndevice = "loop://"\nlisten = {listen}\n'
    assert lines(text) == [f"bridge.toml:4: port 'l': key 'listen': {message}"]


def test_every_problem_in_a_file_is_reported_in_line_order() -> None:
    """Several mistakes across [bridge] and two ports are all reported, sorted by line."""
    text = """\
[bridge]
bnd = "0.0.0.0"
baud = -1

[[port]]
name = "rtr1"
device = "/dev/ttyUSB0"
listen = 7001
flow = "hardware"

[[port]]
name = "rtr1"
device = "/dev/ttyUSB1"
listen = 7001
profile = "cisco-consle"
"""
    assert lines(text) == [
        "bridge.toml:2: key 'bnd': unknown key in [bridge]; did you mean 'bind'?",
        "bridge.toml:3: key 'baud': must be a positive integer, got -1",
        "bridge.toml:9: port 'rtr1': key 'flow': must be one of none | rtscts | xonxoff | dsrdtr, "
        'got "hardware"',
        "bridge.toml:12: port 'rtr1': key 'name': duplicate port name: another [[port]] on line 6 has it",
        "bridge.toml:14: port 'rtr1': key 'listen': address 127.0.0.1:7001 is already used by port "
        "'rtr1' as 'listen'",
        "bridge.toml:15: port 'rtr1': key 'profile': unknown profile 'cisco-consle'; "
        "did you mean 'cisco-console'?",
    ]


def test_missing_required_keys_name_the_port_header_line() -> None:
    """A port without name, device or listen is reported at its [[port]] line, by position."""
    text = PORT.format(name="ok", listen=7001) + "\n[[port]]\nbaud = 9600\n"
    assert lines(text) == [
        "bridge.toml:6: port #2: key 'name': missing; every [[port]] needs it",
        "bridge.toml:6: port #2: key 'device': missing; every [[port]] needs it",
        "bridge.toml:6: port #2: key 'listen': missing; every [[port]] needs it",
    ]


def test_duplicate_listen_addresses_across_ports_and_keys() -> None:
    """Two listeners on one address clash, whether listen or listen_readonly, wildcard or not."""
    text = (PORT.format(name="a", listen=7001) + "listen_readonly = 7101\n\n"
            + PORT.format(name="b", listen='"0.0.0.0:7101"') + "\n"
            + PORT.format(name="c", listen=7003) + "listen_readonly = 7003\n\n"
            + PORT.format(name="d", listen='"127.0.0.2:7001"') + "\n"
            + PORT.format(name="e", listen=0) + "\n" + PORT.format(name="f", listen=0))
    assert lines(text) == [
        "bridge.toml:10: port 'b': key 'listen': address 0.0.0.0:7101 is already used by port 'a' "
        "as 'listen_readonly'",
        "bridge.toml:16: port 'c': key 'listen_readonly': address 127.0.0.1:7003 is already "
        "this port's 'listen'",
    ]


def test_ipv6_any_clashes_with_a_specific_host() -> None:
    """A listener on [::] clashes with one on 127.0.0.1 for the same port number."""
    text = PORT.format(name="a", listen=7001) + PORT.format(name="b", listen='"[::]:7001"')
    assert lines(text) == ["bridge.toml:8: port 'b': key 'listen': address [::]:7001 is already "
                           "used by port 'a' as 'listen'"]


def test_toml_syntax_error_gives_tomllibs_line() -> None:
    """A TOML syntax error is the one problem, with the line tomllib names."""
    text = '[bridge]\nbind = "x"\n\n[[port]]\nname = rtr1\n'
    assert lines(text) == ["bridge.toml:5: TOML syntax error: invalid value (column 8)"]


def test_duplicate_key_is_a_syntax_error() -> None:
    """A key given twice in one table is reported by tomllib with its line."""
    text = PORT.format(name="a", listen=7001) + "baud = 1\nbaud = 2\n"
    [problem] = problems(text)
    assert problem.line == 6 and "TOML syntax error" in problem.message


@pytest.mark.parametrize(("text", "expected"), [
    ("[ports]\nx = 1\n", "bridge.toml:1: key 'ports': unknown table; did you mean [[port]]?"),
    ('[port]\nname = "a"\n',
     "bridge.toml:1: key 'port': write [[port]] (double brackets): ports are an array of tables"),
    ("[serial]\nx = 1\n",
     "bridge.toml:1: key 'serial': unknown table; the tables are [bridge], [[port]] and [[user]]"),
    ("baud = 9600\n", "bridge.toml:1: key 'baud': is outside any table; "
                      "put it under [bridge] or a [[port]]"),
    ("tags = [1, 2]\n", "bridge.toml:1: key 'tags': unknown key outside any table"),
    ("[[ports]]\nx = 1\n", "bridge.toml:1: key 'ports': unknown table; did you mean [[port]]?"),
    ("bridge = 1\n", "bridge.toml:1: key 'bridge': must be a table, written [bridge]"),
    ("port = [1]\n", "bridge.toml:1: port #1: must be a table, written [[port]]"),
])
def test_misplaced_tables_and_keys(text: str, expected: str) -> None:
    """Tables other than [bridge] and [[port]], and keys outside them, are errors."""
    assert lines(text) == [expected]


def test_problem_without_line_or_port_prints_what_it_has() -> None:
    """A Problem leaves out the parts it lacks, and stays on one line."""
    assert str(Problem("f.toml", None, None, None, "no such file")) == "f.toml: no such file"
    assert str(Problem("f.toml", 3, None, "bind", "bad")) == "f.toml:3: key 'bind': bad"


def test_config_error_is_a_user_error_with_one_line_per_problem() -> None:
    """ConfigError exits 2 through the CLI and prints each problem on its own line."""
    error = ConfigError([Problem("a", 1, None, None, "x"), Problem("a", 2, "p", "k", "y")])
    assert isinstance(error, UserError) and error.exit_code == 2
    assert str(error) == "a:1: x\na:2: port 'p': key 'k': y"


def test_line_numbers_survive_multiline_strings_and_arrays() -> None:
    """Keys after multi-line strings and arrays still get their own line numbers."""
    text = '[bridge]\ncontrol_token = """\nbaud = 1\n"""\n' + PORT.format(name="a", listen=7001) \
        + 'junk = [\n  [1, 2],\n  "]",\n]\nbaud = "x"\n'
    assert lines(text) == [
        "bridge.toml:2: key 'control_token': must be a single line",
        "bridge.toml:9: port 'a': key 'junk': unknown key",
        "bridge.toml:13: port 'a': key 'baud': must be a positive integer, got \"x\"",
    ]


def test_unknown_profile_in_bridge_is_reported_once(tmp_path: Path) -> None:
    """A bad [bridge] profile is one problem at its line, not one per port."""
    text = '[bridge]\nprofile = "nope"\n' + PORT.format(name="a", listen=7001) \
        + PORT.format(name="b", listen=7002)
    assert lines(text) == ["bridge.toml:2: key 'profile': unknown profile 'nope'; "
                           "see: serial-bridge profiles"]


def test_control_characters_in_a_key_stay_on_one_line() -> None:
    """A quoted key holding a newline is shown escaped, so the problem stays one line."""
    text = '[[port]]\nname = "a"\ndevice = "loop://"\nlisten = 7001\n"bad\\nkey" = 1\n'
    assert lines(text) == ["bridge.toml:5: port 'a': key 'bad\\x0akey': unknown key"]
