"""``Fleet``: a bridge's metrics endpoint, alerts and mDNS advertisements, wired together.

The server calls it at five points: ``port_started(worker)`` for each port
it starts (alerts hook the port's device output), ``start(bridge, control)``
once the ports and the control endpoint run, ``with_alerts(status)`` when it
builds a port snapshot, ``reconfigure(config)`` after a reload and
``close()`` first thing at shutdown. A bridge with none of ``metrics``,
``mdns`` and ``[[port.alert]]`` set gets no tail, no listener and no task.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from bridge.config.values import split_listen
from bridge.port.status import PortStatus

if TYPE_CHECKING:
    from bridge.config.model import BridgeConfig, PortConfig
    from bridge.control.target import BridgeEvent
    from bridge.fleet.alerts import AlertMatcher, CommandRunner
    from bridge.fleet.mdns import Advertiser
    from bridge.fleet.metrics import MetricsServer

log = logging.getLogger("bridge.fleet")


class TailedPort(Protocol):
    """What alerts need of a port worker."""

    name: str
    config: PortConfig

    def add_tail(self, callback: Callable[[bytes], None]) -> Callable[[], None]: ...


class Bridge(Protocol):
    """What metrics and mDNS need of the bridge (``BridgeServer``)."""

    def port_statuses(self) -> list[PortStatus]: ...
    def port_status(self, name: str) -> PortStatus: ...
    def subscribe(self, callback: Callable[[BridgeEvent], None]) -> Callable[[], None]: ...
    def permits(self, host: str, port: int | None) -> bool: ...


class Fleet:
    """Metrics, alerts and mDNS for one bridge."""

    def __init__(self, config: BridgeConfig, emit: Callable[[BridgeEvent], None] | None = None) -> None:
        """Args:
            config: the bridge's config.
            emit: where an ``alert`` event goes when an alert fires (the control API's subscribers).
        """
        self.config = config
        self._emit = emit
        self.runner: CommandRunner | None = None   # made for the first port with alerts
        self._matchers: dict[str, AlertMatcher] = {}
        self._bridge: Bridge | None = None
        self._control: tuple[str | None, bool] = (None, False)
        self.metrics: MetricsServer | None = None
        self.mdns: Advertiser | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------------ alerts
    def port_started(self, worker: TailedPort) -> None:
        """A port worker started: hook its alerts (none: nothing at all) and advertise it."""
        self._matchers.pop(worker.name, None)
        if worker.config.alert:
            # Imported here: a bridge without alerts never loads them (issue 10: 64 ports under 32 MB).
            from bridge.fleet.alerts import AlertMatcher, CommandRunner

            if self.runner is None:
                self.runner = CommandRunner()
            matcher = AlertMatcher(worker.name, worker.config.alert, self.runner, self._alert_fired)
            worker.add_tail(matcher.feed)
            self._matchers[worker.name] = matcher
        if self.mdns is not None:
            self.mdns.port_changed(worker.name)

    def _alert_fired(self, port: str, alert: str, line: str) -> None:
        if self._emit is not None:
            from bridge.control.target import BridgeEvent

            self._emit(BridgeEvent(kind="alert", port=port, data={"alert": alert, "line": line}))

    def with_alerts(self, status: PortStatus) -> PortStatus:
        """``status`` with its port's alert counts (the same object when it has no alert)."""
        matcher = self._matchers.get(status.name)
        if matcher is None:
            return status
        return dataclasses.replace(status, alerts=matcher.statuses())

    # --------------------------------------------------------------- lifecycle
    async def start(self, bridge: Bridge, control: Any) -> None:
        """Serve metrics and advertise, as the config asks; a failure is one ERROR line.

        Args:
            bridge: the bridge whose ports are reported.
            control: the running ``ControlServer`` (its ``address`` and ``token``), or None.
        """
        self._bridge = bridge
        if control is not None:
            self._control = (str(control.address), bool(control.token))
        self._unsubscribe = bridge.subscribe(self._on_event)
        await self._start_metrics()
        await self._start_mdns()

    async def _start_metrics(self) -> None:
        address = self.config.metrics
        if address is None or self._bridge is None:
            return
        try:
            from bridge.fleet.metrics import MetricsServer, make_registry
        except ImportError as exc:
            log.error("metrics: %s; install it with: pip install 'serial-bridge[metrics]' "
                      "(the bridge runs without metrics)", exc)
            return
        host, port = split_listen(address)
        server = MetricsServer(make_registry(self._bridge.port_statuses), host or self.config.bind, port,
                               permits=self._bridge.permits)
        try:
            await server.start()
        except OSError as exc:
            log.error("metrics on %s: %s (the bridge runs without metrics)", address, exc.strerror or exc)
            return
        self.metrics = server
        log.info("metrics on http://%s/metrics", server.address)

    async def _start_mdns(self) -> None:
        if not self.config.mdns or self._bridge is None:
            return
        try:
            from bridge.fleet.mdns import Advertiser
        except ImportError as exc:
            log.error("mdns: %s; install it with: pip install 'serial-bridge[mdns]' "
                      "(the bridge runs without mDNS)", exc)
            return
        control, _ = self._control
        if control is None or "/" in control:
            log.warning("mdns: the control endpoint is not TCP (%s): ports are advertised, but "
                        "dashboards on the network cannot manage this bridge; set control = "
                        '"HOST:PORT" and control_token', control or "off")
        advertiser = Advertiser(self.config.bind, self._status_or_none, self._control)
        try:
            await advertiser.start([s.name for s in self._bridge.port_statuses()])
        except (OSError, ValueError) as exc:
            log.error("mdns: cannot advertise on %s: %s (the bridge runs without it)", self.config.bind, exc)
            await advertiser.close()
            return
        self.mdns = advertiser
        log.info("mdns: advertising on %s", self.config.bind)

    def _status_or_none(self, name: str) -> PortStatus | None:
        if self._bridge is None:
            return None
        try:
            return self._bridge.port_status(name)
        except KeyError:
            return None

    def _on_event(self, event: BridgeEvent) -> None:
        if event.kind == "port-state" and self.mdns is not None:
            self.mdns.port_changed(event.port)

    async def reconfigure(self, config: BridgeConfig) -> None:
        """After a reload: restart the metrics endpoint or mDNS when their keys changed."""
        old, self.config = self.config, config
        for name in [n for n in self._matchers if n not in config.names]:
            del self._matchers[name]
        if self._bridge is None:
            return
        if (old.metrics, old.bind) != (config.metrics, config.bind):
            if self.metrics is not None:
                await self.metrics.close()
                self.metrics = None
            await self._start_metrics()
        if (old.mdns, old.bind) != (config.mdns, config.bind):
            if self.mdns is not None:
                await self.mdns.close()
                self.mdns = None
            await self._start_mdns()
        elif self.mdns is not None:
            for name in {*old.names, *config.names}:
                self.mdns.port_changed(name)

    async def close(self) -> None:
        """Withdraw advertisements, stop serving metrics, kill alert commands still running."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.mdns is not None:
            await self.mdns.close()
            self.mdns = None
        if self.metrics is not None:
            await self.metrics.close()
            self.metrics = None
        if self.runner is not None:
            await self.runner.close()
