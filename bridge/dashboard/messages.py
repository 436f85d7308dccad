"""App-wide messages: what the status feed tells the screens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from bridge.control.model import PortInfo


@dataclass(frozen=True, slots=True)
class PortKey:
    """A port of one of the dashboard's bridges."""

    source: int
    name: str

    @property
    def row_key(self) -> str:
        """The key of its table row."""
        return f"{self.source}/{self.name}"


class SourceStateChanged(Message):
    """A bridge was reached or lost."""

    def __init__(self, source: int, connected: bool, reason: str = "") -> None:
        super().__init__()
        self.source = source
        self.connected = connected
        self.reason = reason


class PortsReceived(Message):
    """A bridge's fresh list of ports."""

    def __init__(self, source: int, ports: tuple[PortInfo, ...]) -> None:
        super().__init__()
        self.source = source
        self.ports = ports

    def can_replace(self, message: Message) -> bool:
        """A fresh list of the same bridge makes an older, unhandled one useless."""
        return isinstance(message, PortsReceived) and message.source == self.source


class BridgeEventReceived(Message):
    """A protocol event from one bridge."""

    def __init__(self, source: int, event: dict[str, Any]) -> None:
        super().__init__()
        self.source = source
        self.event = event


@dataclass(frozen=True, slots=True)
class PortView:
    """What the screens show of one port: its info plus derived rates."""

    key: PortKey
    host: str
    info: PortInfo
    online: bool = True
    rx_rate: float = 0.0
    tx_rate: float = 0.0
