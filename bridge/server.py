"""BridgeServer: every port worker, start-up, reload, signals, shutdown.

Lifecycle (uvicorn's shape): ``startup()`` binds every listener and starts
the workers, ``serve()`` waits for a signal, ``shutdown()`` stops the workers
(telling their clients) within a timeout. SIGHUP re-reads the config: new
ports start, removed ports stop, changed ports restart, untouched ports keep
their sessions. The first SIGINT/SIGTERM is graceful; a second one forces.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.access.policy import Access
from bridge.control.target import AttachedSession, BridgeEvent
from bridge.device.settings import LineSettings, check_line_changes
from bridge.errors import RuntimeFailure
from bridge.fleet.fleet import Fleet
from bridge.port.status import FAILED, UP, WAITING, PortStateChanged, PortStatus
from bridge.port.worker import DeviceOpener, DeviceWaiter, PortWorker

if TYPE_CHECKING:
    from bridge.config.model import BridgeConfig, PortConfig

log = logging.getLogger("bridge.server")

SHUTDOWN_TIMEOUT = 5.0
FIRST_OPEN_TIMEOUT = 10.0
LISTEN_RETRY_MIN = 1.0    # seconds before a port that could not listen tries again,
LISTEN_RETRY_MAX = 60.0   # doubling up to this


@dataclasses.dataclass(slots=True)
class FailedPort:
    """A port whose listener could not bind: shown as ``failed`` and retried with back-off."""

    worker: PortWorker          # the attempt that failed (never started), for its status
    reason: str                 # one line: "cannot listen on 127.0.0.1:7001: Address already in use"
    since: float                # time.time() of the first failure
    retry: asyncio.Task[None] | None = None

    def status(self) -> PortStatus:
        return dataclasses.replace(self.worker.status(), state=FAILED, error=self.reason, since=self.since)


class BridgeServer:
    """All ports of one bridge; implements ``bridge.control.target.ControlTarget``."""

    def __init__(self, config: BridgeConfig, *, opener: DeviceOpener | None = None,
                 waiter: DeviceWaiter | None = None,
                 reloader: Callable[[], BridgeConfig] | None = None) -> None:
        self.config = config
        self.workers: dict[str, PortWorker] = {}
        self.failed: dict[str, FailedPort] = {}   # ports that could not listen, retried
        self._opener = opener
        self._waiter = waiter
        self._reloader = reloader
        self._subscribers: list[Callable[[BridgeEvent], None]] = []
        self._stop = asyncio.Event()
        self._signals = 0
        self._control: Any = None
        self._reload_lock = asyncio.Lock()
        self._shutting_down = False
        self.access = Access(config)   # allow lists, TLS, SSH (issue 11)
        self.fleet = Fleet(config, self._emit)   # issue 14: metrics, alerts, mDNS

    # ============================================================ lifecycle
    async def startup(self) -> None:
        """Start every port; raises RuntimeFailure when a required port cannot open."""
        for note in self.config.notes:   # what the config asks for and this install lacks
            log.warning("%s", note)
        for port in self.config.ports:
            await self._start_port(port, at_startup=True)
        if self.config.ports and not self.workers:
            reasons = "; ".join(f"port {name}: {f.reason}" for name, f in self.failed.items())
            raise RuntimeFailure(f"no port could start ({reasons})")
        await self._check_required()
        await self._start_access()
        await self._start_control()
        await self.fleet.start(self, self._control)
        self._notify_systemd(ready=True)

    async def _start_port(self, port: PortConfig, *, at_startup: bool = False) -> PortWorker | None:
        """Start one port's worker; a port that cannot listen is kept as failed and
        retried with back-off (None), unless it is required and the bridge is
        starting (RuntimeFailure: serve exits 1)."""
        worker = self._new_worker(port)
        try:
            await worker.start()
        except OSError as exc:
            reason = _listen_failure(worker, exc)
            if port.required and at_startup:
                raise RuntimeFailure(f"port {port.name}: {reason}") from exc
            log.error("port %s: %s (retrying in %.0f s)", port.name, reason, LISTEN_RETRY_MIN)
            self._fail_port(worker, reason)
            return None
        self.workers[port.name] = worker
        self.fleet.port_started(worker)
        return worker

    def _new_worker(self, port: PortConfig) -> PortWorker:
        """A port's worker, not started (a first start and every listen retry build one)."""
        return PortWorker(port, emit=lambda event: self._emit(BridgeEvent.from_port_event(event)),
                          opener=self._opener, waiter=self._waiter, guard=self.access.guard)

    def _fail_port(self, worker: PortWorker, reason: str) -> None:
        self._forget_failed(worker.name)
        failed = FailedPort(worker, reason, time.time())
        self.failed[worker.name] = failed
        failed.retry = asyncio.get_running_loop().create_task(
            self._retry_listen(failed), name=f"listen-retry-{worker.name}")
        self._emit(BridgeEvent.from_port_event(PortStateChanged(worker.name, FAILED, reason)))

    def _forget_failed(self, name: str) -> None:
        """Stop retrying a failed port (removed, changed, or shutting down)."""
        failed = self.failed.pop(name, None)
        if failed is not None and failed.retry is not None and failed.retry is not asyncio.current_task():
            failed.retry.cancel()

    async def _retry_listen(self, failed: FailedPort) -> None:
        """Try a failed port's listener again, waiting LISTEN_RETRY_MIN doubling to LISTEN_RETRY_MAX."""
        name, delay = failed.worker.name, LISTEN_RETRY_MIN
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, LISTEN_RETRY_MAX)
            async with self._reload_lock:   # a reload or shutdown decides first
                if self._shutting_down or self.failed.get(name) is not failed:
                    return
                worker = self._new_worker(failed.worker.config)
                try:
                    await worker.start()
                except OSError as exc:
                    reason = _listen_failure(worker, exc)
                    if reason != failed.reason:
                        log.error("port %s: %s", name, reason)
                        failed.reason = reason
                        self._emit(BridgeEvent.from_port_event(PortStateChanged(name, FAILED, reason)))
                    log.debug("port %s: still cannot listen; next try in %.0f s", name, delay)
                    continue
                del self.failed[name]
                self.workers[name] = worker
                self.fleet.port_started(worker)
                return

    async def _check_required(self) -> None:
        """Wait for every port's first attempt to open its device (bounded), then
        fail if a required one could not open."""
        pending = {w.name: w.first_open for w in self.workers.values() if w.first_open is not None}
        if pending:
            await asyncio.wait([asyncio.shield(f) for f in pending.values()], timeout=FIRST_OPEN_TIMEOUT)
        for worker in self.workers.values():
            future = pending.get(worker.name)
            if not worker.config.required or future is None:
                continue
            problem = future.result() if future.done() else "the device did not open in time"
            if problem is not None:
                raise RuntimeFailure(f"port {worker.name} is required and cannot open: {problem}")

    async def _start_access(self) -> None:
        """Exposure warnings and the SSH server (issue 11)."""
        try:
            await self.access.start(lambda: self.workers)
        except OSError as exc:
            raise RuntimeFailure(f"SSH: cannot listen on {self.config.ssh_listen}: {exc.strerror or exc}") from exc

    async def _start_control(self) -> None:
        address = self.config.control
        try:
            from bridge.control.server import ControlServer
        except ImportError:
            return
        if address == "":
            return
        if address is None:
            from bridge.control.address import default_control_address
            address = default_control_address()
        try:
            self._control = ControlServer(self, address, self.config.control_token,
                                          permits=self.access.control_permits, tls=self.access.control_tls)
            await self._control.start()
            log.info("control endpoint on %s", address)
        except (OSError, ValueError) as exc:
            log.error("control endpoint %s: %s (the bridge runs without it)", address, exc)
            self._control = None

    def install_signal_handlers(self, *, hangup_reloads: bool = True) -> None:
        """SIGINT/SIGTERM stop (a second one forces); SIGHUP reloads the config,
        or, for a program attached to a terminal (the demo), stops as a hang-up should."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        if hangup_reloads:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload()))
        else:
            loop.add_signal_handler(signal.SIGHUP, self._on_stop_signal, signal.SIGHUP)

    def remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)

    async def serve(self) -> None:
        """Run until request_stop() or a stop signal."""
        # Keep systemd's STATUS current, only when running under systemd:
        # an idle bridge otherwise has no timer at all.
        status_task = (asyncio.get_running_loop().create_task(self._status_loop())
                       if os.environ.get("NOTIFY_SOCKET") else None)
        try:
            await self._stop.wait()
        finally:
            if status_task is not None:
                status_task.cancel()

    def _on_stop_signal(self, sig: int) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("%s: stopping", signal.Signals(sig).name)
            self._shutting_down = True
            self._stop.set()
        else:
            log.warning("%s again: stopping now", signal.Signals(sig).name)
            os._exit(0)

    def request_stop(self) -> None:
        """Ask serve() to return (as SIGTERM does)."""
        self._shutting_down = True
        self._stop.set()

    async def shutdown(self) -> None:
        """Stop every port, telling clients; gives up waiting after SHUTDOWN_TIMEOUT."""
        self._notify_systemd(stopping=True)
        self._shutting_down = True
        await self.fleet.close()
        if self._control is not None:
            await self._control.close()
        await self.access.stop()
        try:   # a reload under way finishes first, so no port it starts is left running
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await self._reload_lock.acquire()
        except TimeoutError:
            log.warning("shutdown: a reload did not finish within %.0f s", SHUTDOWN_TIMEOUT)
        for name in list(self.failed):
            self._forget_failed(name)
        workers = list(self.workers.values())
        self.workers.clear()
        if workers:
            try:
                async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                    await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
            except TimeoutError:
                log.warning("shutdown: some ports did not stop within %.0f s", SHUTDOWN_TIMEOUT)
        if self._reload_lock.locked():
            self._reload_lock.release()

    async def run(self) -> None:
        """startup, serve, shutdown, with the signal handlers in place throughout."""
        self.install_signal_handlers()
        try:
            await self.startup()
            await self.serve()
        finally:
            await self.shutdown()
            self.remove_signal_handlers()

    # =============================================================== reload
    async def reload(self) -> dict[str, list[str]]:
        """Re-read the config and apply the differences port by port.

        Reloads run one at a time (a SIGHUP during a reload waits for it). A
        port whose new config cannot start (its new address is taken) goes on
        with its old config, and the error is reported.
        """
        async with self._reload_lock:
            return await self._reload()

    async def _reload(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {"added": [], "removed": [], "changed": [], "bridge": [],
                                        "errors": [], "rejected": []}
        if self._shutting_down:
            result["errors"].append("the bridge is shutting down")
            return result
        if self._reloader is None:
            result["errors"].append("this bridge has no config file to reload")
            return result
        try:
            new = self._reloader()
        except Exception as exc:  # ConfigError and I/O errors: keep running as before
            for line in str(exc).splitlines() or [repr(exc)]:
                log.error("reload: %s", line)
                result["errors"].append(line)
                result["rejected"].append(line)   # nothing of the file was taken
            log.error("reload: the configuration file was rejected; the bridge runs on as before")
            return result
        for note in new.notes:
            log.warning("reload: %s", note)
        for line in self.access.reload(new):
            log.error("reload: %s", line)
            result["errors"].append(line)
        from bridge.config.model import bridge_differences, port_differences
        result["bridge"] = bridge_differences(self.config, new)
        old_ports = {w.name: w.config for w in self.workers.values()}
        new_ports = {p.name: p for p in new.ports}
        for name, failed in list(self.failed.items()):   # ports still trying to listen
            if name not in new_ports:
                self._forget_failed(name)
                result["removed"].append(name)
            elif port_differences(failed.worker.config, new_ports[name]):
                self._forget_failed(name)   # started afresh below, with the new config
        for name in old_ports.keys() - new_ports.keys():
            await self.workers.pop(name).stop("port removed from the configuration")
            result["removed"].append(name)
        changed = [n for n, p in old_ports.items() if n in new_ports and port_differences(p, new_ports[n])]
        for name in changed:   # all stopped first: two ports may swap listen addresses
            await self.workers.pop(name).stop("port configuration changed; reconnect")
        for name in changed:
            if await self._start_port(new_ports[name]) is not None:
                result["changed"].append(name)
            else:
                result["errors"].append(f"port {name}: the new configuration could not start; kept the old one")
                self._forget_failed(name)
                await self._start_port(old_ports[name])
        for name, port in new_ports.items():
            if self._shutting_down:   # stopping: start nothing more
                result["errors"].append("the bridge is shutting down; reload stopped")
                break
            if name not in self.workers and name not in changed and name not in self.failed:
                if await self._start_port(port) is None:
                    result["errors"].append(f"port {name}: could not start")
                else:
                    result["added"].append(name)
        self.config = new
        await self.fleet.reconfigure(new)
        log.info("reload: %s", ", ".join(f"{k} {v}" for k, v in result.items() if v) or "no changes")
        return result

    # ============================================================== systemd
    def _notify_systemd(self, *, ready: bool = False, stopping: bool = False) -> None:
        address = os.environ.get("NOTIFY_SOCKET")
        if not address:
            return
        lines = [f"STATUS={self.summary()}"]
        if ready:
            lines.insert(0, "READY=1")
        if stopping:
            lines.insert(0, "STOPPING=1")
        if address.startswith("@"):
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(lines).encode(), address)
        except OSError as exc:
            log.debug("sd_notify: %s", exc)

    def summary(self) -> str:
        """One line for systemd's STATUS: "4 ports: 3 up, 1 waiting for /dev/ttyUSB3"."""
        workers = list(self.workers.values())
        up = sum(1 for w in workers if w.state == UP)
        waiting = [w for w in workers if w.state == WAITING]
        parts = [f"{up} up"]
        if waiting:
            parts.append(f"{len(waiting)} waiting for " + ", ".join(w.config.device for w in waiting))
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        other = len(workers) - up - len(waiting)
        if other:
            parts.append(f"{other} other")
        total = len(workers) + len(self.failed)
        return f"{total} port{'s' if total != 1 else ''}: " + ", ".join(parts)

    async def _status_loop(self) -> None:
        last = ""
        while True:
            await asyncio.sleep(5)
            now = self.summary()
            if now != last:
                self._notify_systemd()
                last = now

    # ========================================================= control API
    def _emit(self, event: BridgeEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("control subscriber failed")

    def subscribe(self, callback: Callable[[BridgeEvent], None]) -> Callable[[], None]:
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)
        return unsubscribe

    def _worker(self, name: str) -> PortWorker:
        try:
            return self.workers[name]
        except KeyError:
            failed = self.failed.get(name)
            if failed is not None:
                raise ValueError(f"port {name} is not running: {failed.reason}") from None
            raise KeyError(f"no port named {name!r}") from None

    def permits(self, host: str, port: int | None) -> bool:
        """Whether [bridge]'s allow list lets this peer reach the metrics listener; a refusal
        is logged once a minute per source, as on every other listener."""
        if self.access.bridge_allow.permits(host):
            return True
        self.access.refusals.refused("metrics", host, port)
        return False

    def port_statuses(self) -> list[PortStatus]:
        """Every port, failed ones included, in the config's order."""
        order = {port.name: index for index, port in enumerate(self.config.ports)}
        statuses = ([self.fleet.with_alerts(w.status()) for w in self.workers.values()]
                    + [f.status() for f in self.failed.values()])
        return sorted(statuses, key=lambda status: order.get(status.name, len(order)))

    def port_status(self, name: str) -> PortStatus:
        failed = self.failed.get(name)
        return failed.status() if failed is not None else self.fleet.with_alerts(self._worker(name).status())

    async def set_line_settings(self, name: str, changes: dict[str, Any]) -> LineSettings:
        worker = self._worker(name)
        await worker.change_settings(validate_line_changes(changes), by=None)
        return worker.settings

    async def send_break(self, name: str) -> None:
        await self._worker(name).send_break()

    async def send_ip(self, name: str) -> None:
        await self._worker(name).send_ip()

    async def enable_port(self, name: str) -> None:
        await self._worker(name).set_enabled(True)

    async def disable_port(self, name: str) -> None:
        await self._worker(name).set_enabled(False)

    async def kick_session(self, name: str, session_id: int) -> None:
        worker = self._worker(name)
        for session in worker.sessions:
            if session.id == session_id:
                session.close("disconnected by the operator")
                return
        raise ValueError(f"port {name} has no session {session_id}")

    def history(self, name: str) -> bytes:
        return self._worker(name).history.snapshot()

    def add_tail(self, name: str, callback: Callable[[bytes], None]) -> Callable[[], None]:
        return self._worker(name).add_tail(callback)

    async def attach(self, name: str, peer: str, on_output: Callable[[bytes], None],
                     on_close: Callable[[str], None]) -> AttachedSession:
        from bridge.port.attach import attach_session
        return attach_session(self._worker(name), peer, on_output, on_close)


def _listen_failure(worker: PortWorker, exc: OSError) -> str:
    """One line: "cannot listen on 127.0.0.1:7001: Address already in use"."""
    why = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
    return f"cannot listen on {worker.listen_address}: {why}"


def validate_line_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes with values normalised; raises ValueError (one line) unless every
    change is a valid line setting (``bridge.device.settings.check_line_changes``)."""
    return check_line_changes(changes)
