"""``serial-bridge udev`` rules generated for recorded adapters."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.commands import udev
from bridge.device.adapters import Adapter
from tests.hardware.recorded import recorded_adapters


@pytest.fixture
def lab(tmp_path: Path) -> list[Adapter]:
    """The recorded lab of adapters."""
    return recorded_adapters(tmp_path)


def args(*names: str, group: str = "dialout", mode: str = "0660") -> argparse.Namespace:
    """The namespace the CLI would pass to udev.run."""
    return argparse.Namespace(name=list(names), group=group, mode=mode)


def rules(out: str) -> list[str]:
    """The rule lines of the output, without comments and blank lines."""
    return [line for line in out.splitlines() if line and not line.startswith("#")]


def test_serial_number_rule(lab: list[Adapter], capsys: pytest.CaptureFixture[str]) -> None:
    """An adapter with its own serial number is keyed on VID, PID and serial, with group and mode."""
    assert udev.run(args("rtr1=/dev/ttyUSB0"), lab) == 0
    assert rules(capsys.readouterr().out) == [
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001", ATTRS{serial}=="A50285BI", '
        'SYMLINK+="serial-bridge/rtr1", GROUP="dialout", MODE="0660"']


def test_quad_chip_rule_adds_interface_number(lab: list[Adapter], capsys: pytest.CaptureFixture[str]) -> None:
    """A port of a multi-port chip is keyed on its interface number as well, given by selector."""
    assert udev.run(args("sw2=usb:serial=FT4Q7K2X,interface=2", group="uucp", mode="660"), lab) == 0
    assert rules(capsys.readouterr().out) == [
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6011", ATTRS{serial}=="FT4Q7K2X", '
        'ENV{ID_USB_INTERFACE_NUM}=="02", SYMLINK+="serial-bridge/sw2", GROUP="uucp", MODE="0660"']


def test_adapter_without_serial_is_keyed_on_usb_port(lab: list[Adapter], capsys: pytest.CaptureFixture[str]) -> None:
    """A CH340 without a serial number is keyed on its USB port path, and the comment says so."""
    assert udev.run(args("esp=/dev/ttyUSB6"), lab) == 0
    out = capsys.readouterr().out
    assert rules(out) == [
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="1a86", ATTRS{idProduct}=="7523", KERNELS=="1-1.5", '
        'SYMLINK+="serial-bridge/esp", GROUP="dialout", MODE="0660"']
    assert "# esp: /dev/ttyUSB6 USB2.0-Serial, keyed on USB port 1-1.5 (no serial number" in out


def test_by_id_link_names_the_adapter(lab: list[Adapter], capsys: pytest.CaptureFixture[str]) -> None:
    """DEVICE may be the adapter's /dev/serial/by-id link."""
    link = next(a.by_id for a in lab if a.device == "/dev/ttyUSB8")
    assert link is not None
    assert udev.run(args(f"cp={link}"), lab) == 0
    assert 'ATTRS{serial}=="01A7B3C9", SYMLINK+="serial-bridge/cp"' in capsys.readouterr().out


def test_without_names_every_usb_adapter_gets_a_rule(lab: list[Adapter], capsys: pytest.CaptureFixture[str]) -> None:
    """Without --name each USB adapter gets a made-up unique name; the non-USB UART gets none."""
    assert udev.run(args(), lab) == 0
    out = capsys.readouterr().out
    names = [line.split('SYMLINK+="serial-bridge/')[1].split('"')[0] for line in rules(out)]
    assert ("# /dev/ttyAMA0 is not on USB: name it with --name NAME=/dev/ttyAMA0 if you want a rule for it"
            in out.splitlines())
    assert names == ["arduino-85735313233351D0E1A1", "ftdi-A50285BI", "ftdi-FT4Q7K2X-if0",
                     "ftdi-FT4Q7K2X-if1", "ftdi-FT4Q7K2X-if2", "ftdi-FT4Q7K2X-if3", "1a86-port-1-1.3",
                     "1a86-port-1-1.5", "prolific-port-1-1.1", "silicon-01A7B3C9"]


def test_shared_serial_number_falls_back_to_usb_port(capsys: pytest.CaptureFixture[str]) -> None:
    """Two CP2102s sharing the factory serial 0001 are keyed on their USB ports instead."""
    twins = [Adapter(device=f"/dev/ttyUSB{n}", vid=0x10C4, pid=0xEA60, serial_number="0001",
                     location=f"1-1.{n + 2}", description="CP2102") for n in range(2)]
    assert udev.run(args("a=/dev/ttyUSB1"), twins) == 0
    out = capsys.readouterr().out
    assert 'KERNELS=="1-1.3", SYMLINK+="serial-bridge/a"' in out
    assert "serial number shared" in out


def test_non_usb_uart_is_keyed_on_kernel_name(lab: list[Adapter], capsys: pytest.CaptureFixture[str]) -> None:
    """The Pi's ttyAMA0, named explicitly, is keyed on its kernel name."""
    assert udev.run(args("pi=/dev/ttyAMA0"), lab) == 0
    assert rules(capsys.readouterr().out) == [
        'SUBSYSTEM=="tty", KERNEL=="ttyAMA0", SYMLINK+="serial-bridge/pi", GROUP="dialout", MODE="0660"']


@pytest.mark.parametrize(("argv", "message"), [
    (["udev", "--name", "rtr1"], "bad --name 'rtr1': expected NAME=DEVICE, e.g. rtr1=/dev/ttyUSB0"),
    (["udev", "--name", "a b=/dev/ttyS0"], "bad name 'a b' in --name a b=/dev/ttyS0"),
    (["udev", "--mode", "rw"], "bad mode 'rw': expected octal permissions such as 0660"),
    (["udev", "--group", "1bad!"], "bad group '1bad!': expected a group name such as dialout"),
    (["udev", "--name", "x=/dev/serial-bridge-nothing-here"],
     "no serial adapter at /dev/serial-bridge-nothing-here (see: serial-bridge ports)"),
    (["udev", "--name", "x=usb:colour=red"], "unknown selector key 'colour'"),
])
def test_bad_arguments_give_one_line_and_exit_2(argv: list[str], message: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Each usage error is one line on stderr naming the problem, exit code 2, no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("serial-bridge: error: ") and message in err
    assert len(err.splitlines()) == 1


def test_name_given_twice_is_refused(lab: list[Adapter]) -> None:
    """Two --name arguments with the same name are a usage error."""
    from bridge.errors import UserError

    with pytest.raises(UserError, match="name 'a' given twice"):
        udev.run(args("a=/dev/ttyUSB0", "a=/dev/ttyUSB8"), lab)


def test_real_machine_udev_command_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI writes rules for this machine's adapters (possibly none) and exits 0."""
    assert main(["udev"]) == 0
    assert capsys.readouterr().out.startswith("# udev rules written by serial-bridge udev")


_KEY = re.compile(r'^(SUBSYSTEM|KERNEL|KERNELS|ATTRS\{\w+\}|ENV\{\w+\}|SYMLINK|GROUP|MODE)(==|\+=|=)"[^"]*"$')


def malformed_keys(text: str) -> list[str]:
    """Every key of every rule line that is not ``KEY(==|=|+=)"value"`` with a known key."""
    bad: list[str] = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            bad.extend(key for key in line.split(", ") if not _KEY.match(key))
    return bad


def test_generated_rules_are_well_formed(lab: list[Adapter], capsys: pytest.CaptureFixture[str]) -> None:
    """Every key of every generated rule has udev's KEY op "value" shape."""
    assert udev.run(args(), lab) == 0
    text = capsys.readouterr().out
    assert rules(text) and malformed_keys(text) == []


def test_shipped_example_rules_are_well_formed_and_name_serial_bridge_links() -> None:
    """udev/99-serial-bridge.rules is well formed and every SYMLINK is under serial-bridge/."""
    text = (Path(__file__).resolve().parents[2] / "udev" / "99-serial-bridge.rules").read_text(encoding="utf-8")
    assert malformed_keys(text) == []
    links = re.findall(r'SYMLINK\+="([^"]*)"', text)
    assert links == ["serial-bridge/rtr1", "serial-bridge/sw1", "serial-bridge/sw2",
                     "serial-bridge/esp32", "serial-bridge/pi-gpio"]


def test_example_prints_the_shipped_rules_file(capsys: pytest.CaptureFixture[str]) -> None:
    """`udev --example` prints udev/99-serial-bridge.rules as shipped (the package's copy when installed)."""
    assert main(["udev", "--example"]) == 0
    shipped = Path(__file__).resolve().parents[2] / "udev" / "99-serial-bridge.rules"
    assert capsys.readouterr().out == shipped.read_text()
