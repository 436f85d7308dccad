"""Allow lists (issue 11): which source addresses may connect.

An ``AllowList`` is built from the checked ``allow`` value (CIDR networks,
IPv4 and IPv6); ``None`` allows everyone. IPv4-mapped IPv6 addresses
(``::ffff:192.0.2.7``, what a dual-stack listener reports) are matched as
the IPv4 address they carry. Refusals are logged by ``RefusalLog``: once per
source address per minute, so a scan cannot flood the log.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterable

log = logging.getLogger("bridge.access")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOG_EVERY = 60.0        # seconds between two refusal lines for one source
LOG_TABLE_LIMIT = 4096  # sources remembered at most


class AllowList:
    """A set of networks; ``None`` (no ``allow`` key) permits every address."""

    def __init__(self, networks: Iterable[str] | None) -> None:
        self.networks: tuple[Network, ...] | None = (
            None if networks is None else tuple(ipaddress.ip_network(n) for n in networks))

    @property
    def open(self) -> bool:
        """Whether every address may connect."""
        return self.networks is None

    def permits(self, host: str) -> bool:
        """Whether ``host`` (an address as the socket reports it) may connect.

        Anything that is not an IP address (a Unix socket peer) is permitted:
        allow lists are about the network.
        """
        if self.networks is None:
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self.networks if net.version == address.version)

    def __str__(self) -> str:
        return "all" if self.networks is None else ", ".join(str(n) for n in self.networks)


class RefusalLog:
    """Logs refused sources, at most once per source per ``LOG_EVERY`` seconds."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def should_log(self, host: str) -> bool:
        """Whether a refusal from ``host`` is worth a log line now (and remember it)."""
        now = time.monotonic()
        last = self._last.get(host)
        if last is not None and now - last < LOG_EVERY:
            return False
        if len(self._last) >= LOG_TABLE_LIMIT:
            self._last = {h: t for h, t in self._last.items() if now - t < LOG_EVERY}
            if len(self._last) >= LOG_TABLE_LIMIT:   # a flood of sources: forget the oldest half
                for h in sorted(self._last, key=self._last.__getitem__)[: LOG_TABLE_LIMIT // 2]:
                    del self._last[h]
        self._last[host] = now
        return True

    def refused(self, what: str, host: str, port: int | None = None) -> None:
        """Log ``what`` (e.g. "port rtr1") refusing ``host``, rate-limited per source."""
        if self.should_log(host):
            log.warning("%s: refused %s: not in the allow list (further refusals of it are "
                        "logged once a minute)", what, host if port is None else f"{host}:{port}")


def peer_host(peername: object) -> tuple[str, int | None]:
    """(host, port) of a socket's peername; ("", None) for a Unix socket."""
    if isinstance(peername, tuple) and len(peername) >= 2:
        return str(peername[0]), int(peername[1])
    return "", None


_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """Whether a listen host is reachable from this machine only.

    Wildcards ("", "0.0.0.0", "::") and names other than localhost are not.
    """
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
