"""One validator of line settings: the config file, the control API and the bridge agree (issue 13)."""

from __future__ import annotations

import pytest

from bridge.config.keys import PORT_KEYS
from bridge.config.values import Invalid
from bridge.control.schema import check_settings, parse_setting_words
from bridge.server import validate_line_changes

VALUES: list[tuple[str, object]] = [
    ("baud", 9600), ("baud", 1), ("baud", 0), ("baud", -5), ("baud", 20_000_000),
    ("baud", 30_000_000), ("baud", True), ("baud", 9600.0), ("baud", "9600"),
    ("bytesize", 5), ("bytesize", 8), ("bytesize", 4), ("bytesize", 9), ("bytesize", 7.0),
    ("parity", "none"), ("parity", "mark"), ("parity", "evn"), ("parity", "EVEN"), ("parity", 1),
    ("stopbits", 1), ("stopbits", 1.5), ("stopbits", 2.0), ("stopbits", 3), ("stopbits", False),
    ("flow", "rtscts"), ("flow", "hardware"), ("flow", None),
]


def _config(key: str, value: object) -> object:
    try:
        return PORT_KEYS[key].check(value)
    except Invalid as exc:
        return ("refused", f"{key}: {exc}")


def _api(key: str, value: object) -> object:
    try:
        return check_settings({key: value})[key]
    except ValueError as exc:
        return ("refused", str(exc))


def _bridge(key: str, value: object) -> object:
    try:
        return validate_line_changes({key: value})[key]
    except ValueError as exc:
        return ("refused", str(exc))


@pytest.mark.parametrize(("key", "value"), VALUES)
def test_config_api_and_bridge_give_the_same_verdict(key: str, value: object) -> None:
    """Each value is accepted (as the same value) or refused (with the same reason) by all three."""
    verdicts = {_config(key, value), _api(key, value), _bridge(key, value)}
    assert len(verdicts) == 1, verdicts


def test_ctl_words_reach_the_same_validator() -> None:
    """`ctl set` words are checked by it too: a baud rate past the limit is refused."""
    with pytest.raises(ValueError, match="^baud: must be at most 20000000, got 30000000$"):
        parse_setting_words(["baud=30000000"])


def test_the_device_layer_refuses_what_the_validator_refuses(tmp_path: object) -> None:
    """A line change reaching the device (an RFC 2217 SET-BAUDRATE, say) past the validator's limit
    is kept at the value in force, as the config and the control API would refuse it."""
    import asyncio
    import os

    from bridge.device.backend import OpenOptions, open_device
    from bridge.device.settings import LineSettings

    async def main() -> None:
        master, slave = os.openpty()
        try:
            device = await open_device(os.ttyname(slave), LineSettings(baud=9600),
                                       OpenOptions(lock_files=False))
            applied = await device.apply_settings(LineSettings(baud=30_000_000))
            assert applied.baud == 9600
            applied = await device.apply_settings(LineSettings(baud=19200))
            assert applied.baud == 19200
            await device.close()
        finally:
            os.close(master)
            os.close(slave)
    asyncio.run(main())
