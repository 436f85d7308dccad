"""Loading configs: merging, precedence and the values PortConfig exposes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import ConfigError, PortConfig, load_config
from bridge.device.settings import LineSettings
from tests.config.conftest import parse

MINIMAL = """
[[port]]
name = "rtr1"
device = "/dev/ttyUSB0"
listen = 7001
"""


def test_minimal_port_gets_every_builtin_default() -> None:
    """A port giving only name, device and listen equals PortConfig with its defaults."""
    config = parse(MINIMAL)
    assert config.ports == (PortConfig(name="rtr1", device="/dev/ttyUSB0", listen=7001),)
    assert config.bind == "127.0.0.1" and config.control is None and config.control_token is None


def test_precedence_is_defaults_then_bridge_then_profile_then_port(tmp_path: Path) -> None:
    """Each layer overrides only the keys it sets: [bridge] < profile < port."""
    (tmp_path / "lab.toml").write_text(
        'description = "lab"\nbaud = 57600\nparity = "even"\nbreak_ms = 700\n')
    config = parse("""
        [bridge]
        baud = 19200
        parity = "odd"
        flow = "rtscts"
        history = 1000

        [[port]]
        name = "a"
        device = "/dev/ttyUSB0"
        listen = 7001
        profile = "lab"
        parity = "mark"

        [[port]]
        name = "b"
        device = "/dev/ttyUSB1"
        listen = 7002
        """, profiles_dir=str(tmp_path))
    a, b = config.ports
    assert (a.baud, a.parity, a.flow, a.break_ms, a.history) == (57600, "mark", "rtscts", 700, 1000)
    assert (b.baud, b.parity, b.flow, b.break_ms, b.history) == (19200, "odd", "rtscts", 250, 1000)
    assert a.profile == "lab" and b.profile is None


def test_bridge_profile_applies_to_ports_naming_none() -> None:
    """A profile set in [bridge] is the profile of every port that names none."""
    config = parse("""
        [bridge]
        profile = "generic-115200"
        [[port]]
        name = "a"
        device = "loop://"
        listen = 7001
        [[port]]
        name = "b"
        device = "loop://"
        listen = 7002
        profile = "cisco-console"
        """)
    assert [(p.profile, p.baud) for p in config.ports] == [("generic-115200", 115200),
                                                           ("cisco-console", 9600)]


def test_settings_property_gives_line_settings() -> None:
    """PortConfig.settings carries baud, framing and flow as a LineSettings."""
    port = parse(MINIMAL.replace("listen = 7001", 'listen = 7001\nbaud = 115200\nstopbits = 1.5\n'
                                 'bytesize = 7\nparity = "even"\nflow = "xonxoff"')).ports[0]
    assert port.settings == LineSettings(baud=115200, bytesize=7, parity="even", stopbits=1.5,
                                         flow="xonxoff")


@pytest.mark.parametrize(("listen", "bind", "host", "port"), [
    ("7001", None, "127.0.0.1", 7001),
    ("7001", '"0.0.0.0"', "0.0.0.0", 7001),
    ('"192.0.2.1:7001"', '"0.0.0.0"', "192.0.2.1", 7001),
    ('"[::1]:7002"', None, "::1", 7002),
    ('":7003"', '"::"', "::", 7003),
    ('"7004"', None, "127.0.0.1", 7004),
    ("0", None, "127.0.0.1", 0),
])
def test_listen_host_and_port(listen: str, bind: str | None, host: str, port: int) -> None:
    """listen splits into host and port, the host defaulting to [bridge] bind."""
    head = f"[bridge]\nbind = {bind}\n" if bind else ""
    config = parse(head + MINIMAL.replace("listen = 7001", f"listen = {listen}"))
    assert (config.ports[0].listen_host, config.ports[0].listen_port) == (host, port)


def test_listen_readonly_host_and_port() -> None:
    """listen_readonly gives its own host and port, and None when it is unset."""
    config = parse(MINIMAL + 'listen_readonly = "[::]:7101"\n'
                   + MINIMAL.replace("rtr1", "sw1").replace("7001", "7002"))
    ro, plain = config.ports
    assert (ro.listen_readonly_host, ro.listen_readonly_port) == ("::", 7101)
    assert (plain.listen_readonly_host, plain.listen_readonly_port) == (None, None)


def test_stopbits_are_normalised() -> None:
    """stopbits 2.0 is stored as 2 and 1.5 as 1.5."""
    config = parse(MINIMAL + "stopbits = 2.0\n" + MINIMAL.replace("rtr1", "b").replace(
        "7001", "7002") + "stopbits = 1.5\n")
    assert [p.stopbits for p in config.ports] == [2, 1.5]
    assert isinstance(config.ports[0].stopbits, int)


def test_device_forms_are_accepted_and_a_missing_path_is_fine() -> None:
    """Paths that do not exist, pyserial URLs and usb: selectors all load."""
    devices = ["/dev/does-not-exist-yet", "loop://", "spy:///dev/ttyUSB0", "rfc2217://h:2217",
               "socket://127.0.0.1:9", "usb:serial=A1B2C3", "usb:vid=0403,pid=6001,serial=X,interface=1",
               "usb:path=1-1.4"]
    text = "".join(f'[[port]]\nname = "p{i}"\ndevice = "{d}"\nlisten = {7001 + i}\n'
                   for i, d in enumerate(devices))
    assert [p.device for p in parse(text).ports] == devices


def test_no_ports_is_a_valid_config() -> None:
    """A file with only [bridge] (or nothing) loads with no ports."""
    assert parse("[bridge]\nbind = '::'\n").ports == ()
    assert parse("").ports == ()


def test_port_lookup_by_name() -> None:
    """BridgeConfig.port finds a port by name and raises KeyError for others."""
    config = parse(MINIMAL)
    assert config.port("rtr1").device == "/dev/ttyUSB0"
    with pytest.raises(KeyError):
        config.port("nope")


def test_load_config_reads_the_file_and_records_its_path(tmp_path: Path) -> None:
    """load_config keeps the path as source and resolves profiles_dir beside the file."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x.toml").write_text('description = "x"\nbaud = 1200\n')
    path = tmp_path / "bridge.toml"
    path.write_text('[bridge]\nprofiles_dir = "mine"\n' + MINIMAL + 'profile = "x"\n')
    config = load_config(path)
    assert config.source == path
    assert config.ports[0].baud == 1200
    assert config.profiles_dir == str(tmp_path / "mine")


@pytest.mark.parametrize(("setup", "message"), [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "is a directory, not a file"),
    (lambda p: p.write_bytes(b"[bridge]\nbind = '\xff'\n"), "not UTF-8 text"),
])
def test_unreadable_file_is_one_problem(tmp_path: Path, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    """A missing, directory or non-UTF-8 file gives exactly one problem line."""
    path = tmp_path / "bridge.toml"
    setup(path)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert len(info.value.problems) == 1
    assert str(info.value.problems[0]).startswith(str(path))
    assert str(info.value.problems[0]).endswith(message)
