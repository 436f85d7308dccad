"""``Access``: the bridge's access layer, as the server uses it (issue 11).

One per bridge. It holds the TLS context, the refusal log and the SSH server,
gives each port worker its ``guard`` (a ``PortGate`` per connection), checks
the control endpoint's peers, warns at start about ports open to the network,
and takes a reloaded config (certificates, users, allow lists).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from bridge.access.allow import AllowList, RefusalLog, is_loopback
from bridge.access.gate import PortGate
from bridge.access.tls import TlsContext, TlsError
from bridge.errors import RuntimeFailure

if TYPE_CHECKING:
    from bridge.access.ssh import SshServer
    from bridge.config.model import BridgeConfig, PortConfig
    from bridge.port.worker import PortWorker

log = logging.getLogger("bridge.access")


class Access:
    """Allow lists, TLS and SSH for one bridge."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.refusals = RefusalLog()
        self.bridge_allow = AllowList(config.allow)
        self.tls: TlsContext | None = None
        self.ssh: SshServer | None = None
        self._handshakes: set[asyncio.Task[None]] = set()
        self._allow_cache: dict[tuple[str, ...] | None, AllowList] = {}
        if config.tls_cert and config.tls_key:
            try:
                self.tls = TlsContext(config.tls_cert, config.tls_key, config.tls_client_ca)
            except TlsError as exc:   # the files changed since the config was checked
                raise RuntimeFailure(f"TLS: {exc}") from None

    # ------------------------------------------------------------ listeners
    def allow_list(self, networks: tuple[str, ...] | None) -> AllowList:
        """The AllowList of a checked ``allow`` value (cached)."""
        found = self._allow_cache.get(networks)
        if found is None:
            found = self._allow_cache[networks] = AllowList(networks)
        return found

    def guard(self, worker: PortWorker, readonly: bool) -> asyncio.BaseProtocol:
        """The protocol of a new connection to ``worker``'s listeners (``PortWorker``'s guard)."""
        cfg = worker.config
        return PortGate(worker, readonly, self.allow_list(cfg.allow), self.tls if cfg.tls else None,
                        self.refusals, self._handshakes)

    def control_permits(self, host: str, port: int | None) -> bool:
        """Whether the control endpoint may serve this peer ([bridge]'s allow); logs refusals."""
        if self.bridge_allow.permits(host):
            return True
        self.refusals.refused("control endpoint", host, port)
        return False

    def control_tls(self) -> ssl.SSLContext | None:
        """The TLS context a ``tls://`` control endpoint serves with (the current one after a reload)."""
        return self.tls.context if self.tls is not None else None

    # ------------------------------------------------------------ lifecycle
    async def start(self, workers: Callable[[], Mapping[str, PortWorker]]) -> None:
        """Warn about exposed ports; start the SSH server when ``ssh_listen`` is set.

        ``ssh_listen`` and ``ssh_host_key`` are read here only: changing them
        needs a restart (a reload takes users, certificates and allow lists).

        Raises:
            OSError: the SSH address cannot be bound.
            RuntimeFailure: the host key is readable by others or cannot be read or made.
        """
        for line in exposure_warnings(self.config, [w.config for w in workers().values()]):
            log.warning("%s", line)
        if self.config.ssh_listen is not None:
            from bridge.access.ssh import SshServer
            self.ssh = SshServer(self, workers)
            await self.ssh.start()

    async def stop(self) -> None:
        """Stop the SSH server (its sessions are closed with their ports) and pending handshakes."""
        if self.ssh is not None:
            await self.ssh.stop()
            self.ssh = None
        for task in list(self._handshakes):
            task.cancel()
        if self._handshakes:
            await asyncio.gather(*self._handshakes, return_exceptions=True)

    def reload(self, config: BridgeConfig) -> list[str]:
        """Take a reloaded config: certificate and key files read again, users and
        allow lists replaced. Returns problems (one line each); on a problem the
        old certificate stays in use."""
        errors: list[str] = []
        self.config = config
        self.bridge_allow = AllowList(config.allow)
        self._allow_cache.clear()
        if config.tls_cert and config.tls_key:
            try:
                if self.tls is None:
                    self.tls = TlsContext(config.tls_cert, config.tls_key, config.tls_client_ca)
                else:
                    self.tls.reload(config.tls_cert, config.tls_key, config.tls_client_ca)
                log.info("TLS: certificate %s loaded", config.tls_cert)
            except TlsError as exc:
                errors.append(f"TLS: {exc}; keeping the certificate in use")
        if self.ssh is not None:
            self.ssh.reload(config)
        return errors


def exposure_warnings(config: BridgeConfig, ports: list[PortConfig]) -> list[str]:
    """One line per port reachable beyond loopback with neither ``allow`` nor TLS client certificates."""
    lines = []
    client_certs = config.tls_client_ca is not None
    for port in ports:
        hosts = [port.listen_host]
        if port.listen_readonly_host is not None:
            hosts.append(port.listen_readonly_host)
        exposed = [h for h in hosts if not is_loopback(h)]
        if not exposed or port.allow is not None or (port.tls and client_certs):
            continue
        what = "TLS without client certificates" if port.tls else "in clear (no TLS)"
        where = " and ".join(h or "*" for h in exposed)
        lines.append(f"port {port.name}: reachable from the network on {where}, {what}, with no allow list: "
                     f"anyone who can reach this host can use {port.device}")
    return lines
