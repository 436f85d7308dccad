"""Where the dashboard's data comes from: a StatusSource per bridge.

The dashboard knows a bridge only through this interface, so it can manage
a bridge on another host, and tests can drive it against any endpoint.
:class:`ControlSource` is the real one, over the control API; it
reconnects by itself with a growing delay when the daemon goes away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.control.client import ControlClient, ControlError, ControlUnavailable
from bridge.control.discovery import FoundBridge
from bridge.control.model import PortInfo

log = logging.getLogger(__name__)

# Events after which the ports list is fetched again ("dropped": we missed some).
REFRESH_EVENTS = frozenset({"port-state", "session-open", "session-close", "settings", "dropped", "alert"})


@dataclass(frozen=True, slots=True)
class Connected:
    """The source reached its bridge (again)."""

    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The source lost its bridge, or could not reach it; it keeps trying."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ports:
    """The full list of the bridge's ports, fresh."""

    ports: tuple[PortInfo, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """A protocol event as received (counters, output, port-state, ...)."""

    message: dict[str, Any]


Update = Connected | Disconnected | Ports | Event


class StatusSource(Protocol):
    """One bridge, as the dashboard sees it."""

    label: str

    def updates(self) -> AsyncIterator[Update]:
        """Updates forever: Connected, then Ports and Events; Disconnected and
        Connected again as the bridge goes and comes back."""
        ...

    async def request(self, op: str, **args: Any) -> dict[str, Any]:
        """One control request (see docs/control-api.md).

        Raises:
            ControlError: not connected, refused, or the connection was lost.
        """
        ...

    async def close(self) -> None:
        """Stop and disconnect."""
        ...


class SourceFinder(Protocol):
    """Finds bridges while the dashboard runs (``bridge.control.discovery.BridgeBrowser``)."""

    def found(self) -> AsyncIterator[FoundBridge]:
        """Bridges as they appear or go."""
        ...

    def close(self) -> None:
        """Stop finding."""
        ...


class ControlSource:
    """A StatusSource over the control API, reconnecting by itself."""

    def __init__(self, address: str, token: str | None = None, *, label: str | None = None,
                 first_delay: float = 0.25, max_delay: float = 5.0) -> None:
        """Args:
            address: the control endpoint (socket path or host:port).
            token: the control token, if the endpoint needs one.
            label: how the table names this bridge (default: the address).
            first_delay: seconds before the first reconnect; doubles up to ``max_delay``.
        """
        self.address = address
        self.token = token
        self.label = label or address
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._client: ControlClient | None = None
        self._closed = False

    async def request(self, op: str, **args: Any) -> dict[str, Any]:
        """One request over the current connection."""
        client = self._client
        if client is None or client.closed:
            raise ControlUnavailable(f"not connected to {self.label}")
        return await client.request(op, **args)

    async def updates(self) -> AsyncIterator[Update]:
        """Connect, subscribe and follow; on loss, say so and reconnect."""
        delay = self.first_delay
        last_reason = ""
        while not self._closed:
            try:
                self._client = await ControlClient.connect(self.address, self.token)
            except ControlUnavailable as exc:
                if str(exc) != last_reason:
                    last_reason = str(exc)
                    yield Disconnected(last_reason)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_delay)
                continue
            delay, last_reason = self.first_delay, ""
            async for update in self._follow(self._client):
                yield update
            await self._client.close()
            self._client = None
            if not self._closed:
                last_reason = f"lost the connection to {self.label}"
                yield Disconnected(last_reason)

    async def _follow(self, client: ControlClient) -> AsyncIterator[Update]:
        try:
            await client.request("subscribe")
            yield Connected(client.server_info)
            yield await self._ports(client)
            async for message in client.events():
                yield Event(message)
                if message.get("event") in REFRESH_EVENTS:
                    yield await self._ports(client)
        except ControlError as exc:
            log.debug("control source %s: %s", self.label, exc)

    @staticmethod
    async def _ports(client: ControlClient) -> Ports:
        reply = await client.request("list")
        return Ports(tuple(PortInfo.from_json(p) for p in reply.get("ports", [])))

    async def close(self) -> None:
        """Stop reconnecting and close the connection."""
        self._closed = True
        if self._client is not None:
            await self._client.close()
