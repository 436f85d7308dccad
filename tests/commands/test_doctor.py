"""``serial-bridge doctor`` probes run against recorded system state in a temporary root."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.commands import doctor
from bridge.device.adapters import Adapter
from bridge.hardware.doctor import Finding, Level, diagnose, read_lock_pid
from bridge.hardware.system import SystemView

PI_GID = 4321  # the recorded user's own group: a gid no file of the test owns


class Host:
    """A recorded host laid out under a temporary root, and the view of it the doctor uses."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.device("/dev/ttyUSB0")
        self.gid = (root / "dev/ttyUSB0").stat().st_gid
        self.write("/etc/group", f"dialout:x:{self.gid}:\npi:x:{PI_GID}:\n")
        self.services: dict[str, str] = {}

    def write(self, path: str, text: str) -> Path:
        """Write a file at a system path under the root."""
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def device(self, path: str) -> None:
        """Create a device node stand-in (a plain file owned by our group)."""
        self.write(path, "")

    def link(self, path: str, target: str) -> None:
        """Create a symlink at a system path."""
        where = self.root / path.lstrip("/")
        where.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, where)

    def process(self, pid: int, name: str, *open_paths: str) -> None:
        """Record a process with its command name and open file descriptors."""
        self.write(f"/proc/{pid}/comm", name + "\n")
        (self.root / f"proc/{pid}/fd").mkdir(parents=True, exist_ok=True)
        for fd, path in enumerate(open_paths, start=3):
            os.symlink(path, self.root / f"proc/{pid}/fd/{fd}")

    def config(self, *devices: str) -> str:
        """A config file with one port per device; returns its path."""
        body = "".join(f'[[port]]\nname = "p{i}"\ndevice = "{d}"\nlisten = {7001 + i}\n\n'
                       for i, d in enumerate(devices))
        return str(self.write("/home/pi/bridge.toml", body))

    def view(self, gids: set[int] | None = None, uid: int = 1000,
             adapters: list[Adapter] | None = None) -> SystemView:
        """The doctor's view of this host, as user pi (uid 1000, only in group pi) unless told otherwise."""
        return SystemView(root=self.root, uid=uid, user="pi", gids=frozenset(gids or {PI_GID}),
                          own_pid=1, service_state=self.services.get, adapters=adapters or [])


@pytest.fixture
def host(tmp_path: Path) -> Host:
    """A recorded host with one adapter, /dev/ttyUSB0, owned by dialout."""
    return Host(tmp_path / "root")


def only(findings: list[Finding], check: str) -> list[Finding]:
    """The findings of one check."""
    return [f for f in findings if f.check == check]


def test_configured_device_that_is_missing_warns(host: Host) -> None:
    """A configured path that is not there is a WARN naming the port; a present one is OK."""
    findings = only(diagnose(host.view(), host.config("/dev/ttyUSB0", "/dev/ttyUSB3")), "present")
    assert findings == [Finding("present", Level.WARN, "/dev/ttyUSB3 is not present (port p1)",
                                "plug the adapter in; serial-bridge ports lists what is there")]
    assert only(diagnose(host.view(), host.config("/dev/ttyUSB0")), "present") == [
        Finding("present", Level.OK, "1 serial device(s) to examine")]


def test_user_not_in_dialout_fails_with_usermod_fix(host: Host) -> None:
    """A user outside the group owning the device gets FAIL and the usermod line."""
    findings = only(diagnose(host.view()), "group")
    assert findings == [Finding("group", Level.FAIL, "pi is not in dialout, which owns /dev/ttyUSB0",
                                "sudo usermod -aG dialout pi, then log out and in again")]


def test_user_in_dialout_is_ok(host: Host) -> None:
    """A login that has the device's group is OK."""
    assert only(diagnose(host.view(gids={PI_GID, host.gid})), "group")[0].level is Level.OK


def test_user_added_but_not_logged_in_again_warns(host: Host) -> None:
    """Listed in /etc/group but missing from this login: WARN, log in again."""
    host.write("/etc/group", f"dialout:x:{host.gid}:pi\npi:x:{PI_GID}:\n")
    finding = only(diagnose(host.view()), "group")[0]
    assert finding.level is Level.WARN
    assert finding.fix == "log out and in again (or run: newgrp dialout)"


def test_root_needs_no_group(host: Host) -> None:
    """Running as root is OK for the group check."""
    assert only(diagnose(host.view(uid=0)), "group")[0].level is Level.OK


def test_modem_manager_service_active_warns(host: Host) -> None:
    """An active ModemManager unit gives WARN with the disable command."""
    host.services["ModemManager"] = "active"
    finding = only(diagnose(host.view()), "ModemManager")[0]
    assert finding.level is Level.WARN
    assert finding.detail.endswith("writes AT commands to them (/dev/ttyUSB0)")
    assert finding.fix.startswith("sudo systemctl disable --now ModemManager")


def test_modem_manager_process_is_found_without_systemd(host: Host) -> None:
    """A process named ModemManager counts as running even when systemctl cannot tell."""
    host.process(77, "ModemManager")
    assert only(diagnose(host.view()), "ModemManager")[0].level is Level.WARN


def test_modem_manager_told_to_ignore_is_ok(host: Host) -> None:
    """ModemManager running with ID_MM_DEVICE_IGNORE rules is OK."""
    host.services["ModemManager"] = "active"
    host.write("/etc/udev/rules.d/99-mm.rules", 'ATTRS{idVendor}=="0403", ENV{ID_MM_DEVICE_IGNORE}="1"\n')
    assert only(diagnose(host.view()), "ModemManager")[0].level is Level.OK


def test_modem_manager_stopped_is_ok(host: Host) -> None:
    """No ModemManager unit or process: OK."""
    host.services["ModemManager"] = "inactive"
    assert only(diagnose(host.view()), "ModemManager") == [Finding("ModemManager", Level.OK, "not running")]


def test_live_lock_file_fails_naming_the_program(host: Host) -> None:
    """A UUCP lock of a live PID names the PID and the program."""
    host.write("/var/lock/LCK..ttyUSB0", "      4242\n")
    host.process(4242, "minicom")
    findings = only(diagnose(host.view(), host.config("/dev/ttyUSB0")), "in use")
    assert Finding("in use", Level.FAIL,
                   "/dev/ttyUSB0 is locked by PID 4242 (minicom) through /var/lock/LCK..ttyUSB0",
                   "stop that program (kill 4242) or use another device") in findings


def test_stale_lock_file_warns_with_rm(host: Host) -> None:
    """A lock of a dead PID is stale: WARN and the rm line."""
    host.write("/var/lock/LCK..ttyUSB0", "      9999\n")
    assert only(diagnose(host.view(), host.config("/dev/ttyUSB0")), "in use") == [
        Finding("in use", Level.WARN, "/var/lock/LCK..ttyUSB0 is stale (PID 9999 is gone)",
                "sudo rm /var/lock/LCK..ttyUSB0")]


def test_open_file_descriptor_through_udev_name_fails(host: Host) -> None:
    """A process holding the real device open is found for a port configured by its udev name."""
    host.link("/dev/serial-bridge/rtr1", "../ttyUSB0")
    host.write("/etc/udev/rules.d/99-serial-bridge.rules", 'SUBSYSTEM=="tty", SYMLINK+="serial-bridge/rtr1"\n')
    host.process(555, "screen", "/dev/pts/3", "/dev/ttyUSB0")
    findings = only(diagnose(host.view(gids={host.gid}), host.config("/dev/serial-bridge/rtr1")), "in use")
    assert findings == [Finding("in use", Level.FAIL, "/dev/serial-bridge/rtr1 is open in PID 555 (screen)",
                                "stop that program (kill 555) or use another device")]


def test_lock_in_the_ports_lock_dir_is_read(host: Host) -> None:
    """A port's lock_dir is where its lock is looked for, binary PIDs included."""
    path = host.write("/home/pi/bridge.toml",
                      '[[port]]\nname = "a"\ndevice = "/dev/ttyUSB0"\nlisten = 7001\nlock_dir = "/run/lock"\n')
    (host.root / "run/lock").mkdir(parents=True)
    (host.root / "run/lock/LCK..ttyUSB0").write_bytes((4242).to_bytes(4, "little"))
    host.process(4242, "cu")
    findings = only(diagnose(host.view(), path), "in use")
    assert findings[0].detail == "/dev/ttyUSB0 is locked by PID 4242 (cu) through /run/lock/LCK..ttyUSB0"


def test_free_device_is_ok(host: Host) -> None:
    """No lock and no holder: OK."""
    assert only(diagnose(host.view(), host.config("/dev/ttyUSB0")), "in use")[0].level is Level.OK


def test_pi_console_on_uart_in_use_fails(host: Host) -> None:
    """console=serial0 in cmdline.txt and an enabled serial getty fail when the port uses the UART."""
    host.device("/dev/ttyS0")
    host.link("/dev/serial0", "ttyS0")
    host.write("/boot/firmware/cmdline.txt", "console=serial0,115200 console=tty1 root=PARTUUID=1 rootwait\n")
    host.link("/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service",
              "/lib/systemd/system/serial-getty@.service")
    findings = only(diagnose(host.view(), host.config("/dev/serial0")), "UART console")
    assert [f.level for f in findings] == [Level.FAIL, Level.FAIL]
    assert findings[0].detail == ("/boot/firmware/cmdline.txt puts the kernel console on the UART "
                                  "(console=serial0,115200)")
    assert "remove console=serial0,115200 from /boot/firmware/cmdline.txt" in findings[0].fix
    assert findings[1].fix == "sudo systemctl disable --now serial-getty@ttyS0.service"


def test_pi_console_with_only_usb_ports_warns(host: Host) -> None:
    """The UART console is only a warning when no configured port uses the UART."""
    host.write("/boot/cmdline.txt", "console=ttyAMA0,115200 root=/dev/mmcblk0p2\n")
    findings = only(diagnose(host.view(), host.config("/dev/ttyUSB0")), "UART console")
    assert [(f.level, f.detail) for f in findings] == [
        (Level.WARN, "/boot/cmdline.txt puts the kernel console on the UART (console=ttyAMA0,115200)")]


def test_no_uart_console_is_ok(host: Host) -> None:
    """A cmdline with only tty1 is OK."""
    host.write("/boot/firmware/cmdline.txt", "console=tty1 root=PARTUUID=1\n")
    assert only(diagnose(host.view()), "UART console")[0].level is Level.OK


def test_configured_udev_name_without_rule_fails(host: Host) -> None:
    """A /dev/serial-bridge name that no rule provides fails with the udev command as fix."""
    findings = only(diagnose(host.view(), host.config("/dev/serial-bridge/sw1")), "udev names")
    assert findings[0].level is Level.FAIL
    assert findings[0].detail == "no udev rule provides /dev/serial-bridge/sw1"
    assert findings[0].fix.startswith("serial-bridge udev --name sw1=DEVICE | sudo tee -a")


def test_udev_rule_present_but_device_unplugged_warns(host: Host) -> None:
    """A rule names the device but it is absent: WARN to plug it in."""
    host.write("/lib/udev/rules.d/99-serial-bridge.rules",
               '# SYMLINK+="serial-bridge/old"\nSUBSYSTEM=="tty", SYMLINK+="serial-bridge/sw1 console"\n')
    findings = only(diagnose(host.view(), host.config("/dev/serial-bridge/sw1")), "udev names")
    assert findings == [Finding("udev names", Level.WARN,
                                "/lib/udev/rules.d/99-serial-bridge.rules names /dev/serial-bridge/sw1, "
                                "but it is not there",
                                "plug the adapter in; after editing rules: sudo udevadm control "
                                "--reload-rules && sudo udevadm trigger")]


def test_selectors_resolve_against_adapters(host: Host) -> None:
    """A usb: selector that matches nothing fails; one that matches is OK and its device is checked."""
    adapters = [Adapter(device="/dev/ttyUSB0", vid=0x0403, pid=0x6001, serial_number="A1")]
    findings = diagnose(host.view(adapters=adapters), host.config("usb:serial=A1", "usb:serial=B2", "loop://"))
    assert only(findings, "selector p0") == [Finding("selector p0", Level.OK, "usb:serial=A1 is /dev/ttyUSB0")]
    assert only(findings, "selector p1")[0].detail == "no adapter matches usb:serial=B2"
    assert only(findings, "in use")[0].detail == "no lock or other program on 1 device(s)"


def test_broken_config_fails_but_host_checks_go_on(host: Host) -> None:
    """A config with an unknown key is one FAIL pointing at check; its devices are still examined."""
    path = host.write("/home/pi/bad.toml", '[[port]]\nname = "a"\ndevice = "/dev/ttyUSB0"\nlisten = 7001\n'
                                           'colour = "red"\n')
    findings = diagnose(host.view(), path)
    assert findings[0].level is Level.FAIL and findings[0].check == "config"
    assert "colour" in findings[0].detail and findings[0].fix == f"serial-bridge check --config {path}"
    assert only(findings, "group")[0].detail == "pi is not in dialout, which owns /dev/ttyUSB0"


def test_command_prints_table_and_exit_code(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    """The table has RESULT, CHECK, DETAIL and FIX; any FAIL makes exit 1, none exit 0."""
    assert doctor.run(argparse.Namespace(config=None), host.view()) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["RESULT", "CHECK", "DETAIL", "FIX"]
    assert out[1].startswith("OK      present")
    assert out[2].startswith("FAIL    group")
    assert doctor.run(argparse.Namespace(config=None), host.view(gids={host.gid})) == 0


@pytest.mark.parametrize(("raw", "pid"), [(b"      4242\n", 4242), (b"4242", 4242),
                                          ((77).to_bytes(4, "little"), 77), (b"garbage!!", None)])
def test_lock_pid_formats(raw: bytes, pid: int | None) -> None:
    """ASCII and binary UUCP lock contents give the PID; anything else gives None."""
    assert read_lock_pid(raw) == pid


def test_missing_config_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config file that is not there is a usage error on one line."""
    assert main(["doctor", "--config", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("serial-bridge: error: ") and "none.toml" in err and len(err.splitlines()) == 1


def test_real_machine_doctor_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """On this very machine the doctor prints its table and exits 0 or 1, never crashing."""
    assert main(["doctor"]) in (0, 1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RESULT", "CHECK", "DETAIL", "FIX"]
    assert {line.split()[0] for line in lines[1:]} <= {"OK", "WARN", "FAIL"}


def _bridge_process(host: Host, pid: int, *args: str, cwd: str = "/home/pi") -> None:
    """Record a running serial-bridge: its command line, working directory, lock and open device."""
    host.process(pid, "serial-bridge", "/dev/ttyUSB0")
    host.write(f"/proc/{pid}/cmdline", "\0".join(args) + "\0")
    os.symlink(cwd, host.root / f"proc/{pid}/cwd")   # as the kernel shows it: a system path
    host.write("/var/lock/LCK..ttyUSB0", f"{pid:>10}\n")


@pytest.mark.parametrize("args", [
    ("/usr/bin/python3", "/usr/local/bin/serial-bridge", "serve", "--config", "/home/pi/bridge.toml"),
    ("/usr/local/bin/serial-bridge", "serve", "-c", "bridge.toml"),           # relative to its cwd
    ("python3", "-m", "bridge", "serve", "--config=/home/pi/bridge.toml"),
])
def test_the_bridge_serving_this_config_is_not_in_use(host: Host, args: tuple[str, ...]) -> None:
    """The running bridge's own lock and open device are one OK line, not FAIL "in use" (issue 13)."""
    config = host.config("/dev/ttyUSB0")
    _bridge_process(host, 3030, *args)
    findings = only(diagnose(host.view(), config), "in use")
    assert [(f.level, f.detail) for f in findings] == [
        (Level.OK, "/dev/ttyUSB0 is held by the bridge serving this config (PID 3030, serial-bridge)")]


def test_a_bridge_serving_another_config_still_fails(host: Host) -> None:
    """Another bridge (another config) holding the device is a real conflict, said as such."""
    config = host.config("/dev/ttyUSB0")
    host.write("/etc/other.toml", "")
    _bridge_process(host, 3030, "serial-bridge", "serve", "--config", "/etc/other.toml")
    findings = only(diagnose(host.view(), config), "in use")
    assert [(f.level, f.detail) for f in findings] == [
        (Level.FAIL, "/dev/ttyUSB0 is locked by PID 3030 (serial-bridge) through /var/lock/LCK..ttyUSB0: "
                     "another serial-bridge, serving /etc/other.toml")]


def test_a_pts_device_lock_has_the_name_the_bridge_gives_it(host: Host) -> None:
    """/dev/pts/3 is locked as LCK..pts_3 (bridge.device.lock), and doctor reads that name."""
    host.device("/dev/pts/3")
    host.write("/var/lock/LCK..pts_3", "      4242\n")
    host.process(4242, "minicom")
    findings = only(diagnose(host.view(), host.config("/dev/pts/3")), "in use")
    assert findings[0].detail == "/dev/pts/3 is locked by PID 4242 (minicom) through /var/lock/LCK..pts_3"


def test_without_a_config_doctor_examines_what_ports_lists(host: Host) -> None:
    """UAT 13: `ports` lists /dev/ttyS0 (a real UART), so doctor examines it too: the same list."""
    host.device("/dev/ttyS0")
    adapters = [Adapter(device="/dev/ttyS0"), Adapter(device="/dev/ttyUSB0")]
    findings = diagnose(host.view(adapters=adapters), None)
    assert only(findings, "present") == [Finding("present", Level.OK, "2 serial device(s) to examine")]
    assert only(findings, "in use")[0].detail == "no lock or other program on 2 device(s)"
