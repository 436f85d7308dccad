"""The configuration as frozen dataclasses: what the rest of the bridge reads.

``PortConfig`` has one field per key of ``keys.PORT_KEYS`` with the same name
and default (a test holds the two together), plus ``bind``, the ``[bridge]``
address that ``listen`` and ``listen_readonly`` use when they name no host.
Values are already checked: code that reads them need not check again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from bridge.config.alert import AlertConfig
from bridge.config.problem import Problem
from bridge.config.values import split_listen
from bridge.device.settings import LineSettings


@dataclass(frozen=True, slots=True)
class PortConfig:
    """One ``[[port]]``, merged: defaults < ``[bridge]`` < profile < the port's own keys."""

    name: str
    device: str
    listen: int | str
    mode: str = "telnet"
    profile: str | None = None
    baud: int = 9600
    bytesize: int = 8
    parity: str = "none"
    stopbits: float = 1
    flow: str = "none"
    required: bool = False
    enabled: bool = True
    break_ms: int = 250
    ip_action: str = "ctrl-c"
    dm_break: bool = False
    break_sequence: str = ""
    ec_byte: int = 8
    el_byte: int = 21
    newline: str = "crlf"
    remote_settings: str = "allow"
    restore_settings: bool = True
    dtr_on_open: str = "on"
    rts_on_open: str = "on"
    dtr_on_close: str = "keep"
    rts_on_close: str = "keep"
    hupcl: bool = True
    modem_poll_ms: int = 100
    max_connections: int = 4
    access: str = "shared"
    takeover: bool = False
    listen_readonly: int | str | None = None
    hold_open: bool = True
    history: int = 65536
    # issue 10: replay of the history at connect is opt-in.
    replay: bool = False
    log_dir: str | None = None
    log: str = "device"
    log_timestamps: bool = True
    log_max_bytes: int = 10485760
    log_keep: int = 5
    stall_timeout: float = 30.0
    idle_timeout: float = 0.0
    banner: bool = True
    connect_rate: int = 60
    exclusive: bool = True
    lock_files: bool = True
    lock_dir: str = "/var/lock"
    # -- access from the network (issue 11) --
    allow: tuple[str, ...] | None = None
    tls: bool = False
    # -- issue 14 (fleet) --
    alert: tuple[AlertConfig, ...] = ()
    bind: str = "127.0.0.1"  # from [bridge]: the host when listen names none

    @property
    def settings(self) -> LineSettings:
        """The configured line settings."""
        return LineSettings(baud=self.baud, bytesize=self.bytesize, parity=self.parity,
                            stopbits=self.stopbits, flow=self.flow)

    @property
    def listen_host(self) -> str:
        """Host the listener binds (``bind`` when ``listen`` names none)."""
        host, _ = split_listen(self.listen)
        return host if host is not None else self.bind

    @property
    def listen_port(self) -> int:
        """TCP port of the listener (0: any free port)."""
        return split_listen(self.listen)[1]

    @property
    def listen_readonly_host(self) -> str | None:
        """Host of the read-only listener, or None when there is none."""
        if self.listen_readonly is None:
            return None
        host, _ = split_listen(self.listen_readonly)
        return host if host is not None else self.bind

    @property
    def listen_readonly_port(self) -> int | None:
        """TCP port of the read-only listener, or None when there is none."""
        if self.listen_readonly is None:
            return None
        return split_listen(self.listen_readonly)[1]


@dataclass(frozen=True, slots=True)
class UserConfig:
    """One ``[[user]]`` (issue 11): who may log in over SSH, and to which ports.

    ``keys`` holds authorized_keys lines (read from ``keys_file`` at load);
    ``ports`` and ``watch`` are globs over port names (fnmatch).
    """

    name: str
    keys: tuple[str, ...] = ()
    keys_file: str | None = None
    password: str | None = None
    ports: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """The whole configuration: ``[bridge]`` keys and the ports, in file order."""

    source: Path | None = None
    bind: str = "127.0.0.1"
    control: str | None = None
    control_token: str | None = None
    profiles_dir: str | None = None
    # -- access from the network (issue 11): paths resolved from the config's folder --
    ssh_listen: int | str | None = None
    ssh_host_key: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    # -- issue 14 (fleet) --
    metrics: int | str | None = None
    mdns: bool = False
    ports: tuple[PortConfig, ...] = ()
    allow: tuple[str, ...] | None = None     # [bridge]'s allow: SSH and the control endpoint
    users: tuple[UserConfig, ...] = ()
    # UAT 7: what the file asks for and this install cannot do (a missing extra); the
    # feature is off in this config. check prints them, serve logs them (WARNING).
    notes: tuple[Problem, ...] = field(default=(), compare=False)

    @property
    def ssh_host(self) -> str:
        """Host the SSH server binds (``bind`` when ``ssh_listen`` names none)."""
        host, _ = split_listen(self.ssh_listen or 0)
        return host if host is not None else self.bind

    @property
    def ssh_port(self) -> int:
        """TCP port of the SSH server (0: any free port)."""
        return split_listen(self.ssh_listen or 0)[1]

    def port(self, name: str) -> PortConfig:
        """The port called ``name``.

        Raises:
            KeyError: when there is no such port.
        """
        for port in self.ports:
            if port.name == name:
                return port
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Port names in file order."""
        return tuple(port.name for port in self.ports)


def port_differences(old: PortConfig, new: PortConfig) -> set[str]:
    """Names of the fields whose values differ between two configs of a port.

    An empty set means the port is untouched (SIGHUP keeps its sessions).
    """
    return {f.name for f in fields(PortConfig) if getattr(old, f.name) != getattr(new, f.name)}


def bridge_differences(old: BridgeConfig, new: BridgeConfig) -> list[str]:
    """What a reload changes outside the ports, one phrase each, for the reload summary.

    Users are matched by name (``user carol added``, ``user alice removed``,
    ``user bob changed``); any other ``[bridge]`` key that differs is named
    (``[bridge] allow``). Ports are not compared (see ``port_differences``).
    """
    changes: list[str] = []
    old_users = {u.name: u for u in old.users}
    new_users = {u.name: u for u in new.users}
    for name in new_users:
        if name not in old_users:
            changes.append(f"user {name} added")
        elif new_users[name] != old_users[name]:
            changes.append(f"user {name} changed")
    changes.extend(f"user {name} removed" for name in old_users if name not in new_users)
    skip = {"source", "ports", "users", "notes"}
    changes.extend(f"[bridge] {f.name}" for f in fields(BridgeConfig)
                   if f.name not in skip and getattr(old, f.name) != getattr(new, f.name))
    return changes
