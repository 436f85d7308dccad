"""Port-wide event counts that outlive sessions and devices (issue 14: metrics).

The worker bumps a field where the event happens (a break, an open, a loss,
a session leaving); nothing here runs per byte. ``bridge.fleet.metrics``
reads them at scrape time through ``PortStatus``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.port.status import SessionStatus


@dataclass(slots=True)
class PortCounters:
    """Counts since the port started; all only ever grow."""

    breaks_to_device: int = 0     # breaks sent on the line (IAC BRK, RFC 2217 BREAK-ON, control API)
    breaks_from_device: int = 0   # breaks received from the line
    device_opens: int = 0         # successful opens of the device
    device_losses: int = 0        # the device vanished while open (unplugged, I/O error)
    left_bytes_out: int = 0       # bytes sent to clients that have since left
    left_dropped: int = 0         # bytes dropped for slow clients that have since left

    def session_left(self, session: SessionStatus) -> None:
        """Keep a leaving session's totals, so the port's never go down."""
        self.left_bytes_out += session.bytes_out
        self.left_dropped += session.dropped

    def client_totals(self, sessions: tuple[SessionStatus, ...]) -> tuple[int, int]:
        """(bytes sent to clients, bytes dropped for slow clients), present and past."""
        return (self.left_bytes_out + sum(s.bytes_out for s in sessions),
                self.left_dropped + sum(s.dropped for s in sessions))
