"""Client-side views of the protocol's port and session objects.

Clients (the CLI, the dashboard) read replies through these small frozen
types instead of poking at dicts; unknown fields are ignored and missing
ones get defaults, so a newer server stays readable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

_PARITY_LETTER = {"none": "N", "even": "E", "odd": "O", "mark": "M", "space": "S"}


def settings_short(settings: dict[str, Any]) -> str:
    """The usual short form of line settings, for example ``9600 8N1``."""
    try:
        stop = settings.get("stopbits", 1)
        stop_text = "1.5" if stop == 1.5 else str(int(stop))
        text = (f"{settings.get('baud', '?')} {settings.get('bytesize', '?')}"
                f"{_PARITY_LETTER.get(str(settings.get('parity')), '?')}{stop_text}")
    except (TypeError, ValueError):
        return "?"
    flow = settings.get("flow", "none")
    return text if flow in ("none", None) else f"{text} {flow}"


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One client of a port."""

    id: int
    peer: str
    kind: str = "telnet"
    access: str = "writer"
    connected_at: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    dropped: int = 0
    rfc2217: bool = False
    terminal: str | None = None
    terminal_types: tuple[str, ...] = ()
    window: tuple[int, int] | None = None   # NAWS or SSH pty: (columns, rows)
    user: str | None = None      # SSH login or TLS client certificate (issue 11)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionInfo:
        """Read a session object."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if isinstance(known.get("terminal_types"), list):
            known["terminal_types"] = tuple(str(t) for t in known["terminal_types"])
        window = known.get("window")
        known["window"] = (int(window[0]), int(window[1])) if isinstance(window, list) and len(window) == 2 else None
        return cls(**known)


@dataclass(frozen=True, slots=True)
class AlertInfo:
    """One alert of a port (issue 14)."""

    name: str
    pattern: str = ""
    action: str = "log"
    matches: int = 0
    fired: int = 0
    failures: int = 0
    last_line: str | None = None
    last_at: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertInfo:
        """Read an alert object."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True, slots=True)
class PortInfo:
    """One port as the control API reports it."""

    name: str
    device: str = ""
    listen: str = ""
    mode: str = "telnet"
    state: str = "unknown"
    enabled: bool = True
    error: str | None = None
    profile: str | None = None
    access: str = "shared"
    listen_readonly: str | None = None
    tls: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    rx_bytes: int = 0
    tx_bytes: int = 0
    last_activity: float | None = None
    since: float = 0.0
    sessions: tuple[SessionInfo, ...] = ()
    # issue 14 (fleet)
    client_bytes: int = 0
    dropped_bytes: int = 0
    breaks_to_device: int = 0
    breaks_from_device: int = 0
    device_opens: int = 0
    device_losses: int = 0
    alerts: tuple[AlertInfo, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PortInfo:
        """Read a port object."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["sessions"] = tuple(SessionInfo.from_json(s) for s in data.get("sessions", ()))
        known["alerts"] = tuple(AlertInfo.from_json(a) for a in data.get("alerts", ())
                                if isinstance(a, dict) and "name" in a)
        return cls(**known)

    @property
    def last_alert(self) -> AlertInfo | None:
        """The alert that matched last, if any did."""
        matched = [a for a in self.alerts if a.last_at is not None]
        return max(matched, key=lambda a: a.last_at or 0.0) if matched else None

    @property
    def settings_short(self) -> str:
        """``9600 8N1`` and so on."""
        return settings_short(self.settings)


def human_bytes(count: float) -> str:
    """A byte count in short human form: ``512 B``, ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def human_age(when: float | None, now: float | None = None) -> str:
    """How long ago, in short form: ``-``, ``now``, ``42s``, ``5m``, ``3h``, ``2d``."""
    if when is None:
        return "-"
    seconds = max(0.0, (time.time() if now is None else now) - when)
    if seconds < 1:
        return "now"
    for limit, unit, size in ((60, "s", 1), (3600, "m", 60), (86400, "h", 3600)):
        if seconds < limit:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds // 86400)}d"
