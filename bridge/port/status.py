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
PORT_STATES = (STARTING, UP, WAITING, DISABLED, STOPPED)


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """One client connection of a port."""

    id: int
    peer: str                   # "127.0.0.1:51234"
    kind: str                   # "telnet" | "raw"
    access: str                 # "writer" | "watcher"
    connected_at: float         # time.time() at accept
    bytes_in: int = 0           # from the client to the device
    bytes_out: int = 0          # from the device to the client
    dropped: int = 0            # bytes of output dropped for this client (watchers)
    rfc2217: bool = False       # the client negotiated COM-PORT-OPTION
    terminal: str | None = None  # TTYPE, when the client told us (its first, preferred, type)
    terminal_types: tuple[str, ...] = ()   # every type it named (RFC 1091 cycling), in order
    window: tuple[int, int] | None = None  # NAWS (RFC 1073): (columns, rows), when the client told us


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
