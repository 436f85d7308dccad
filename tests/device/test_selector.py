"""usb: selectors through open_device: nothing matching is a missing device, nonsense an error."""

from __future__ import annotations

import asyncio

import pytest

from bridge.device.backend import DeviceError, DeviceMissing, OpenOptions, open_device
from bridge.device.settings import LineSettings
from bridge.device.watch import present

NOBODY = "usb:serial=NO-SUCH-ADAPTER-7f3a9c"


def test_selector_matching_nothing_is_device_missing() -> None:
    """A selector no adapter on this machine matches raises DeviceMissing naming it."""
    with pytest.raises(DeviceMissing, match="NO-SUCH-ADAPTER-7f3a9c"):
        asyncio.run(open_device(NOBODY, LineSettings(), OpenOptions()))


def test_malformed_selector_is_a_device_error_not_missing() -> None:
    """An unknown selector key raises a one-line DeviceError that is not DeviceMissing."""
    with pytest.raises(DeviceError, match="unknown selector key 'colour'") as caught:
        asyncio.run(open_device("usb:colour=blue", LineSettings(), OpenOptions()))
    assert not isinstance(caught.value, DeviceMissing)


def test_selector_matching_nothing_is_not_present() -> None:
    """wait_for_device's presence check says no for a selector matching nothing."""
    assert present(NOBODY) is False
