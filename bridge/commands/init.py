"""``serial-bridge init [--output FILE]``: a config for the serial adapters plugged in.

Each adapter becomes a ``[[port]]``: a USB adapter by a ``usb:`` selector
(``usb:serial=`` when its serial number is its own, with ``interface=`` on
multi-port chips; ``usb:path=`` for adapters without a serial number, or
sharing one), other UARTs by device path. Listen ports count up from 7001
in device order. A profile is set only where the USB ids say what the device
itself is (an Arduino's or a Nucleo's own USB interface); a plain USB-serial
adapter says nothing about the console behind it, so its port gets a comment
saying what to check instead. The output is TOML that ``check`` accepts.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bridge import __version__
from bridge.device.adapters import Adapter, list_adapters, matching_adapters, parse_selector

HELP = "write a config for the serial adapters plugged in (usb: selectors, listen ports from 7001)"

FIRST_LISTEN = 7001

# USB VID:PID of devices whose own USB interface is the console -> the profile for them.
# Facts: the vendors' USB ids (Arduino 2341: 0043 Uno R3, 0001 Uno, 0042 Mega 2560 R3, 0010 Mega
# 2560; STMicroelectronics 0483: 374b/3752 ST-LINK/V2-1, 374e/374f/3753/3754 STLINK-V3 virtual COM).
PROFILE_BY_USB_ID: dict[tuple[int, int], str] = {
    (0x2341, 0x0043): "arduino-uno",
    (0x2341, 0x0001): "arduino-uno",
    (0x2341, 0x0042): "arduino-mega",
    (0x2341, 0x0010): "arduino-mega",
    (0x0483, 0x374B): "stm32-nucleo",
    (0x0483, 0x3752): "stm32-nucleo",
    (0x0483, 0x374E): "stm32-nucleo",
    (0x0483, 0x374F): "stm32-nucleo",
    (0x0483, 0x3753): "stm32-nucleo",
    (0x0483, 0x3754): "stm32-nucleo",
}


@dataclass(frozen=True, slots=True)
class PortPlan:
    """One ``[[port]]`` to write: its keys and the comment lines above them."""

    name: str
    device: str
    listen: int
    profile: str | None
    comments: tuple[str, ...]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--output FILE`` and ``--force``."""
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the config to FILE (default: standard output)")
    parser.add_argument("--force", action="store_true", help="overwrite FILE when it exists")


def _toml_string(text: str) -> str:
    """A TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in escaped) + '"'


def _unique(selector: str, adapter: Adapter, adapters: Sequence[Adapter]) -> bool:
    return matching_adapters(parse_selector(selector), adapters) == [adapter]


def selector_for(adapter: Adapter, adapters: Sequence[Adapter]) -> tuple[str, str]:
    """The most stable device spec that names ``adapter`` alone, and a note on what it relies on.

    ``usb:serial=S[,interface=N]``, adding ``vid=,pid=`` when another kind of adapter has the same
    serial; else ``usb:path=P[,interface=N]``; else the device path (a UART not on USB).
    """
    if not adapter.is_usb:
        return adapter.device, ("its device path: a UART that is not on USB (on a Raspberry Pi, "
                                "/dev/serial0 names the GPIO UART)")
    ifaces = [""] if adapter.interface is None else ["", f",interface={adapter.interface}"]
    serial = adapter.serial_number
    if serial and "," not in serial and "=" not in serial:
        for spec in [f"usb:serial={serial}{i}" for i in ifaces] + [
                f"usb:vid={adapter.vid:04x},pid={adapter.pid:04x},serial={serial}{i}" for i in ifaces]:
            if _unique(spec, adapter, adapters):
                return spec, f"serial number {serial}: any USB port will do"
    if adapter.location:
        for spec in [f"usb:path={adapter.location}{i}" for i in ifaces]:
            if _unique(spec, adapter, adapters):
                why = "no serial number" if not serial else "its serial number is not its own"
                return spec, (f"USB port {adapter.location} ({why}): keep it plugged into that "
                              "port, or give it a udev name (serial-bridge udev)")
    return adapter.by_id or adapter.device, "device path: nothing unique to select it by, the path may change"


def _name(adapter: Adapter, adapters: Sequence[Adapter]) -> str:
    if not adapter.is_usb:
        return os.path.basename(adapter.device)
    from bridge.hardware.udev_rules import suggested_name

    return suggested_name(adapter, adapters)


def plan_ports(adapters: Sequence[Adapter], first_listen: int = FIRST_LISTEN) -> list[PortPlan]:
    """One port per adapter, in the order given, listening from ``first_listen`` up."""
    plans: list[PortPlan] = []
    used: Counter[str] = Counter()
    for number, adapter in enumerate(adapters):
        device, note = selector_for(adapter, adapters)
        profile = PROFILE_BY_USB_ID.get((adapter.vid or 0, adapter.pid or 0))
        name = profile or _name(adapter, adapters)
        used[name] += 1
        if used[name] > 1:
            name = f"{name}-{used[name]}"
        what = " ".join(x for x in (adapter.manufacturer, adapter.product) if x) or adapter.description
        comments = [f"{adapter.device}: {what}" + (f" ({adapter.vid_pid})" if adapter.vid_pid else ""),
                    f"selected by {note}"]
        if profile:
            comments.append(f"the USB ids identify the device itself: profile {profile}; check the baud "
                            "rate its firmware uses")
        else:
            comments.append("check: the console's baud rate and framing (default 9600 8N1);")
            comments.append("set a profile if one fits the device (serial-bridge profiles)")
        plans.append(PortPlan(name, device, first_listen + number, profile, tuple(comments)))
    return plans


def render(plans: Sequence[PortPlan]) -> str:
    """The config file's text for ``plans``."""
    lines = [
        f"# serial-bridge configuration written by `serial-bridge init` (serial-bridge {__version__}).",
        "# Check every port below, then: serial-bridge check --config THIS_FILE",
        "# Every key: docs/configuration.md. Names may be changed (letters, digits, _ . -).",
        "",
        "[bridge]",
        '# Only this machine can connect. "0.0.0.0" or "::" serves the network:',
        "# read docs/security.md first (allow lists, TLS, SSH).",
        'bind = "127.0.0.1"',
    ]
    for plan in plans:
        lines.append("")
        lines.append("[[port]]")
        lines.extend(f"# {comment}" for comment in plan.comments)
        lines.append(f"name = {_toml_string(plan.name)}")
        lines.append(f"device = {_toml_string(plan.device)}")
        lines.append(f"listen = {plan.listen}")
        if plan.profile:
            lines.append(f"profile = {_toml_string(plan.profile)}")
        else:
            lines.append("# baud = 9600")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, adapters: list[Adapter] | None = None) -> int:
    """Write the config; 0, 1 when no adapter is plugged in, 2 when FILE exists (without --force)."""
    from bridge.errors import RuntimeFailure, UserError

    found = list_adapters() if adapters is None else adapters
    if not found:
        raise RuntimeFailure("no serial adapters found (serial-bridge ports lists them; "
                             "serial-bridge doctor says why one may be missing)")
    text = render(plan_ports(found))
    output = getattr(args, "output", None)
    if not output:
        sys.stdout.write(text)
        return 0
    if os.path.exists(output) and not getattr(args, "force", False):
        raise UserError(f"{output} exists: choose another --output, or add --force to overwrite it")
    tmp = f"{output}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"wrote {output}: {len(found)} port{'s' if len(found) != 1 else ''}; "
          f"check it, then: serial-bridge check --config {output}", file=sys.stderr)
    return 0
