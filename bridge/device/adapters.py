"""Serial adapters on this machine, and ``usb:`` selectors that find them by identity.

Theory of operation: pyserial's ``list_ports.comports()`` reads sysfs and
gives one entry per tty (device, VID/PID, serial number, USB location...).
:func:`list_adapters` turns each entry into a frozen :class:`Adapter`, adding
the stable names udev made for it under ``/dev/serial/by-id`` and
``/dev/serial/by-path`` (found by resolving those symlinks), and splitting
pyserial's location ``1-1.4:1.2`` into the USB port path ``1-1.4`` and the
interface number ``2`` (pyserial only adds the ``:C.I`` suffix for chips with
several interfaces, such as the FT4232H).

A selector names an adapter by who it is rather than where the kernel put
it: ``usb:serial=A1B2C3``, ``usb:vid=0403,pid=6001,serial=X,interface=1`` or
``usb:path=1-1.4``. :func:`resolve_device` finds the one adapter that matches
and returns its device path; the device layer calls it at open and at every
replug. Linux only, like the rest of the device layer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bridge.errors import UserError

SELECTOR_PREFIX = "usb:"
_SELECTOR_KEYS = ("vid", "pid", "serial", "interface", "path")
_HEX_ID = re.compile(r"^(0x)?[0-9a-fA-F]{1,4}$")
_USB_PATH = re.compile(r"^\d+-\d+(\.\d+)*$")
_NUMBER = re.compile(r"(\d+)")
_ENTRY_FIELDS = ("device", "name", "description", "hwid", "vid", "pid", "serial_number",
                 "location", "manufacturer", "product", "interface")


class SelectorError(UserError):
    """A ``usb:`` selector that is malformed (exit code 2)."""


class NoAdapterMatches(SelectorError):
    """No adapter on this machine matches the selector (a missing device: exit code 1)."""

    exit_code = 1


class AmbiguousSelector(SelectorError):
    """Two or more adapters match the selector; the message names them all (exit code 1)."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class Adapter:
    """One serial device as the system describes it.

    Attributes:
        device: the kernel's device path, e.g. ``/dev/ttyUSB0``.
        by_id: its ``/dev/serial/by-id/...`` name, or None.
        by_path: its ``/dev/serial/by-path/...`` name, or None.
        vid: USB vendor id, or None for a device that is not USB.
        pid: USB product id, or None.
        serial_number: the USB serial number string, or None (CH340, PL2303...).
        manufacturer: the USB manufacturer string, or None.
        product: the USB product string, or None.
        location: the USB port path such as ``1-1.4``, or None.
        interface: the USB interface number on multi-interface chips, or None.
        description: pyserial's one-line description.
    """

    device: str
    by_id: str | None = None
    by_path: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    manufacturer: str | None = None
    product: str | None = None
    location: str | None = None
    interface: int | None = None
    description: str = ""

    @property
    def is_usb(self) -> bool:
        """True when the device sits on USB (it has a vendor id)."""
        return self.vid is not None

    @property
    def vid_pid(self) -> str | None:
        """``VVVV:PPPP`` in lower-case hex, or None for a device that is not USB."""
        if self.vid is None or self.pid is None:
            return None
        return f"{self.vid:04x}:{self.pid:04x}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every field, plus ``vid_pid``; ids as hex strings."""
        data = asdict(self)
        data["vid"] = None if self.vid is None else f"{self.vid:04x}"
        data["pid"] = None if self.pid is None else f"{self.pid:04x}"
        data["vid_pid"] = self.vid_pid
        return data


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed ``usb:`` selector: every field given must match; None means any."""

    vid: int | None = None
    pid: int | None = None
    serial: str | None = None
    interface: int | None = None
    path: str | None = None

    def matches(self, adapter: Adapter) -> bool:
        """True when ``adapter`` has every property this selector names."""
        if self.vid is not None and adapter.vid != self.vid:
            return False
        if self.pid is not None and adapter.pid != self.pid:
            return False
        if self.serial is not None and adapter.serial_number != self.serial:
            return False
        if self.path is not None and adapter.location != self.path:
            return False
        if self.interface is not None:
            # A single-interface chip has only interface 0, which pyserial leaves unnamed.
            actual = 0 if adapter.interface is None and adapter.is_usb else adapter.interface
            if actual != self.interface:
                return False
        return True

    def __str__(self) -> str:
        parts = []
        if self.vid is not None:
            parts.append(f"vid={self.vid:04x}")
        if self.pid is not None:
            parts.append(f"pid={self.pid:04x}")
        if self.serial is not None:
            parts.append(f"serial={self.serial}")
        if self.interface is not None:
            parts.append(f"interface={self.interface}")
        if self.path is not None:
            parts.append(f"path={self.path}")
        return SELECTOR_PREFIX + ",".join(parts)


def is_selector(spec: str) -> bool:
    """True when ``spec`` is a ``usb:`` selector rather than a path or URL."""
    return spec.startswith(SELECTOR_PREFIX)


def _parse_value(key: str, value: str, spec: str) -> int | str:
    if key in ("vid", "pid"):
        if not _HEX_ID.match(value):
            raise SelectorError(f"bad {key} {value!r} in {spec}: expected 4 hex digits such as 0403")
        return int(value, 16)
    if key == "interface":
        if not value.isdigit():
            raise SelectorError(f"bad interface {value!r} in {spec}: expected a number such as 1")
        return int(value)
    if key == "path" and not _USB_PATH.match(value):
        raise SelectorError(f"bad path {value!r} in {spec}: expected a USB port path such as 1-1.4")
    if not value:
        raise SelectorError(f"empty {key} in {spec}")
    return value


def parse_selector(spec: str) -> Selector:
    """Parse a ``usb:key=value,...`` selector.

    Args:
        spec: the selector text, e.g. ``usb:vid=0403,pid=6001,interface=1``.

    Returns:
        The parsed selector.

    Raises:
        SelectorError: the text is not a valid selector (one line naming the problem).
    """
    if not is_selector(spec):
        raise SelectorError(f"not a usb: selector: {spec!r}")
    body = spec[len(SELECTOR_PREFIX):].strip()
    if not body:
        raise SelectorError(f"empty selector {spec!r}: name at least one of {', '.join(_SELECTOR_KEYS)}")
    fields: dict[str, int | str] = {}
    for item in body.split(","):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            raise SelectorError(f"bad selector item {item!r} in {spec}: expected key=value")
        if key not in _SELECTOR_KEYS:
            raise SelectorError(f"unknown selector key {key!r} in {spec}: expected one of "
                                f"{', '.join(_SELECTOR_KEYS)}")
        if key in fields:
            raise SelectorError(f"selector key {key!r} given twice in {spec}")
        fields[key] = _parse_value(key, value, spec)
    return Selector(**fields)  # type: ignore[arg-type]


def _split_location(location: str | None) -> tuple[str | None, int | None]:
    """``1-1.4:1.2`` -> (``1-1.4``, 2); ``1-1.4`` -> (``1-1.4``, None)."""
    if not location:
        return None, None
    path, _, config_if = location.partition(":")
    _, _, number = config_if.partition(".")
    return path, int(number) if number.isdigit() else None


def _link_map(dev_root: str, kind: str) -> dict[str, str]:
    """Map a tty name (``ttyUSB0``) to its symlink under ``dev_root/serial/<kind>``."""
    folder = os.path.join(dev_root, "serial", kind)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return {}
    found: dict[str, str] = {}
    for name in names:
        link = os.path.join(folder, name)
        try:
            target = os.readlink(link)
        except OSError:
            continue
        tty = os.path.basename(os.path.normpath(os.path.join(folder, target)))
        found.setdefault(tty, link)
    return found


def _text(entry: Any, attr: str) -> str | None:
    value = getattr(entry, attr, None)
    if value is None or value == "":
        return None
    return str(value)


def _description(entry: Any, tty: str) -> str:
    text = _text(entry, "description")
    return tty if text is None or text == "n/a" else text


def adapter_from_entry(entry: Any, by_id: Mapping[str, str] | None = None,
                       by_path: Mapping[str, str] | None = None) -> Adapter:
    """Build an :class:`Adapter` from one pyserial ``ListPortInfo``.

    Args:
        entry: an object with pyserial's ``ListPortInfo`` attributes.
        by_id: tty name -> ``/dev/serial/by-id`` link, as found on the system.
        by_path: tty name -> ``/dev/serial/by-path`` link.
    """
    device = str(entry.device)
    tty = os.path.basename(device)
    path, interface = _split_location(_text(entry, "location"))
    vid = getattr(entry, "vid", None)
    pid = getattr(entry, "pid", None)
    return Adapter(
        device=device,
        by_id=(by_id or {}).get(tty),
        by_path=(by_path or {}).get(tty),
        vid=int(vid) if vid is not None else None,
        pid=int(pid) if pid is not None else None,
        serial_number=_text(entry, "serial_number"),
        manufacturer=_text(entry, "manufacturer"),
        product=_text(entry, "product"),
        location=path,
        interface=interface,
        description=_description(entry, tty),
    )


def _natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in _NUMBER.split(text)]


def list_adapters(entries: Iterable[Any] | None = None, dev_root: str = "/dev") -> list[Adapter]:
    """The serial adapters on this machine, sorted by device name.

    Args:
        entries: pyserial ``ListPortInfo`` entries; None asks
            ``serial.tools.list_ports.comports()``.
        dev_root: where to look for ``serial/by-id`` and ``serial/by-path``.
    """
    if entries is None:
        from serial.tools import list_ports

        entries = list_ports.comports()
    by_id = _link_map(dev_root, "by-id")
    by_path = _link_map(dev_root, "by-path")
    adapters = [adapter_from_entry(entry, by_id, by_path) for entry in entries]
    return sorted(adapters, key=lambda a: _natural_key(a.device))


def entries_from_records(records: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Rebuild pyserial ``ListPortInfo`` entries from recorded dicts (tests, bug reports).

    Each record holds the entry's attributes (``device``, ``vid``, ``serial_number``...);
    ``vid`` and ``pid`` may be ints or hex strings.
    """
    from serial.tools.list_ports_common import ListPortInfo

    entries = []
    for record in records:
        entry = ListPortInfo(str(record["device"]), skip_link_detection=True)
        for attr in _ENTRY_FIELDS[1:]:
            if attr in record:
                value = record[attr]
                if attr in ("vid", "pid") and isinstance(value, str):
                    value = int(value, 16)
                setattr(entry, attr, value)
        entries.append(entry)
    return entries


def matching_adapters(selector: Selector, adapters: Iterable[Adapter]) -> list[Adapter]:
    """Every adapter that ``selector`` matches, in the order given."""
    return [adapter for adapter in adapters if selector.matches(adapter)]


def resolve_device(spec: str, adapters: list[Adapter] | None = None) -> str:
    """The device path of the one adapter that a ``usb:`` selector names.

    Args:
        spec: a selector such as ``usb:serial=A1B2C3``.
        adapters: the adapters to choose from; None lists this machine's.

    Returns:
        The matching adapter's device path, e.g. ``/dev/ttyUSB2``.

    Raises:
        SelectorError: the selector is malformed.
        NoAdapterMatches: no adapter matches (the device is missing).
        AmbiguousSelector: two or more adapters match; the message names them.
    """
    selector = parse_selector(spec)
    found = matching_adapters(selector, list_adapters() if adapters is None else adapters)
    if not found:
        raise NoAdapterMatches(f"no adapter matches {spec}")
    if len(found) > 1:
        names = ", ".join(a.device for a in found)
        raise AmbiguousSelector(f"{spec} matches {len(found)} adapters ({names}): "
                                f"add serial=, interface= or path= to tell them apart")
    return found[0].device
