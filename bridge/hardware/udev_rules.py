"""udev rules that pin serial adapters to ``/dev/serial-bridge/<name>``.

A rule is keyed on what identifies the adapter for good: its USB vendor and
product ids and serial number (plus ``ENV{ID_USB_INTERFACE_NUM}`` on chips
with several ports), or, for adapters without a serial number (CH340,
PL2303) or whose serial number another adapter shares, on the physical USB
port (``KERNELS=="1-1.4"``). A UART that is not on USB is keyed on its
kernel name. ``ID_USB_INTERFACE_NUM`` is set by the system's 60-serial.rules,
so these rules belong in a file sorted after it (99-serial-bridge.rules).
"""

from __future__ import annotations

import importlib.resources
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bridge import __version__
from bridge.device.adapters import Adapter, is_selector, resolve_device
from bridge.errors import UserError

SYMLINK_DIR = "serial-bridge"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
_GROUP_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_MODE_PATTERN = re.compile(r"^0?[0-7]{3}$")
_SLUG = re.compile(r"[^A-Za-z0-9]+")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# The repository's udev/ folder, installed inside the package (pyproject.toml).
RULES_PACKAGE = "bridge._udev"
EXAMPLE_RULES = "99-serial-bridge.rules"


def example_rules() -> str:
    """The shipped, commented example rules file (``udev/99-serial-bridge.rules``), as text.

    Read from the installed package ``bridge._udev``, else from the checkout's ``udev/``.
    """
    try:
        folder = importlib.resources.files(RULES_PACKAGE)
    except ModuleNotFoundError:
        return (Path(__file__).resolve().parents[2] / "udev" / EXAMPLE_RULES).read_text(encoding="utf-8")
    return folder.joinpath(EXAMPLE_RULES).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Access:
    """Who may open the pinned devices: udev's GROUP and MODE."""

    group: str = "dialout"
    mode: str = "0660"


def check_access(group: str, mode: str) -> Access:
    """Validate ``--group`` and ``--mode``; raise UserError with one line when wrong."""
    if not _GROUP_PATTERN.match(group):
        raise UserError(f"bad group {group!r}: expected a group name such as dialout")
    if not _MODE_PATTERN.match(mode):
        raise UserError(f"bad mode {mode!r}: expected octal permissions such as 0660")
    return Access(group=group, mode=mode if len(mode) == 4 else "0" + mode)


def _same_identity(adapter: Adapter, adapters: Sequence[Adapter]) -> int:
    key = (adapter.vid, adapter.pid, adapter.serial_number, adapter.interface)
    return Counter((a.vid, a.pid, a.serial_number, a.interface) for a in adapters)[key]


def match_keys(adapter: Adapter, adapters: Sequence[Adapter]) -> tuple[list[str], str]:
    """The udev match keys for ``adapter`` and a note on what they rely on.

    Raises:
        UserError: the adapter has nothing stable to key a rule on.
    """
    if not adapter.is_usb:
        return [f'KERNEL=="{os.path.basename(adapter.device)}"'], "kernel name (not a USB adapter)"
    keys = [f'ATTRS{{idVendor}}=="{adapter.vid:04x}"', f'ATTRS{{idProduct}}=="{adapter.pid:04x}"']
    unique_serial = adapter.serial_number is not None and _same_identity(adapter, adapters) == 1
    if unique_serial:
        keys.append(f'ATTRS{{serial}}=="{adapter.serial_number}"')
        note = f"serial number {adapter.serial_number}"
    elif adapter.location is not None:
        keys.append(f'KERNELS=="{adapter.location}"')
        why = "no serial number" if adapter.serial_number is None else "serial number shared"
        note = f"USB port {adapter.location} ({why}: keep it plugged into that port)"
    else:
        raise UserError(f"{adapter.device} has no serial number and no USB location: "
                        "nothing stable to write a rule for")
    if adapter.interface is not None:
        keys.append(f'ENV{{ID_USB_INTERFACE_NUM}}=="{adapter.interface:02x}"')
        note += f", interface {adapter.interface}"
    return keys, note


def rule_for(name: str, adapter: Adapter, adapters: Sequence[Adapter], access: Access) -> str:
    """A comment line and one rule giving ``adapter`` the name ``/dev/serial-bridge/<name>``."""
    keys, note = match_keys(adapter, adapters)
    what = " ".join(x for x in (adapter.manufacturer, adapter.product) if x) or adapter.description
    actions = [f'SYMLINK+="{SYMLINK_DIR}/{name}"', f'GROUP="{access.group}"', f'MODE="{access.mode}"']
    return (f"# {name}: {adapter.device} {what}, keyed on {note}\n"
            + ", ".join(['SUBSYSTEM=="tty"', *keys, *actions]))


def suggested_name(adapter: Adapter, adapters: Sequence[Adapter] = ()) -> str:
    """A name made from who the adapter is: ``ftdi-A50285BI``, ``1a86-port-1-1.3``, ``ftdi-X-if1``.

    The interface number is added when another adapter of ``adapters`` sits on the same USB port.
    """
    vendor = (adapter.manufacturer or "").split(" ")[0]
    prefix = _SLUG.sub("", vendor).lower() or f"{adapter.vid or 0:04x}"
    ident = _NAME_UNSAFE.sub("-", adapter.serial_number or f"port-{adapter.location}").strip("-")
    name = f"{prefix}-{ident}"
    siblings = [a for a in adapters if a.location == adapter.location and a.device != adapter.device]
    if adapter.interface is not None and siblings:
        name += f"-if{adapter.interface}"
    return name


def find_adapter(device: str, adapters: Sequence[Adapter]) -> Adapter:
    """The adapter that ``device`` (a /dev path, a by-id/by-path link or a usb: selector) names.

    Raises:
        UserError: no listed adapter is at that path (or the selector fails).
    """
    if is_selector(device):
        device = resolve_device(device, list(adapters))
    real = os.path.realpath(device)
    for adapter in adapters:
        if device in (adapter.device, adapter.by_id, adapter.by_path) or real == adapter.device:
            return adapter
    raise UserError(f"no serial adapter at {device} (see: serial-bridge ports)")


def parse_name(text: str) -> tuple[str, str]:
    """Split a ``NAME=DEVICE`` argument; raise UserError with one line when malformed."""
    name, sep, device = text.partition("=")
    if not sep or not device:
        raise UserError(f"bad --name {text!r}: expected NAME=DEVICE, e.g. rtr1=/dev/ttyUSB0")
    if not NAME_PATTERN.match(name):
        raise UserError(f"bad name {name!r} in --name {text}: use letters, digits, '_', '.' and '-'")
    return name, device


def choose(names: Sequence[str], adapters: Sequence[Adapter]) -> list[tuple[str, Adapter]]:
    """Pair names with adapters: the ``NAME=DEVICE`` arguments, or a made-up name for each USB adapter."""
    if names:
        pairs = [parse_name(text) for text in names]
        seen = Counter(name for name, _ in pairs)
        twice = sorted(name for name, count in seen.items() if count > 1)
        if twice:
            raise UserError(f"name {twice[0]!r} given twice in --name")
        return [(name, find_adapter(device, adapters)) for name, device in pairs]
    chosen: list[tuple[str, Adapter]] = []
    used: Counter[str] = Counter()
    for adapter in adapters:
        if not adapter.is_usb:
            continue
        name = suggested_name(adapter, adapters)
        used[name] += 1
        chosen.append((name if used[name] == 1 else f"{name}-{used[name]}", adapter))
    return chosen


def render_rules(pairs: Sequence[tuple[str, Adapter]], adapters: Sequence[Adapter],
                 access: Access, unnamed: Sequence[Adapter] = ()) -> str:
    """The whole rules file: a header saying how to install it, then one rule per pair.

    ``unnamed`` adapters (UARTs not on USB, left out when names are made up) get a comment.
    """
    lines = [
        f"# udev rules written by serial-bridge udev (serial-bridge {__version__})",
        "# Install: save as /etc/udev/rules.d/99-serial-bridge.rules (e.g. piped through sudo tee), then",
        "#          sudo udevadm control --reload-rules && sudo udevadm trigger",
        "# Check:   udevadm info --query=symlink --name=/dev/ttyUSB0",
    ]
    for adapter in unnamed:
        lines.append(f"# {adapter.device} is not on USB: name it with --name NAME={adapter.device} "
                     "if you want a rule for it")
    for name, adapter in pairs:
        lines.extend(["", rule_for(name, adapter, adapters, access)])
    return "\n".join(lines) + "\n"
