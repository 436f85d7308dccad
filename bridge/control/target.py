"""What the control endpoint may ask of a running bridge.

``bridge.server.BridgeServer`` implements this protocol; the control server
(``bridge.control.server``) only talks to it, and tests give it a fake.
Every method that names a port raises ``KeyError`` for an unknown port and
``ValueError`` (with a one-line message) for a request the port refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.device.settings import LineSettings
from bridge.port.status import (
    PortEvent,
    PortStateChanged,
    PortStatus,
    SessionClosed,
    SessionOpened,
)


@dataclass(frozen=True, slots=True)
class BridgeEvent:
    """Something that happened in the bridge, pushed to control subscribers.

    kind is one of: "port-state" (data: state, error), "session-open" and
    "session-close" (data: id, peer, access), "settings" (data: the new
    LineSettings as a dict, either as the data itself or under "settings").
    Device output does not travel as events: see ``ControlTarget.add_tail``.
    """

    kind: str
    port: str
    data: dict[str, Any]

    @classmethod
    def from_port_event(cls, event: PortEvent) -> BridgeEvent:
        """The control API's form of a port's typed event (bridge.port.status)."""
        if isinstance(event, PortStateChanged):
            return cls(kind="port-state", port=event.port, data={"state": event.state, "error": event.error})
        if isinstance(event, (SessionOpened, SessionClosed)):
            kind = "session-open" if isinstance(event, SessionOpened) else "session-close"
            return cls(kind=kind, port=event.port, data={"id": event.id, "peer": event.peer, "access": event.access})
        s = event.settings
        return cls(kind="settings", port=event.port,
                   data={"baud": s.baud, "bytesize": s.bytesize, "parity": s.parity,
                         "stopbits": s.stopbits, "flow": s.flow})


class AttachedSession(Protocol):
    """A console session opened through the control API (the dashboard's attach pane).

    It is a session of the port like any other: it counts against
    max_connections and obeys the port's access policy.
    """

    id: int

    @property
    def access(self) -> str:
        """ "writer" or "watcher"."""
        ...

    def write(self, data: bytes) -> None:
        """Keys typed by the operator, to the device (dropped for a watcher)."""
        ...

    async def send_break(self) -> None: ...

    async def close(self) -> None: ...


class ControlTarget(Protocol):
    """The bridge as the control API sees it."""

    def port_statuses(self) -> list[PortStatus]: ...

    def port_status(self, name: str) -> PortStatus: ...

    async def set_line_settings(self, name: str, changes: dict[str, Any]) -> LineSettings: ...

    async def send_break(self, name: str) -> None: ...

    async def send_ip(self, name: str) -> None: ...

    async def enable_port(self, name: str) -> None: ...

    async def disable_port(self, name: str) -> None: ...

    async def kick_session(self, name: str, session_id: int) -> None: ...

    async def reload(self) -> dict[str, list[str]]:
        """Re-read the config; returns {"added": [...], "removed": [...], "changed": [...] (port names),
        "bridge": [...] (users and [bridge] keys changed, one phrase each), "errors": [...],
        "rejected": [...] (the file's problems when it was refused and nothing was taken)}."""
        ...

    def history(self, name: str) -> bytes: ...

    def add_tail(self, name: str, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Call ``callback`` with each chunk the device sends on port ``name``
        (synchronously, on the event loop: it must not block); returns the
        function that removes it. Raises KeyError for an unknown port."""
        ...

    async def attach(self, name: str, peer: str, on_output: Callable[[bytes], None],
                     on_close: Callable[[str], None]) -> AttachedSession:
        """Join the port as a session: device output goes to ``on_output``;
        ``on_close(reason)`` is called once when the bridge ends the session."""
        ...

    def subscribe(self, callback: Callable[[BridgeEvent], None]) -> Callable[[], None]:
        """Call ``callback`` for every event; returns the function that unsubscribes."""
        ...
