"""The two ways a Telnet exchange goes wrong (after h11).

``LocalProtocolError`` is raised to the caller who misused the API (an option
code out of range, an ack from the client role). ``RemoteProtocolError`` names
a peer that broke the protocol beyond repair; :meth:`TelnetConnection.receive_data`
never raises it: every fault of the peer becomes a ``ProtocolViolation`` event
and a counter, and the stream carries on.
"""

from __future__ import annotations


class TelnetError(Exception):
    """Base of the engine's errors."""


class LocalProtocolError(TelnetError):
    """The caller asked the engine for something the protocol or the API forbids."""


class RemoteProtocolError(TelnetError):
    """The peer sent something that cannot be recovered from (never raised by receive_data)."""
