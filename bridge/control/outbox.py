"""A connection's outgoing messages: replies kept, events bounded.

Policy at the bound (DESIGN.md "every buffer has a bound"): replies are
never dropped (the reader stops reading requests while too many replies are
unsent, which bounds them); events beyond ``limit`` are dropped and counted,
and a ``dropped`` event carrying the count takes their place in the
queue, so the reader sees where the gap is. Putting never blocks and never raises, so the bridge's event
callbacks stay cheap.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from bridge.control import schema

REPLY_BACKLOG = 64


class Outbox:
    """Outgoing messages of one control connection."""

    def __init__(self, limit: int) -> None:
        """Args:
            limit: how many events may wait before new ones are dropped.
        """
        self.limit = limit
        self.dropped_total = 0
        self._events: deque[dict[str, Any]] = deque()
        self._replies: deque[dict[str, Any]] = deque()
        self._marker: dict[str, Any] | None = None
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closed = False
        self.idle = asyncio.Event()  # set while the writer waits with nothing to send

    def put_reply(self, message: dict[str, Any]) -> None:
        """Queue a reply; never dropped."""
        self._replies.append(message)
        self.idle.clear()
        if len(self._replies) >= REPLY_BACKLOG:
            self._room.clear()
        self._wake.set()

    def put_event(self, message: dict[str, Any]) -> None:
        """Queue an event, or count it as dropped when the queue is full."""
        if self._closed:
            return
        if len(self._events) >= self.limit:
            self.dropped_total += 1
            if self._events and self._events[-1] is self._marker and self._marker is not None:
                self._marker["count"] += 1
            else:
                self._marker = schema.event("dropped", count=1)
                self._events.append(self._marker)
            return
        self._events.append(message)
        self.idle.clear()
        self._wake.set()

    async def wait_for_room(self) -> None:
        """Wait until the reply backlog is below its bound."""
        await self._room.wait()

    async def get(self) -> dict[str, Any]:
        """The next message to send: replies first, then events (and
        ``dropped`` notices) in order."""
        while True:
            if self._replies:
                message = self._replies.popleft()
                if len(self._replies) < REPLY_BACKLOG:
                    self._room.set()
                return message
            if self._events:
                return self._events.popleft()
            self._wake.clear()
            self.idle.set()
            await self._wake.wait()

    def close(self) -> None:
        """Stop accepting events and release a reader waiting for room."""
        self._closed = True
        self._events.clear()
        self._room.set()
