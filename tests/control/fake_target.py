"""A fake ControlTarget: ports in memory, every call recorded.

It is a fake of the bridge, not of anything a pty could give us: the control
API is tested against it until the daemon exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.control.target import AttachedSession, BridgeEvent
from bridge.device.settings import LineSettings
from bridge.port.status import DISABLED, UP, PortStatus, SessionStatus


@dataclass
class FakeAttached:
    """An attached session that records what it was sent."""

    id: int
    access: str
    port: str
    on_output: Callable[[bytes], None]
    on_close: Callable[[str], None]
    written: list[bytes] = field(default_factory=list)
    breaks: int = 0
    closed: bool = False
    written_event: asyncio.Event = field(default_factory=asyncio.Event)

    def write(self, data: bytes) -> None:
        """Record keys."""
        self.written.append(data)
        self.written_event.set()

    async def send_break(self) -> None:
        """Record a break."""
        self.breaks += 1

    async def close(self) -> None:
        """Record the close."""
        self.closed = True


def sample_ports() -> dict[str, PortStatus]:
    """Two ports: rtr1 up with one client, sw1 up with none."""
    session = SessionStatus(id=1, peer="127.0.0.1:50000", kind="telnet", access="writer",
                            connected_at=1000.0, bytes_in=3, bytes_out=40)
    return {
        "rtr1": PortStatus(name="rtr1", device="/dev/ttyUSB0", listen="127.0.0.1:7001",
                           mode="telnet", state=UP, settings=LineSettings(),
                           profile="cisco-console", rx_bytes=40, tx_bytes=3,
                           last_activity=1001.0, since=999.0, sessions=(session,)),
        "sw1": PortStatus(name="sw1", device="/dev/ttyUSB1", listen="127.0.0.1:7002",
                          mode="raw", state=UP, settings=LineSettings(baud=115200),
                          since=999.0),
    }


class FakeTarget:
    """Implements bridge.control.target.ControlTarget in memory."""

    def __init__(self) -> None:
        self.ports = sample_ports()
        self.calls: list[tuple[str, ...]] = []
        self.called = asyncio.Event()
        self.subscribers: list[Callable[[BridgeEvent], None]] = []
        self.tails: dict[str, list[Callable[[bytes], None]]] = {}
        self.attached: list[FakeAttached] = []
        self.histories: dict[str, bytes] = {"rtr1": b"Router>", "sw1": b""}
        self.attach_access = "writer"
        self._next_session = 100

    def _record(self, *call: str) -> None:
        self.calls.append(call)
        self.called.set()

    def _port(self, name: str) -> PortStatus:
        if name not in self.ports:
            raise KeyError(name)
        return self.ports[name]

    def port_statuses(self) -> list[PortStatus]:
        """All ports."""
        return list(self.ports.values())

    def port_status(self, name: str) -> PortStatus:
        """One port."""
        return self._port(name)

    async def set_line_settings(self, name: str, changes: dict[str, Any]) -> LineSettings:
        """Apply settings (mark parity is refused, as a device might)."""
        port = self._port(name)
        if changes.get("parity") == "mark":
            raise ValueError("mark parity is not supported by this device")
        settings = port.settings.with_changes(**changes)
        self.ports[name] = replace(port, settings=settings)
        self._record("set", name, repr(sorted(changes.items())))
        self.emit(BridgeEvent("settings", name, {"settings": settings}))
        return settings

    async def send_break(self, name: str) -> None:
        """Record a break."""
        self._port(name)
        self._record("break", name)

    async def send_ip(self, name: str) -> None:
        """Record an IP."""
        self._port(name)
        self._record("ip", name)

    async def enable_port(self, name: str) -> None:
        """Enable."""
        self.ports[name] = replace(self._port(name), state=UP, enabled=True)
        self._record("enable", name)
        self.emit(BridgeEvent("port-state", name, {"state": UP, "error": None}))

    async def disable_port(self, name: str) -> None:
        """Disable."""
        self.ports[name] = replace(self._port(name), state=DISABLED, enabled=False)
        self._record("disable", name)
        self.emit(BridgeEvent("port-state", name, {"state": DISABLED, "error": None}))

    async def kick_session(self, name: str, session_id: int) -> None:
        """Drop a session, or refuse an unknown id."""
        port = self._port(name)
        if not any(s.id == session_id for s in port.sessions):
            raise ValueError(f"{name} has no session {session_id}")
        self.ports[name] = replace(port, sessions=tuple(s for s in port.sessions if s.id != session_id))
        self._record("kick", name, str(session_id))

    reload_result: dict[str, list[str]] = {"added": [], "removed": [], "changed": ["sw1"], "errors": []}

    async def reload(self) -> dict[str, list[str]]:
        """Pretend a reload changed sw1 (or answer ``reload_result``, when a test sets it)."""
        self._record("reload")
        return dict(self.reload_result)

    def history(self, name: str) -> bytes:
        """The port's history."""
        self._port(name)
        return self.histories.get(name, b"")

    async def attach(self, name: str, peer: str, on_output: Callable[[bytes], None],
                     on_close: Callable[[str], None]) -> AttachedSession:
        """Open a fake session."""
        self._port(name)
        self._next_session += 1
        session = FakeAttached(self._next_session, self.attach_access, name, on_output, on_close)
        self.attached.append(session)
        self._record("attach", name, peer)
        return session

    def add_tail(self, name: str, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Add a tail of one port."""
        self._port(name)
        self.tails.setdefault(name, []).append(callback)
        return lambda: self.tails[name].remove(callback)

    def subscribe(self, callback: Callable[[BridgeEvent], None]) -> Callable[[], None]:
        """Add a subscriber."""
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def emit(self, event: BridgeEvent) -> None:
        """Send an event to every subscriber, synchronously like the bridge."""
        for callback in list(self.subscribers):
            callback(event)

    def output(self, name: str, data: bytes) -> None:
        """Device output on a port: history, tails and attached sessions."""
        self.histories[name] = self.histories.get(name, b"") + data
        for tail in list(self.tails.get(name, [])):
            tail(data)
        for session in self.attached:
            if session.port == name and not session.closed:
                session.on_output(data)
