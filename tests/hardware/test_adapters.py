"""Adapters from recorded list_ports entries, and usb: selectors resolved against them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.device.adapters import (
    Adapter,
    AmbiguousSelector,
    NoAdapterMatches,
    Selector,
    SelectorError,
    list_adapters,
    parse_selector,
    resolve_device,
)
from bridge.errors import UserError
from tests.hardware.recorded import recorded_adapters


@pytest.fixture
def lab(tmp_path: Path) -> list[Adapter]:
    """The recorded Raspberry Pi lab: FTDI, FT4232H, two CH340, PL2303, CP2102, ACM, ttyAMA0."""
    return recorded_adapters(tmp_path)


def by_device(adapters: list[Adapter], device: str) -> Adapter:
    """The one adapter whose device path is ``device``."""
    return next(a for a in adapters if a.device == device)


def test_ftdi_entry_becomes_adapter_with_links(lab: list[Adapter], tmp_path: Path) -> None:
    """An FT232R entry keeps its ids and gains the by-id and by-path links that point at it."""
    ftdi = by_device(lab, "/dev/ttyUSB0")
    assert (ftdi.vid, ftdi.pid, ftdi.serial_number) == (0x0403, 0x6001, "A50285BI")
    assert ftdi.vid_pid == "0403:6001"
    assert ftdi.location == "1-1.4" and ftdi.interface is None
    assert ftdi.by_id == str(tmp_path / "dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0")
    assert ftdi.by_path == str(tmp_path / "dev/serial/by-path/platform-3f980000.usb-usb-0:1.4:1.0-port0")


def test_quad_chip_location_splits_into_port_path_and_interface(lab: list[Adapter]) -> None:
    """The FT4232H's four ttys share one port path and differ by interface number 0-3."""
    quads = [a for a in lab if a.pid == 0x6011]
    assert [(a.device, a.location, a.interface) for a in quads] == [
        ("/dev/ttyUSB1", "1-1.2", 0), ("/dev/ttyUSB2", "1-1.2", 1),
        ("/dev/ttyUSB3", "1-1.2", 2), ("/dev/ttyUSB4", "1-1.2", 3)]


def test_uart_without_usb_info_has_no_ids(lab: list[Adapter]) -> None:
    """The Pi's ttyAMA0 is listed with no USB fields and no links."""
    uart = by_device(lab, "/dev/ttyAMA0")
    assert uart == Adapter(device="/dev/ttyAMA0", description="ttyAMA0")
    assert uart.vid_pid is None and not uart.is_usb


def test_adapters_sort_naturally_by_device(lab: list[Adapter]) -> None:
    """Adapters come sorted by device name with numbers compared as numbers."""
    assert [a.device for a in lab] == [
        "/dev/ttyACM0", "/dev/ttyAMA0"] + [f"/dev/ttyUSB{n}" for n in range(9)]


def test_to_dict_gives_hex_ids(lab: list[Adapter]) -> None:
    """The JSON form spells vendor and product ids as four hex digits."""
    data = by_device(lab, "/dev/ttyUSB8").to_dict()
    assert (data["vid"], data["pid"], data["vid_pid"]) == ("10c4", "ea60", "10c4:ea60")
    assert data["serial_number"] == "01A7B3C9"


@pytest.mark.parametrize(("spec", "device"), [
    ("usb:serial=A50285BI", "/dev/ttyUSB0"),
    ("usb:vid=0403,pid=6001", "/dev/ttyUSB0"),
    ("usb:vid=0403,pid=6011,serial=FT4Q7K2X,interface=1", "/dev/ttyUSB2"),
    ("usb:serial=FT4Q7K2X,interface=3", "/dev/ttyUSB4"),
    ("usb:path=1-1.3", "/dev/ttyUSB5"),
    ("usb:path=1-1.5", "/dev/ttyUSB6"),
    ("usb:vid=067b,pid=2303", "/dev/ttyUSB7"),
    ("usb:vid=0x10C4,interface=0", "/dev/ttyUSB8"),
    ("usb:vid=2341", "/dev/ttyACM0"),
    ("usb:path=1-1.2,interface=2", "/dev/ttyUSB3"),
])
def test_selector_resolves_to_one_device(lab: list[Adapter], spec: str, device: str) -> None:
    """Each selector naming exactly one recorded adapter resolves to its device path."""
    assert resolve_device(spec, lab) == device


def test_shared_serial_of_quad_chip_is_ambiguous(lab: list[Adapter]) -> None:
    """A serial shared by four interfaces names every matching device."""
    with pytest.raises(AmbiguousSelector) as info:
        resolve_device("usb:serial=FT4Q7K2X", lab)
    assert str(info.value) == (
        "usb:serial=FT4Q7K2X matches 4 adapters (/dev/ttyUSB1, /dev/ttyUSB2, /dev/ttyUSB3, "
        "/dev/ttyUSB4): add serial=, interface= or path= to tell them apart")


def test_two_ch340_without_serial_are_ambiguous_by_ids(lab: list[Adapter]) -> None:
    """Two CH340s matched by VID:PID alone are an error naming both."""
    with pytest.raises(AmbiguousSelector, match=r"\(/dev/ttyUSB5, /dev/ttyUSB6\)"):
        resolve_device("usb:vid=1a86,pid=7523", lab)


def test_no_match_is_one_clear_line(lab: list[Adapter]) -> None:
    """A serial number nobody has gives 'no adapter matches' and the runtime exit code."""
    with pytest.raises(NoAdapterMatches) as info:
        resolve_device("usb:serial=X", lab)
    assert str(info.value) == "no adapter matches usb:serial=X"
    assert info.value.exit_code == 1
    assert isinstance(info.value, SelectorError)


def test_uart_is_not_interface_zero(lab: list[Adapter]) -> None:
    """interface=0 matches single-interface USB chips but never a non-USB UART."""
    assert not parse_selector("usb:interface=0").matches(by_device(lab, "/dev/ttyAMA0"))
    assert parse_selector("usb:interface=0").matches(by_device(lab, "/dev/ttyUSB7"))


def test_parse_selector_reads_every_key() -> None:
    """All five keys parse into a Selector that prints back canonically."""
    selector = parse_selector("usb:vid=0403, pid=6011,serial=AB,interface=1,path=1-1.2")
    assert selector == Selector(vid=0x0403, pid=0x6011, serial="AB", interface=1, path="1-1.2")
    assert str(selector) == "usb:vid=0403,pid=6011,serial=AB,interface=1,path=1-1.2"


@pytest.mark.parametrize(("spec", "message"), [
    ("usb:", "empty selector 'usb:': name at least one of vid, pid, serial, interface, path"),
    ("usb:colour=red", "unknown selector key 'colour' in usb:colour=red: expected one of "
                       "vid, pid, serial, interface, path"),
    ("usb:vid=xyz", "bad vid 'xyz' in usb:vid=xyz: expected 4 hex digits such as 0403"),
    ("usb:vid=123456", "bad vid '123456' in usb:vid=123456: expected 4 hex digits such as 0403"),
    ("usb:interface=one", "bad interface 'one' in usb:interface=one: expected a number such as 1"),
    ("usb:path=usb1", "bad path 'usb1' in usb:path=usb1: expected a USB port path such as 1-1.4"),
    ("usb:serial", "bad selector item 'serial' in usb:serial: expected key=value"),
    ("usb:serial=", "empty serial in usb:serial="),
    ("usb:serial=A,serial=B", "selector key 'serial' given twice in usb:serial=A,serial=B"),
    ("/dev/ttyUSB0", "not a usb: selector: '/dev/ttyUSB0'"),
])
def test_malformed_selector_is_one_line_usage_error(spec: str, message: str) -> None:
    """Each malformed selector raises SelectorError with one exact line and exit code 2."""
    with pytest.raises(SelectorError) as info:
        parse_selector(spec)
    assert str(info.value) == message
    assert isinstance(info.value, UserError) and info.value.exit_code == 2
    assert type(info.value) is SelectorError


def test_resolve_rejects_malformed_before_listing(lab: list[Adapter]) -> None:
    """resolve_device reports a malformed selector, not a missing adapter."""
    with pytest.raises(SelectorError) as info:
        resolve_device("usb:pid=", lab)
    assert type(info.value) is SelectorError


def test_real_machine_adapters_list_without_error() -> None:
    """Listing this machine's real adapters gives Adapter objects (possibly none) and never raises."""
    adapters = list_adapters()
    assert all(isinstance(a, Adapter) and a.device.startswith("/dev/") for a in adapters)
    with pytest.raises(NoAdapterMatches):
        resolve_device("usb:serial=serial-bridge-no-such-adapter")
