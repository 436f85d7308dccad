"""``serial-bridge doctor``: what silently breaks serial setups on Linux, and how to fix each.

Theory of operation: each probe is a function ``probe_x(view, targets)``
returning :class:`Finding` rows (OK, WARN or FAIL, each with a one-line fix).
Probes read the host only through a :class:`~bridge.hardware.system.SystemView`,
so tests run them on recorded system state. ``targets`` are the serial
devices that matter: the configured ports' devices (``usb:`` selectors
resolved, URLs left out), or, without a config, the adapters present: every
device ``serial-bridge ports`` lists (the same list, so a /dev/ttyS* with a
real UART is examined; the kernel's placeholder ttyS* without one are in
neither), plus the USB, AMA and serial0 names.
"""

from __future__ import annotations

import re
import struct
import tomllib
from collections.abc import Callable, Sequence
import os
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from bridge.device.adapters import SelectorError, is_selector, resolve_device
from bridge.device.lock import lock_name_of_real_path
from bridge.errors import UserError
from bridge.hardware.system import SystemView

UDEV_DIR = "/dev/serial-bridge/"
PI_UARTS = ("serial0", "ttyAMA0", "ttyS0")
CMDLINE_FILES = ("/boot/firmware/cmdline.txt", "/boot/cmdline.txt")
_AUTO_DEVICES = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyAMA*", "/dev/serial0")
_SYMLINK = re.compile(r'SYMLINK\+?=\s*"([^"]*)"')
_RELOAD = "sudo udevadm control --reload-rules && sudo udevadm trigger"


class Level(StrEnum):
    """How bad a finding is."""

    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Finding:
    """One row of the doctor's table."""

    check: str
    level: Level
    detail: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """A serial device the doctor looks at: the port's name, what was configured, the path."""

    name: str
    spec: str
    device: str
    lock_dir: str = "/var/lock"
    config: str | None = None   # the config file doctor was given (its own path), if any


@dataclass(frozen=True, slots=True)
class ConfiguredPort:
    """The parts of a configured port the doctor needs."""

    name: str
    device: str
    lock_dir: str = "/var/lock"


def configured_ports(path: str) -> tuple[list[ConfiguredPort], list[Finding]]:
    """The ports of a config file, and a finding when the file has problems.

    A config that does not validate is still read for its devices, so that
    the host checks go on; the finding points at ``serial-bridge check``.

    Raises:
        UserError: the file cannot be read or is not TOML (one line).
    """
    from bridge.config import ConfigError, load_config

    try:
        config = load_config(path)
    except ConfigError as exc:
        problem = str(exc.problems[0]) if exc.problems else str(exc)
        ports = _raw_ports(path)
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        return ports, [Finding("config", Level.FAIL, problem + more, f"serial-bridge check --config {path}")]
    ports = [ConfiguredPort(p.name, p.device, p.lock_dir) for p in config.ports]
    return ports, [Finding("config", Level.OK, f"{path}: {len(ports)} port(s)")]


def _raw_ports(path: str) -> list[ConfiguredPort]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path}: cannot read config: {exc}") from None
    section = data.get("bridge")
    bridge: dict[str, Any] = section if isinstance(section, dict) else {}
    ports = []
    for index, port in enumerate(p for p in data.get("port", []) if isinstance(p, dict)):
        device = port.get("device", bridge.get("device"))
        if isinstance(device, str):
            lock_dir = port.get("lock_dir", bridge.get("lock_dir", "/var/lock"))
            ports.append(ConfiguredPort(str(port.get("name", f"#{index + 1}")), device, str(lock_dir)))
    return ports


def find_targets(view: SystemView, ports: Sequence[ConfiguredPort] | None) -> tuple[list[Target], list[Finding]]:
    """The devices to examine, and findings for selectors that resolve to none or several."""
    if ports is None:   # what `serial-bridge ports` lists (/dev/ttyS* with a UART behind it too), and more
        devices = [a.device for a in view.serial_adapters()]
        devices += [d for pattern in _AUTO_DEVICES for d in view.glob(pattern)]
        return [Target("-", d, d) for d in dict.fromkeys(devices)], []
    targets, findings = [], []
    for port in ports:
        if "://" in port.device:
            continue  # a pyserial URL: nothing on this host to examine
        if is_selector(port.device):
            try:
                device = resolve_device(port.device, view.serial_adapters())
            except SelectorError as exc:
                findings.append(Finding(f"selector {port.name}", Level.FAIL, str(exc),
                                        "plug the adapter in, or fix the selector (see: serial-bridge ports)"))
                continue
            findings.append(Finding(f"selector {port.name}", Level.OK, f"{port.device} is {device}"))
            targets.append(Target(port.name, port.device, device, port.lock_dir))
        else:
            targets.append(Target(port.name, port.device, port.device, port.lock_dir))
    return targets, findings


def probe_present(view: SystemView, targets: Sequence[Target]) -> list[Finding]:
    """Each device to examine is there (``/dev/serial-bridge`` names are the udev check's)."""
    missing = [t for t in targets if not t.device.startswith(UDEV_DIR) and not view.exists(t.device)]
    findings = [Finding("present", Level.WARN, f"{t.spec} is not present (port {t.name})",
                        "plug the adapter in; serial-bridge ports lists what is there") for t in missing]
    return findings or [Finding("present", Level.OK, f"{len(targets)} serial device(s) to examine")]


def probe_group(view: SystemView, targets: Sequence[Target]) -> list[Finding]:
    """The user is in the group owning each serial device (usually dialout)."""
    if view.uid == 0:
        return [Finding("group", Level.OK, "running as root: every device can be opened")]
    owners: dict[int, str] = {}
    for target in targets:
        gid = view.stat_gid(target.device)
        if gid is not None:
            owners.setdefault(gid, target.device)
    if not owners:
        dialout = next((g for g in view.groups() if g.name == "dialout"), None)
        if dialout is None:
            return [Finding("group", Level.OK, "no serial devices present and no dialout group")]
        owners[dialout.gid] = "serial devices (none present now)"
    return [_group_finding(view, gid, device) for gid, device in sorted(owners.items())]


def _group_finding(view: SystemView, gid: int, device: str) -> Finding:
    name = view.group_name(gid)
    if gid in view.gids:
        return Finding("group", Level.OK, f"{view.user} is in {name}, which owns {device}")
    listed = any(g.gid == gid and view.user in g.members for g in view.groups())
    if listed:
        return Finding("group", Level.WARN,
                       f"{view.user} was added to {name} (owner of {device}) but this login does not have it yet",
                       f"log out and in again (or run: newgrp {name})")
    return Finding("group", Level.FAIL, f"{view.user} is not in {name}, which owns {device}",
                   f"sudo usermod -aG {name} {view.user}, then log out and in again")


def _modem_manager_running(view: SystemView) -> bool:
    if view.service_state("ModemManager") == "active":
        return True
    return any(view.process_name(pid) == "ModemManager" for pid in view.pids())


def probe_modem_manager(view: SystemView, targets: Sequence[Target]) -> list[Finding]:
    """ModemManager is not left probing ttyACM/ttyUSB devices."""
    if not _modem_manager_running(view):
        return [Finding("ModemManager", Level.OK, "not running")]
    if any("ID_MM_DEVICE_IGNORE" in text for _, text in view.rules_files()):
        return [Finding("ModemManager", Level.OK, "running, but udev rules set ID_MM_DEVICE_IGNORE")]
    usb = [t.device for t in targets if re.search(r"tty(ACM|USB)\d+$", view.resolve(t.device))]
    detail = "running: it opens new ttyACM/ttyUSB devices and writes AT commands to them"
    if usb:
        detail += f" ({', '.join(usb)})"
    return [Finding("ModemManager", Level.WARN, detail,
                    'sudo systemctl disable --now ModemManager, or udev rules setting '
                    'ENV{ID_MM_DEVICE_IGNORE}="1" (see udev/99-serial-bridge.rules)')]


def read_lock_pid(text: bytes) -> int | None:
    """The PID in a UUCP lock file: ASCII (``"      1234\\n"``) or a 4-byte binary int."""
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    if len(text) == 4:
        return int(struct.unpack("=i", text)[0])
    return None


def bridge_config(view: SystemView, pid: int) -> str | None:
    """For a running serial-bridge (``serve`` or ``demo``), its ``--config`` as a path
    on this host ("" when it names none); None when the process is not a bridge."""
    args = view.process_args(pid)
    names = [os.path.basename(a) for a in args[:2]]
    module = args[args.index("-m") + 1] if "-m" in args[:-1] else ""
    if "serial-bridge" not in names and module != "bridge":
        return None
    if "serve" not in args and "demo" not in args:
        return None
    config = ""
    for index, arg in enumerate(args):
        if arg in ("--config", "-c") and index + 1 < len(args):
            config = args[index + 1]
        elif arg.startswith("--config="):
            config = arg.split("=", 1)[1]
    if config and not config.startswith("/"):
        config = os.path.join(view.process_cwd(pid) or "/", config)
    return config


def _same_file(view: SystemView, system_path: str, ours: str) -> bool:
    """Whether a path a process named (a system path) is our config file (a path here)."""
    try:
        return os.path.samefile(view.path(system_path), ours)
    except OSError:
        return False


def _holder_finding(view: SystemView, target: Target, pid: int, how: str) -> Finding:
    """``how``: "is locked by PID N (prog) through LOCK" or "is open in PID N (prog)";
    the bridge serving this very config is no problem (issue 13)."""
    theirs = bridge_config(view, pid)
    if theirs is not None and (target.config is None or (theirs and _same_file(view, theirs, target.config))):
        served = "this config" if target.config is not None else "its config"
        return Finding("in use", Level.OK, f"{target.spec} is held by the bridge serving {served} "
                       f"(PID {pid}, {view.process_name(pid)})")
    detail = f"{target.spec} {how}"
    if theirs is not None:
        detail += f": another serial-bridge, serving {theirs or 'no config file'}"
    return Finding("in use", Level.FAIL, detail, f"stop that program (kill {pid}) or use another device")


def _lock_finding(view: SystemView, target: Target, device: str) -> tuple[int | None, Finding | None]:
    """The PID holding the device's UUCP lock (when alive), and what to say about the lock."""
    lock = f"{target.lock_dir.rstrip('/')}/{lock_name_of_real_path(device)}"
    try:
        raw = view.path(lock).read_bytes()
    except OSError:
        return None, None
    pid = read_lock_pid(raw)
    if pid is not None and pid != view.own_pid and view.pid_alive(pid):
        how = f"is locked by PID {pid} ({view.process_name(pid)}) through {lock}"
        return pid, _holder_finding(view, target, pid, how)
    if pid is None or not view.pid_alive(pid):
        return None, Finding("in use", Level.WARN, f"{lock} is stale (PID {pid} is gone)", f"sudo rm {lock}")
    return None, None


def probe_in_use(view: SystemView, targets: Sequence[Target]) -> list[Finding]:
    """No other program holds a device: a UUCP lock with a live PID, or an open file descriptor.

    A running serial-bridge serving the config being checked holds its devices
    by design: that is OK, once per device.
    """
    findings = []
    holders = {pid: view.open_files(pid) for pid in view.pids() if pid != view.own_pid}
    for target in targets:
        device = view.resolve(target.device)
        locker, lock = _lock_finding(view, target, device)
        if lock is not None:
            findings.append(lock)
        for pid, files in holders.items():
            if pid != locker and (device in files or target.device in files):
                findings.append(_holder_finding(view, target, pid, f"is open in PID {pid} ({view.process_name(pid)})"))
    if not findings:
        findings.append(Finding("in use", Level.OK,
                                f"no lock or other program on {len(targets)} device(s)"))
    return findings


def _uses_pi_uart(view: SystemView, targets: Sequence[Target]) -> bool:
    names = {f"/dev/{name}" for name in PI_UARTS}
    names |= {view.resolve(f"/dev/{name}") for name in PI_UARTS if view.lexists(f"/dev/{name}")}
    return any(t.device in names or view.resolve(t.device) in names for t in targets)


def probe_pi_console(view: SystemView, targets: Sequence[Target]) -> list[Finding]:
    """The Raspberry Pi's login console is not on its UART (kernel console or serial getty)."""
    level = Level.FAIL if _uses_pi_uart(view, targets) else Level.WARN
    findings = []
    for path in CMDLINE_FILES:
        text = view.read_text(path)
        consoles = re.findall(r"console=((?:serial\d|ttyAMA\d|ttyS\d)[^\s]*)", text or "")
        if consoles:
            findings.append(Finding("UART console", level,
                                    f"{path} puts the kernel console on the UART (console={consoles[0]})",
                                    "sudo raspi-config: Interface Options, Serial Port: login shell No, "
                                    f"hardware Yes (or remove console={consoles[0]} from {path}), then reboot"))
            break
    for name in PI_UARTS:
        unit = f"serial-getty@{name}.service"
        wants = [f"/etc/systemd/system/{t}.wants/{unit}" for t in ("getty.target", "multi-user.target")]
        if any(view.lexists(w) for w in wants):
            findings.append(Finding("UART console", level, f"{unit} is enabled: a login prompt answers on it",
                                    f"sudo systemctl disable --now {unit}"))
    return findings or [Finding("UART console", Level.OK, "no login console on a UART")]


def udev_names(view: SystemView) -> dict[str, str]:
    """``/dev/<symlink>`` -> rules file, for every SYMLINK a udev rule adds."""
    names: dict[str, str] = {}
    for path, text in view.rules_files():
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            for value in _SYMLINK.findall(line):
                for link in value.split():
                    names.setdefault(f"/dev/{link}", path)
    return names


def probe_udev_names(view: SystemView, targets: Sequence[Target]) -> list[Finding]:
    """Each configured ``/dev/serial-bridge/<name>`` is provided by a udev rule."""
    wanted = [t for t in targets if t.device.startswith(UDEV_DIR)]
    if not wanted:
        return [Finding("udev names", Level.OK, "no /dev/serial-bridge/ names configured")]
    provided = udev_names(view)
    findings = []
    for target in wanted:
        name = target.device[len(UDEV_DIR):]
        if target.device not in provided:
            findings.append(Finding("udev names", Level.FAIL, f"no udev rule provides {target.device}",
                                    f"serial-bridge udev --name {name}=DEVICE | sudo tee -a "
                                    f"/etc/udev/rules.d/99-serial-bridge.rules; {_RELOAD}"))
        elif not view.exists(target.device):
            findings.append(Finding("udev names", Level.WARN,
                                    f"{provided[target.device]} names {target.device}, but it is not there",
                                    f"plug the adapter in; after editing rules: {_RELOAD}"))
        else:
            findings.append(Finding("udev names", Level.OK,
                                    f"{target.device} is provided by {provided[target.device]}"))
    return findings


PROBES: tuple[Callable[[SystemView, Sequence[Target]], list[Finding]], ...] = (
    probe_present, probe_group, probe_modem_manager, probe_in_use, probe_pi_console, probe_udev_names)


def diagnose(view: SystemView, config: str | Path | None = None) -> list[Finding]:
    """Every finding about the host (and the config's devices, when a config is given).

    Raises:
        UserError: the config file cannot be read at all.
    """
    findings: list[Finding] = []
    ports = None
    if config is not None:
        ports, findings = configured_ports(str(config))
    targets, selector_findings = find_targets(view, ports)
    if config is not None:
        targets = [replace(t, config=str(config)) for t in targets]
    findings.extend(selector_findings)
    for probe in PROBES:
        findings.extend(probe(view, targets))
    return findings
