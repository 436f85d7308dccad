"""Config keys of issue 14: metrics, mdns, [[port.alert]]; `check` validates the patterns."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.config import ConfigError, PortConfig, parse_config
from bridge.config.alert import AlertConfig
from bridge.fleet.fleet import Fleet
from bridge.config.model import BridgeConfig

PORT = '[[port]]\nname = "rtr1"\ndevice = "/dev/ttyUSB0"\nlisten = 7001\n'


def test_alert_tables_become_alert_configs_with_defaults() -> None:
    """[[port.alert]] tables are checked into AlertConfig values, in order, with the documented defaults."""
    config = parse_config('[bridge]\nmetrics = "127.0.0.1:9120"\nmdns = true\n' + PORT +
                          '[[port.alert]]\nname = "panic"\npattern = "Kernel panic"\n'
                          '[[port.alert]]\nname = "rommon"\npattern = "^rommon \\\\d+ >"\naction = "exec"\n'
                          'command = ["notify-send", "{port}", "{line}"]\ncooldown = 5\ntimeout = 2\n',
                          "bridge.toml")
    assert config.metrics == "127.0.0.1:9120" and config.mdns is True
    assert config.ports[0].alert == (
        AlertConfig(name="panic", pattern="Kernel panic"),
        AlertConfig(name="rommon", pattern=r"^rommon \d+ >", action="exec",
                    command=("notify-send", "{port}", "{line}"), cooldown=5.0, timeout=2.0))


@pytest.mark.parametrize(("alert", "message"), [
    ('name = "a"\npattern = "rommon ("', "alert 'a': pattern \"rommon (\" is not a valid regular expression"),
    ('name = "a"\npattern = "x*"', "matches an empty line"),
    ('name = "a"\npattern = "x"\naction = "mail"', "action must be one of log | exec"),
    ('name = "a"\npattern = "x"\naction = "exec"', 'action = "exec" needs command'),
    ('name = "a"\npattern = "x"\ncommand = ["true"]', 'command is only for action = "exec"'),
    ('name = "a"\npattern = "x"\ncooldwn = 3', "unknown key \"cooldwn\"; did you mean \"cooldown\"?"),
    ('name = "a b"\npattern = "x"', "alert #1: name must be"),
    ('name = "a"\npattern = "x"\ncooldown = -1', "cooldown must be a number of seconds >= 0"),
])
def test_a_bad_alert_is_one_problem_naming_port_and_alert(alert: str, message: str) -> None:
    """Each mistake in an alert table is reported with the port, the key and the alert."""
    with pytest.raises(ConfigError) as caught:
        parse_config(PORT + "[[port.alert]]\n" + alert + "\n", "bridge.toml")
    (problem,) = caught.value.problems
    assert problem.port == "rtr1" and problem.key == "alert"
    assert message in problem.message


def test_two_alerts_of_a_port_need_their_own_names() -> None:
    """Alert names are unique within a port."""
    with pytest.raises(ConfigError, match="two alerts are named"):
        parse_config(PORT + '[[port.alert]]\nname = "a"\npattern = "x"\n[[port.alert]]\nname = "a"\npattern = "y"\n',
                     "bridge.toml")


def test_check_command_reports_a_bad_pattern_in_one_line(tmp_path: Path) -> None:
    """`serial-bridge check` exits 2 with one line naming file, line, port, key and the regex error."""
    path = tmp_path / "bridge.toml"
    path.write_text(PORT + '[[port.alert]]\nname = "rommon"\npattern = "rommon ("\n')
    out = subprocess.run([sys.executable, "-m", "bridge", "check", "--config", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert len(lines) == 1
    assert f"{path}:5: port 'rtr1': key 'alert': alert 'rommon': pattern" in lines[0]   # the [[port.alert]] line
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(("text", "message"), [
    ('metrics = "localhost"', "must be a TCP port"),
    ("mdns = 1", "must be true or false"),
])
def test_bad_metrics_and_mdns_values(text: str, message: str) -> None:
    """metrics takes a port or host:port, mdns a boolean."""
    with pytest.raises(ConfigError, match=message):
        parse_config(f"[bridge]\n{text}\n" + PORT, "bridge.toml")


class _Worker:
    """What Fleet.port_started needs of a port worker, recording tails."""

    def __init__(self, config: PortConfig) -> None:
        self.name = config.name
        self.config = config
        self.tails: list[Callable[[bytes], None]] = []

    def add_tail(self, callback: Callable[[bytes], None]) -> Callable[[], None]:
        self.tails.append(callback)
        return lambda: None


def test_a_port_without_alerts_gets_no_tail() -> None:
    """Alerts off cost nothing: no callback is added to the port's device output."""
    fleet = Fleet(BridgeConfig())
    plain = _Worker(PortConfig(name="a", device="/dev/null", listen=0))
    watched = _Worker(PortConfig(name="b", device="/dev/null", listen=0,
                                 alert=(AlertConfig(name="x", pattern="x"),)))
    fleet.port_started(plain)
    fleet.port_started(watched)
    assert plain.tails == [] and len(watched.tails) == 1
