"""The dataclasses agree with the key table; port_differences names what changed."""

from __future__ import annotations

import dataclasses

import pytest

from bridge.config import BridgeConfig, PortConfig, port_differences
from bridge.config.keys import BRIDGE_KEYS, PORT_KEYS, REQUIRED


def test_portconfig_fields_match_the_key_table_in_name_order_and_default() -> None:
    """PortConfig has one field per port key, same order and same default, plus bind."""
    fields = dataclasses.fields(PortConfig)
    assert [f.name for f in fields] == [*PORT_KEYS, "bind"]
    for f in fields[:-1]:
        expected = PORT_KEYS[f.name].default
        actual = dataclasses.MISSING if expected is REQUIRED else expected
        assert f.default == actual, f.name
        assert type(f.default) is type(actual), f.name


def test_every_default_passes_its_own_check() -> None:
    """The built-in default of every key is a value its checker accepts unchanged."""
    for table in (PORT_KEYS, BRIDGE_KEYS):
        for name, key in table.items():
            if key.default not in (REQUIRED, None):
                assert key.check(key.default) == key.default, name


def test_bridgeconfig_fields_match_bridge_keys() -> None:
    """BridgeConfig carries each [bridge]-only key with its default, plus source, ports, allow, users and notes (what the install lacks, UAT 7)."""
    config = BridgeConfig()
    assert [f.name for f in dataclasses.fields(BridgeConfig)] == ["source", *BRIDGE_KEYS, "ports", "allow", "users", "notes"]
    for name, key in BRIDGE_KEYS.items():
        assert getattr(config, name) == key.default


def test_configs_are_frozen() -> None:
    """A PortConfig cannot be changed after it is made."""
    port = PortConfig(name="a", device="loop://", listen=7001)
    with pytest.raises(dataclasses.FrozenInstanceError):
        port.baud = 1  # type: ignore[misc]


def test_port_differences_names_changed_fields_only() -> None:
    """port_differences is empty for equal ports and names exactly the changed fields."""
    old = PortConfig(name="a", device="/dev/ttyUSB0", listen=7001)
    assert port_differences(old, dataclasses.replace(old)) == set()
    new = dataclasses.replace(old, baud=115200, listen="127.0.0.1:7002", bind="::")
    assert port_differences(old, new) == {"baud", "listen", "bind"}


def test_port_differences_treats_equal_numbers_as_equal() -> None:
    """A stop-bit count of 2 and 2.0 is no change."""
    old = PortConfig(name="a", device="x", listen=1, stopbits=2)
    assert port_differences(old, dataclasses.replace(old, stopbits=2.0)) == set()
