"""A read-only view of the host that ``serial-bridge doctor`` examines.

Every probe of the doctor asks this view, never the system directly, so the
tests run the same probes against recorded system state laid out in a
temporary directory (``root``): ``etc/group``, ``proc/<pid>/comm`` and
``proc/<pid>/fd/*``, ``var/lock/LCK..*``, ``boot/firmware/cmdline.txt``,
``etc/systemd/system/*.wants/*``, ``etc/udev/rules.d/*.rules`` and ``dev/``.
Paths given to and returned by the view are system paths (``/dev/ttyUSB0``);
the view maps them under ``root``. Symlinks inside ``root`` should be
relative, as udev makes them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bridge.device.adapters import Adapter, list_adapters

RULES_DIRS = ("/etc/udev/rules.d", "/run/udev/rules.d", "/lib/udev/rules.d", "/usr/lib/udev/rules.d")


@dataclass(frozen=True, slots=True)
class Group:
    """One line of /etc/group."""

    name: str
    gid: int
    members: tuple[str, ...]


def systemctl_state(unit: str) -> str | None:
    """``systemctl is-active UNIT`` (``active``, ``inactive``...), or None without systemd."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    try:
        done = subprocess.run([systemctl, "is-active", unit], capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    state = done.stdout.strip()
    return state or None


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return os.environ.get("USER", str(uid))


@dataclass
class SystemView:
    """The host as the doctor sees it: files under ``root``, who we are, services, adapters.

    Attributes:
        root: where the system's files are (``/`` for the real machine).
        uid: the user id the bridge runs as.
        user: that user's name.
        gids: the groups this login session has (the ones that count for opening a device).
        own_pid: a process to leave out of "who has the device open" (ourselves).
        service_state: unit name -> ``systemctl is-active`` answer, or None when unknown.
        adapters: the serial adapters, or None to ask pyserial (only when ``root`` is ``/``).
    """

    root: Path = Path("/")
    uid: int = field(default_factory=os.getuid)
    user: str = ""
    gids: frozenset[int] = field(default_factory=lambda: frozenset(os.getgroups()) | {os.getgid()})
    own_pid: int = field(default_factory=os.getpid)
    service_state: Callable[[str], str | None] = systemctl_state
    adapters: list[Adapter] | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not self.user:
            self.user = _user_name(self.uid)

    def path(self, system_path: str) -> Path:
        """Where ``system_path`` lives under ``root``."""
        return self.root / system_path.lstrip("/")

    def system_path(self, path: str | Path) -> str:
        """The system path of a path under ``root``."""
        relative = os.path.relpath(path, self.root)
        return "/" if relative == "." else "/" + relative

    def read_text(self, system_path: str) -> str | None:
        """A file's text, or None when it cannot be read."""
        try:
            return self.path(system_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def exists(self, system_path: str) -> bool:
        """True when the path exists (following symlinks)."""
        return self.path(system_path).exists()

    def lexists(self, system_path: str) -> bool:
        """True when the path or a symlink by that name exists."""
        return os.path.lexists(self.path(system_path))

    def resolve(self, system_path: str) -> str:
        """The system path with every symlink followed (``/dev/serial0`` -> ``/dev/ttyAMA0``)."""
        return self.system_path(os.path.realpath(self.path(system_path)))

    def glob(self, pattern: str) -> list[str]:
        """System paths matching a glob pattern, sorted."""
        return sorted(self.system_path(p) for p in glob.glob(str(self.path(pattern))))

    def stat_gid(self, system_path: str) -> int | None:
        """The group owning a file, or None when it cannot be read."""
        try:
            return self.path(system_path).stat().st_gid
        except OSError:
            return None

    def groups(self) -> list[Group]:
        """The groups of ``etc/group``."""
        text = self.read_text("/etc/group") or ""
        found = []
        for line in text.splitlines():
            parts = line.split(":")
            if len(parts) >= 4 and parts[2].isdigit():
                members = tuple(m for m in parts[3].split(",") if m)
                found.append(Group(parts[0], int(parts[2]), members))
        return found

    def group_name(self, gid: int) -> str:
        """A group's name, or its number when ``etc/group`` does not have it."""
        for group in self.groups():
            if group.gid == gid:
                return group.name
        return str(gid)

    def pids(self) -> list[int]:
        """Process ids under ``proc``."""
        try:
            names = os.listdir(self.path("/proc"))
        except OSError:
            return []
        return sorted(int(name) for name in names if name.isdigit())

    def process_name(self, pid: int) -> str:
        """A process's command name, or ``?`` when it cannot be read."""
        text = self.read_text(f"/proc/{pid}/comm")
        return text.strip() if text else "?"

    def process_args(self, pid: int) -> list[str]:
        """A process's command line (``/proc/<pid>/cmdline``), empty when it cannot be read."""
        try:
            raw = self.path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return []
        return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]

    def process_cwd(self, pid: int) -> str | None:
        """A process's working directory (a system path), or None when we may not look."""
        try:
            return os.readlink(self.path(f"/proc/{pid}/cwd"))
        except OSError:
            return None

    def pid_alive(self, pid: int) -> bool:
        """True when a process with this id exists."""
        return pid > 0 and self.path(f"/proc/{pid}").is_dir()

    def open_files(self, pid: int) -> list[str]:
        """What a process's file descriptors point at (empty when we may not look)."""
        folder = self.path(f"/proc/{pid}/fd")
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        targets = []
        for name in names:
            try:
                targets.append(os.readlink(folder / name))
            except OSError:
                continue
        return targets

    def rules_files(self) -> list[tuple[str, str]]:
        """(system path, text) of every udev rules file."""
        found = []
        for folder in RULES_DIRS:
            for path in self.glob(f"{folder}/*.rules"):
                text = self.read_text(path)
                if text is not None:
                    found.append((path, text))
        return found

    def serial_adapters(self) -> list[Adapter]:
        """The serial adapters (pyserial's list on the real machine, none for a recorded root)."""
        if self.adapters is not None:
            return self.adapters
        if self.root != Path("/"):
            return []
        return list_adapters()
