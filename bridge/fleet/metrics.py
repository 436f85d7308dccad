"""Prometheus metrics at ``/metrics``, collected from port status snapshots at scrape time.

Theory of operation
-------------------
Nothing is counted for the metrics on the data path: the port already
counts bytes, and counts breaks, opens, losses and slow-client drops where
they happen (``bridge.port.counters``). ``BridgeCollector.collect()`` asks the
bridge for its ``PortStatus`` snapshots when Prometheus scrapes, and turns
them into metric families. So a bridge nobody scrapes pays nothing, and one
that is scraped pays one snapshot per port per scrape.

The HTTP side is a small asyncio server on the bridge's own event loop (not
prometheus-client's threaded server): the snapshots are taken on the loop
that owns the ports, never from another thread. It answers ``GET /metrics``
(and ``HEAD``) with the text format the scraper asks for (Prometheus text
or OpenMetrics, by its ``Accept`` header), 404 for any other path, 405 for
other methods, and closes each connection after its answer. Requests are
bounded in size and time.

Every bridge metric is named ``serial_bridge_*`` and labelled with ``port``;
the list, with what each means, is in docs/fleet.md. The process metrics
(``process_cpu_seconds_total``, ``process_resident_memory_bytes``,
``process_open_fds``...) are prometheus-client's own ``ProcessCollector``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bridge.port.status import PORT_STATES, PortStatus

log = logging.getLogger("bridge.metrics")

PREFIX = "serial_bridge_"
MAX_REQUEST = 8192       # bytes of request line and headers
REQUEST_TIMEOUT = 10.0   # seconds to send them
ACCESS_KINDS = ("writer", "watcher")
PROTOCOLS = ("telnet", "raw", "rfc2217", "ssh")


def _protocol(kind: str, rfc2217: bool) -> str:
    return "rfc2217" if rfc2217 else kind


class BridgeCollector(Collector):
    """Turns the bridge's port snapshots into metric families, at each scrape.

    Args:
        statuses: gives every port's current ``PortStatus`` (``BridgeServer.port_statuses``).
    """

    def __init__(self, statuses: Callable[[], list[PortStatus]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterable[Metric]:
        """The metric families, from fresh snapshots (called by the registry per scrape)."""
        ports = self._statuses()
        yield from self._state(ports)
        yield from self._traffic(ports)
        yield from self._clients(ports)
        yield from self._events(ports)
        yield from self._alerts(ports)

    @staticmethod
    def _state(ports: list[PortStatus]) -> Iterable[Metric]:
        state = GaugeMetricFamily(PREFIX + "port_state", "1 for the state the port is in, 0 for the others.",
                                  labels=["port", "state"])
        info = InfoMetricFamily(PREFIX + "port", "What the port is: its device, mode and listener.",
                                labels=["port"])
        line = InfoMetricFamily(PREFIX + "line_settings", "The line settings in force.", labels=["port"])
        since = GaugeMetricFamily(PREFIX + "port_state_since_seconds",
                                  "Unix time of the port's last state change.", labels=["port"])
        enabled = GaugeMetricFamily(PREFIX + "port_enabled", "1 unless an operator disabled the port.",
                                    labels=["port"])
        for p in ports:
            for name in PORT_STATES:
                state.add_metric([p.name, name], 1.0 if p.state == name else 0.0)
            info.add_metric([p.name], {"device": p.device, "mode": p.mode, "listen": p.listen,
                                       "profile": p.profile or ""})
            s = p.settings
            line.add_metric([p.name], {"baud": str(s.baud), "bytesize": str(s.bytesize), "parity": s.parity,
                                       "stopbits": f"{s.stopbits:g}", "flow": s.flow})
            since.add_metric([p.name], p.since)
            enabled.add_metric([p.name], 1.0 if p.enabled else 0.0)
        return (state, info, line, since, enabled)

    @staticmethod
    def _traffic(ports: list[PortStatus]) -> Iterable[Metric]:
        families = {
            "rx": CounterMetricFamily(PREFIX + "device_received_bytes", "Bytes read from the device.",
                                      labels=["port"]),
            "tx": CounterMetricFamily(PREFIX + "device_sent_bytes", "Bytes written to the device.",
                                      labels=["port"]),
            "out": CounterMetricFamily(PREFIX + "client_sent_bytes",
                                       "Bytes of device output sent to clients (each client counts).",
                                       labels=["port"]),
            "drop": CounterMetricFamily(PREFIX + "client_dropped_bytes",
                                        "Bytes of device output dropped for clients too slow to take them.",
                                        labels=["port"]),
        }
        activity = GaugeMetricFamily(PREFIX + "last_activity_seconds",
                                     "Unix time of the last byte either way (absent before any).",
                                     labels=["port"])
        for p in ports:
            families["rx"].add_metric([p.name], p.rx_bytes)
            families["tx"].add_metric([p.name], p.tx_bytes)
            families["out"].add_metric([p.name], p.client_bytes)
            families["drop"].add_metric([p.name], p.dropped_bytes)
            if p.last_activity is not None:
                activity.add_metric([p.name], p.last_activity)
        return (*families.values(), activity)

    @staticmethod
    def _clients(ports: list[PortStatus]) -> Iterable[Metric]:
        access = GaugeMetricFamily(PREFIX + "clients", "Clients connected, by what they may do.",
                                   labels=["port", "access"])
        protocol = GaugeMetricFamily(PREFIX + "clients_by_protocol",
                                     "Clients connected, by how they speak (rfc2217: Telnet with COM-PORT-OPTION).",
                                     labels=["port", "protocol"])
        for p in ports:
            by_access = dict.fromkeys(ACCESS_KINDS, 0)
            by_protocol = dict.fromkeys(PROTOCOLS, 0)
            for s in p.sessions:
                by_access[s.access] = by_access.get(s.access, 0) + 1
                kind = _protocol(s.kind, s.rfc2217)
                by_protocol[kind] = by_protocol.get(kind, 0) + 1
            for name, count in by_access.items():
                access.add_metric([p.name, name], count)
            for name, count in by_protocol.items():
                protocol.add_metric([p.name, name], count)
        return (access, protocol)

    @staticmethod
    def _events(ports: list[PortStatus]) -> Iterable[Metric]:
        breaks = CounterMetricFamily(PREFIX + "breaks", "Breaks on the serial line, by direction.",
                                     labels=["port", "direction"])
        opens = CounterMetricFamily(PREFIX + "device_opens", "Times the device was opened.", labels=["port"])
        losses = CounterMetricFamily(PREFIX + "device_losses",
                                     "Times the open device vanished (unplugged, I/O error).", labels=["port"])
        for p in ports:
            breaks.add_metric([p.name, "to_device"], p.breaks_to_device)
            breaks.add_metric([p.name, "from_device"], p.breaks_from_device)
            opens.add_metric([p.name], p.device_opens)
            losses.add_metric([p.name], p.device_losses)
        return (breaks, opens, losses)

    @staticmethod
    def _alerts(ports: list[PortStatus]) -> Iterable[Metric]:
        labels = ["port", "alert"]
        matches = CounterMetricFamily(PREFIX + "alert_matches", "Device output lines an alert matched.", labels=labels)
        fired = CounterMetricFamily(PREFIX + "alert_fired", "Matches that fired the action (outside the cooldown).",
                                    labels=labels)
        failures = CounterMetricFamily(PREFIX + "alert_failures",
                                       "Alert commands that failed, timed out or could not start.", labels=labels)
        last = GaugeMetricFamily(PREFIX + "alert_last_match_seconds", "Unix time of the alert's last match.",
                                 labels=labels)
        for p in ports:
            for a in p.alerts:
                matches.add_metric([p.name, a.name], a.matches)
                fired.add_metric([p.name, a.name], a.fired)
                failures.add_metric([p.name, a.name], a.failures)
                if a.last_at is not None:
                    last.add_metric([p.name, a.name], a.last_at)
        return (matches, fired, failures, last)


def make_registry(statuses: Callable[[], list[PortStatus]]) -> CollectorRegistry:
    """A registry with the bridge's collector and prometheus-client's process and platform ones."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BridgeCollector(statuses))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


class MetricsServer:
    """``GET /metrics`` over HTTP/1.x on the event loop.

    Args:
        registry: what a scrape returns.
        host: address to listen on.
        port: TCP port (0: any free port; see ``address``).
        permits: whether a peer (host, port) may be served; others are closed before a byte.
    """

    def __init__(self, registry: CollectorRegistry, host: str, port: int,
                 permits: Callable[[str, int | None], bool] | None = None) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self.permits = permits   # [bridge]'s allow list, as for the control endpoint
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        """host:port really served."""
        port = self.port
        if self._server is not None and self._server.sockets:
            port = int(self._server.sockets[0].getsockname()[1])
        return f"[{self.host}]:{port}" if ":" in self.host else f"{self.host}:{port}"

    async def start(self) -> None:
        """Listen. Raises OSError when the address cannot be bound."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  reuse_address=True, limit=MAX_REQUEST)

    async def close(self) -> None:
        """Stop listening (answers under way finish by themselves, bounded)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self.permits is not None and isinstance(peer, tuple) and not self.permits(str(peer[0]), int(peer[1])):
            writer.transport.abort()
            return
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
                try:
                    status, headers, body = self.answer(head)
                except Exception:  # a bug in a collector: one log entry, a 500, the bridge goes on
                    log.exception("metrics: collecting failed")
                    status, headers, body = "500 Internal Server Error", {}, b"collecting the metrics failed\n"
                writer.write(_response(status, headers, body))
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    def answer(self, head: bytes) -> tuple[str, dict[str, str], bytes]:
        """The response to one request head: (status line text, headers, body)."""
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return "400 Bad Request", {}, b"bad request\n"
        method, target = parts[0], parts[1]
        if urlsplit(target).path != "/metrics":
            return "404 Not Found", {}, b"not found: the metrics are at /metrics\n"
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", {"Allow": "GET, HEAD"}, b"method not allowed\n"
        accept = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "accept":
                accept = value.strip()
        encoder, content_type = choose_encoder(accept)
        body = encoder(self.registry)
        return "200 OK", {"Content-Type": content_type}, b"" if method == "HEAD" else body


def _response(status: str, headers: dict[str, str], body: bytes) -> bytes:
    fields = {"Content-Type": "text/plain; charset=utf-8", **headers,
              "Content-Length": str(len(body)), "Connection": "close"}
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode("latin-1") + body
