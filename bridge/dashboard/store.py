"""The dashboard's picture of its bridges: ports per source, online state, rates.

Pure state, no widgets: the app feeds it the status feed's updates and the
screens read :class:`~bridge.dashboard.messages.PortView` objects from it.
"""

from __future__ import annotations

from typing import Any

from bridge.control.model import PortInfo
from bridge.dashboard.messages import PortKey, PortView


class PortStore:
    """Ports of every source, with receive/transmit rates from counters events."""

    def __init__(self, labels: list[str]) -> None:
        """Args:
            labels: one host label per source, in source order.
        """
        self.labels = labels
        self.online = [False] * len(labels)
        self.reasons = [""] * len(labels)
        self._ports: dict[PortKey, PortInfo] = {}
        self._rates: dict[PortKey, tuple[float, float]] = {}
        self._last: dict[PortKey, tuple[float, int, int]] = {}
        self.counter_updates = 0  # counters events applied so far

    def add_source(self, label: str) -> int:
        """A bridge found while running; returns its source index."""
        self.labels.append(label)
        self.online.append(False)
        self.reasons.append("")
        return len(self.labels) - 1

    @property
    def multi_host(self) -> bool:
        """True when the dashboard watches more than one bridge."""
        return len(self.labels) > 1

    def set_online(self, source: int, online: bool, reason: str = "") -> bool:
        """Record a source's connection state; True when it changed."""
        changed = self.online[source] != online
        self.online[source] = online
        self.reasons[source] = reason
        return changed

    def set_ports(self, source: int, ports: tuple[PortInfo, ...]) -> None:
        """Replace a source's ports with a fresh list."""
        for key in [k for k in self._ports if k.source == source]:
            if all(p.name != key.name for p in ports):
                del self._ports[key]
                self._rates.pop(key, None)
                self._last.pop(key, None)
        for port in ports:
            self._ports[PortKey(source, port.name)] = port

    def apply_counters(self, source: int, event: dict[str, Any]) -> None:
        """Update byte counters and rates from a ``counters`` event."""
        now = float(event.get("time", 0.0))
        self.counter_updates += 1
        for name, counters in dict(event.get("ports", {})).items():
            key = PortKey(source, name)
            port = self._ports.get(key)
            if port is None or not isinstance(counters, dict):
                continue
            rx, tx = int(counters.get("rx_bytes", 0)), int(counters.get("tx_bytes", 0))
            last = self._last.get(key)
            if last is not None and now > last[0]:
                span = now - last[0]
                self._rates[key] = (max(0, rx - last[1]) / span, max(0, tx - last[2]) / span)
            self._last[key] = (now, rx, tx)
            self._ports[key] = _with_counters(port, rx, tx, counters.get("last_activity"))

    def view(self, key: PortKey) -> PortView | None:
        """One port's view, or None when it is gone."""
        port = self._ports.get(key)
        if port is None:
            return None
        rx, tx = self._rates.get(key, (0.0, 0.0))
        return PortView(key=key, host=self.labels[key.source], info=port,
                        online=self.online[key.source], rx_rate=rx, tx_rate=tx)

    def views(self) -> list[PortView]:
        """Every port, grouped by source in source order, by name within each."""
        keys = sorted(self._ports, key=lambda k: (k.source, k.name))
        return [v for v in (self.view(k) for k in keys) if v is not None]


def _with_counters(port: PortInfo, rx: int, tx: int, last_activity: object) -> PortInfo:
    from dataclasses import replace

    activity = float(last_activity) if isinstance(last_activity, (int, float)) else port.last_activity
    return replace(port, rx_bytes=rx, tx_bytes=tx, last_activity=activity)
