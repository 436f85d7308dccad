"""`serial-bridge init` on recorded adapter lists: selectors that find each adapter, listen ports
from 7001, profiles only where the USB ids name the device, and a file that `check` accepts."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.commands import init
from bridge.device.adapters import Adapter, resolve_device
from bridge.errors import RuntimeFailure, UserError
from tests.hardware.recorded import recorded_adapters


@pytest.fixture
def lab(tmp_path: Path) -> list[Adapter]:
    """The recorded lab of adapters (tests/data/list_ports/lab.json)."""
    return recorded_adapters(tmp_path)


def write(adapters: list[Adapter], path: Path, force: bool = False) -> int:
    """Run init for ``adapters`` into ``path``."""
    return init.run(argparse.Namespace(output=str(path), force=force), adapters)


def test_every_adapter_gets_a_port_that_finds_it_again(lab: list[Adapter], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Each port's device resolves to its own adapter; USB ones by usb: selector; listen 7001 up."""
    out = tmp_path / "bridge.toml"
    assert write(lab, out) == 0
    assert f"wrote {out}: 11 ports" in capsys.readouterr().err
    ports = tomllib.loads(out.read_text())["port"]
    assert [p["listen"] for p in ports] == list(range(7001, 7001 + len(lab)))
    assert len({p["name"] for p in ports}) == len(lab)
    for port, adapter in zip(ports, lab):
        if adapter.is_usb:
            assert port["device"].startswith("usb:"), port
            assert resolve_device(port["device"], lab) == adapter.device
        else:
            assert port["device"] == adapter.device
    devices = {p["name"]: p["device"] for p in ports}
    assert devices["ftdi-A50285BI"] == "usb:serial=A50285BI"
    assert devices["ftdi-FT4Q7K2X-if2"] == "usb:serial=FT4Q7K2X,interface=2"
    assert devices["1a86-port-1-1.5"] == "usb:path=1-1.5"          # CH340: no serial number
    assert devices["ttyAMA0"] == "/dev/ttyAMA0"


def test_profile_only_where_the_usb_ids_name_the_device(lab: list[Adapter], tmp_path: Path) -> None:
    """The Arduino Uno's own USB interface gets its profile; plain USB-serial adapters get none."""
    out = tmp_path / "bridge.toml"
    write(lab, out)
    profiles = {p["name"]: p.get("profile") for p in tomllib.loads(out.read_text())["port"]}
    assert profiles.pop("arduino-uno") == "arduino-uno"
    assert set(profiles.values()) == {None}


def test_comments_say_what_to_check(lab: list[Adapter], tmp_path: Path) -> None:
    """Every port has comments naming the adapter, how it is selected, and what to check."""
    out = tmp_path / "bridge.toml"
    write(lab, out)
    text = out.read_text()
    assert text.count("# check: the console's baud rate and framing") == len(lab) - 1
    assert "keep it plugged into that port" in text
    assert "# /dev/ttyUSB0: FTDI FT232R USB UART (0403:6001)" in text
    assert 'bind = "127.0.0.1"' in text and "docs/security.md" in text


def test_check_accepts_the_written_config(lab: list[Adapter], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`serial-bridge check` says OK for the written file."""
    out = tmp_path / "bridge.toml"
    write(lab, out)
    capsys.readouterr()
    assert main(["check", "--config", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: OK, 11 ports")


def test_shared_serial_numbers_fall_back_to_the_usb_port() -> None:
    """Two CP2102s still on the factory serial 0001 are told apart by USB port path."""
    pair = [Adapter(device=f"/dev/ttyUSB{i}", vid=0x10C4, pid=0xEA60, serial_number="0001",
                    location=f"1-1.{i + 2}", manufacturer="Silicon Labs", product="CP2102") for i in range(2)]
    plans = init.plan_ports(pair)
    assert [p.device for p in plans] == ["usb:path=1-1.2", "usb:path=1-1.3"]
    assert "its serial number is not its own" in plans[0].comments[1]
    assert plans[0].name != plans[1].name


def test_same_serial_on_two_kinds_of_adapter_adds_vid_and_pid() -> None:
    """A serial number used by two different products is qualified by VID and PID."""
    two = [Adapter(device="/dev/ttyUSB0", vid=0x0403, pid=0x6001, serial_number="X1", location="1-1"),
           Adapter(device="/dev/ttyUSB1", vid=0x10C4, pid=0xEA60, serial_number="X1", location="1-2")]
    assert [p.device for p in init.plan_ports(two)] == ["usb:vid=0403,pid=6001,serial=X1",
                                                        "usb:vid=10c4,pid=ea60,serial=X1"]


def test_existing_output_needs_force(lab: list[Adapter], tmp_path: Path) -> None:
    """An existing FILE is not overwritten without --force (one clear line); with it, it is."""
    out = tmp_path / "bridge.toml"
    out.write_text("# mine\n")
    with pytest.raises(UserError, match="exists: choose another --output, or add --force"):
        write(lab, out)
    assert out.read_text() == "# mine\n"
    assert write(lab, out, force=True) == 0
    assert "[[port]]" in out.read_text()
    assert not list(tmp_path.glob("*.tmp*"))


def test_no_adapters_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing plugged in: a RuntimeFailure (exit 1) naming where to look, and nothing written."""
    with pytest.raises(RuntimeFailure, match="no serial adapters found") as info:
        init.run(argparse.Namespace(output=None, force=False), [])
    assert info.value.exit_code == 1
    assert capsys.readouterr().out == ""


def test_stdout_without_output(lab: list[Adapter], capsys: pytest.CaptureFixture[str]) -> None:
    """Without --output the config goes to standard output."""
    assert init.run(argparse.Namespace(output=None, force=False), lab) == 0
    assert len(tomllib.loads(capsys.readouterr().out)["port"]) == len(lab)
