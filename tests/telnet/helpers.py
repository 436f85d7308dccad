"""Test helpers: a server engine wired to a client engine, and event normalising."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bridge.telnet import DataReceived, Event, OptionPolicy, TelnetConnection

NOTHING = OptionPolicy(us=frozenset(), him=frozenset())
EVERYTHING = OptionPolicy(us=frozenset(range(255)), him=frozenset(range(255)))


def merge_data(events: Iterable[Event]) -> list[Event]:
    """Events with adjacent DataReceived joined and empty ones dropped (split-independent form)."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, DataReceived):
            if not event.data:
                continue
            if out and isinstance(out[-1], DataReceived):
                out[-1] = DataReceived(data=out[-1].data + event.data)
                continue
        out.append(event)
    return out


def feed_in_pieces(conn: TelnetConnection, wire: bytes, cuts: Iterable[int]) -> list[Event]:
    """Feed ``wire`` cut at the given offsets and return every event, in order."""
    events: list[Event] = []
    start = 0
    for cut in sorted(set(cuts)):
        if start < cut < len(wire):
            events += conn.receive_data(wire[start:cut])
            start = cut
    events += conn.receive_data(wire[start:])
    return events


@dataclass
class TelnetPair:
    """A server engine and a client engine talking back to back (after h11's ConnectionPair).

    ``pump()`` carries each side's output to the other until both are quiet,
    and records every event each side saw.
    """

    server_policy: OptionPolicy = NOTHING
    client_policy: OptionPolicy = NOTHING
    server: TelnetConnection = field(init=False)
    client: TelnetConnection = field(init=False)
    server_events: list[Event] = field(default_factory=list, init=False)
    client_events: list[Event] = field(default_factory=list, init=False)
    wire: list[tuple[str, bytes]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.server = TelnetConnection(server=True, policy=self.server_policy)
        self.client = TelnetConnection(server=False, policy=self.client_policy)

    def pump(self, max_rounds: int = 20) -> int:
        """Exchange bytes until neither side has anything to send; return the rounds used.

        Raises:
            AssertionError: when the engines are still talking after ``max_rounds``.
        """
        for round_no in range(max_rounds):
            to_client = self.server.data_to_send()
            to_server = self.client.data_to_send()
            if not to_client and not to_server:
                return round_no
            if to_client:
                self.wire.append(("s->c", to_client))
                self.client_events += self.client.receive_data(to_client)
            if to_server:
                self.wire.append(("c->s", to_server))
                self.server_events += self.server.receive_data(to_server)
        raise AssertionError(f"engines still talking after {max_rounds} rounds: {self.wire[-4:]}")

    def take_events(self) -> tuple[list[Event], list[Event]]:
        """The events each side saw since the last call, as (server's, client's)."""
        seen = (self.server_events, self.client_events)
        self.server_events, self.client_events = [], []
        return seen
