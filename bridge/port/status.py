"""Frozen snapshots of ports and sessions, for the control API and logs."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.device.settings import LineSettings

# Port states (DESIGN.md "State and failure").
STARTING = "starting"
UP = "up"
WAITING = "waiting-for-device"
DISABLED = "disabled"
STOPPED = "stopped"
FAILED = "failed"   # the listener could not bind (address taken); the bridge retries it
PORT_STATES = (STARTING, UP, WAITING, DISABLED, STOPPED, FAILED)


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """One client connection of a port."""

    id: int
    peer: str                   # "127.0.0.1:51234"
    kind: str                   # "telnet" | "raw" | "ssh"
    access: str                 # "writer" | "watcher"
    connected_at: float         # time.time() at accept
    bytes_in: int = 0           # from the client to the device
    bytes_out: int = 0          # from the device to the client
    dropped: int = 0            # bytes of output dropped for this client (watchers)
    rfc2217: bool = False       # the client negotiated COM-PORT-OPTION
    terminal: str | None = None  # TTYPE, when the client told us (the last it sent: the one in use)
    terminal_types: tuple[str, ...] = ()   # every type it named (RFC 1091 cycling), in order
    user: str | None = None     # SSH login or TLS client certificate (issue 11)
    window: tuple[int, int] | None = None   # columns, rows: Telnet NAWS (RFC 1073) or an SSH pty request


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """One alert of a port (issue 14): its rule and what it has matched."""

    name: str
    pattern: str
    action: str                 # "log" | "exec"
    matches: int = 0            # lines that matched (cooldown or not)
    fired: int = 0              # matches that fired the action (outside the cooldown)
    failures: int = 0           # exec commands that failed, timed out or could not start
    last_line: str | None = None  # the last matching line
    last_at: float | None = None  # time.time() of the last match


@dataclass(frozen=True, slots=True)
class PortStatus:
    """One port: its config summary, state, counters and sessions."""

    name: str
    device: str
    listen: str                 # "127.0.0.1:7001"
    mode: str                   # "telnet" | "raw"
    state: str                  # one of PORT_STATES
    settings: LineSettings
    profile: str | None = None
    enabled: bool = True
    error: str | None = None    # last problem, one line (e.g. "no such device /dev/ttyUSB3")
    rx_bytes: int = 0           # from the device
    tx_bytes: int = 0           # to the device
    last_activity: float | None = None
    since: float = 0.0          # time.time() of the last state change
    sessions: tuple[SessionStatus, ...] = field(default_factory=tuple)
    listen_readonly: str | None = None
    access: str = "shared"
    tls: bool = False           # its listeners (listen and listen_readonly) speak TLS (issue 11)
    # -- issue 14 (fleet): counters for metrics, alerts --
    client_bytes: int = 0       # sent to clients, including clients that left
    dropped_bytes: int = 0      # dropped for slow clients, including clients that left
    breaks_to_device: int = 0
    breaks_from_device: int = 0
    device_opens: int = 0
    device_losses: int = 0
    alerts: tuple[AlertStatus, ...] = ()


# ------------------------------------------------------------------ events
# What a port tells the control API as it happens. port/ defines them and
# imports nothing of bridge.control; the control layer turns them into its
# wire events (bridge.control.target.BridgeEvent.from_port_event).

@dataclass(frozen=True, slots=True)
class PortStateChanged:
    """The port's state changed (one of PORT_STATES), with its last problem."""

    port: str
    state: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SessionOpened:
    """A client joined the port."""

    port: str
    id: int
    peer: str
    access: str


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """A client left the port."""

    port: str
    id: int
    peer: str
    access: str


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """The line settings in force changed; ``restored``: back to the configured ones
    because the last client that asked for others left."""

    port: str
    settings: LineSettings
    restored: bool = False


PortEvent = PortStateChanged | SessionOpened | SessionClosed | SettingsChanged
