"""Finding bridges on the local network by mDNS/DNS-SD (issue 14), the client side.

A bridge with ``mdns = true`` advertises (``bridge.fleet.mdns``):

* its control endpoint, when it is TCP, as a ``_serial-bridge._tcp`` service
  whose TXT records are ``v`` (the control protocol version), ``token``
  (``required`` or ``none``), ``host`` (the bridge's host name) and ``ports``
  (how many);
* each port as a ``_serial-console._tcp`` service: its SRV record names the
  port's listener, its TXT records ``port`` (name), ``mode`` (telnet | raw),
  ``device``, ``state`` (starting | up | waiting-for-device | disabled) and
  ``bridge`` (the control service's instance name, "" when there is none).

``BridgeBrowser`` follows the control services and reports each bridge
found or gone as a ``FoundBridge``; the dashboard (``--discover``) turns them
into sources like the ``--control`` ones. docs/fleet.md describes it all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

log = logging.getLogger(__name__)

BRIDGE_TYPE = "_serial-bridge._tcp.local."
PORT_TYPE = "_serial-console._tcp.local."
RESOLVE_TIMEOUT_MS = 3000


@dataclass(frozen=True, slots=True)
class FoundBridge:
    """A bridge advertised on the network, or one whose advertisement went away.

    Attributes:
        name: the service instance name (unique on the network), for labels.
        address: its control endpoint, ``host:port`` (``[v6]:port``); "" when gone.
        token_required: the endpoint wants a control token.
        gone: the bridge withdrew its advertisement (or its records expired).
    """

    name: str
    address: str = ""
    token_required: bool = False
    gone: bool = False


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def instance_label(service_name: str) -> str:
    """The instance part of a full service name: ``lab-pi._serial-bridge._tcp.local.`` -> ``lab-pi``."""
    for suffix in (BRIDGE_TYPE, PORT_TYPE):
        if service_name.endswith("." + suffix):
            return service_name[: -len(suffix) - 1]
    return service_name


class BridgeBrowser:
    """Browses for ``_serial-bridge._tcp`` services with zeroconf.

    Args:
        interface: browse only on the interface with this address (for example
            ``127.0.0.1``); None: every interface.
    """

    def __init__(self, interface: str | None = None) -> None:
        self.interface = interface
        self._queue: asyncio.Queue[FoundBridge] = asyncio.Queue(maxsize=1000)
        self._closed = False

    async def found(self) -> AsyncIterator[FoundBridge]:
        """Bridges as they appear, change address or go, until ``close``.

        Raises:
            OSError: multicast cannot be set up on the interface.
        """
        from zeroconf import IPVersion, ServiceStateChange
        from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

        interfaces: list[str] | None = [self.interface] if self.interface else None
        version = IPVersion.V6Only if self.interface and ":" in self.interface else (
            IPVersion.V4Only if self.interface else IPVersion.All)
        zc = (AsyncZeroconf(interfaces=interfaces, ip_version=version) if interfaces
              else AsyncZeroconf(ip_version=version))
        loop = asyncio.get_running_loop()
        pending: set[asyncio.Task[None]] = set()

        async def resolve(name: str) -> None:
            info = AsyncServiceInfo(BRIDGE_TYPE, name)
            if not await info.async_request(zc.zeroconf, RESOLVE_TIMEOUT_MS) or not info.port:
                return
            hosts = info.parsed_scoped_addresses()
            if not hosts:
                return
            props = {k.decode(errors="replace"): (v or b"").decode(errors="replace")
                     for k, v in info.properties.items()}
            self._put(FoundBridge(name=instance_label(name), address=_address(hosts[0], info.port),
                                  token_required=props.get("token") == "required"))

        def changed(zeroconf: object, service_type: str, name: str,
                    state_change: ServiceStateChange) -> None:
            if state_change is ServiceStateChange.Removed:
                self._put(FoundBridge(name=instance_label(name), gone=True))
                return
            task = loop.create_task(resolve(name))
            pending.add(task)
            task.add_done_callback(pending.discard)

        browser = AsyncServiceBrowser(zc.zeroconf, BRIDGE_TYPE, handlers=[changed])
        try:
            while not self._closed:
                item = await self._queue.get()
                if self._closed:
                    break
                yield item
        finally:
            for task in pending:
                task.cancel()
            await browser.async_cancel()
            await zc.async_close()

    def _put(self, found: FoundBridge) -> None:
        try:
            self._queue.put_nowait(found)
        except asyncio.QueueFull:
            log.debug("discovery: dropped %s", found)

    def close(self) -> None:
        """End ``found()`` at its next bridge."""
        self._closed = True
        self._put(FoundBridge(name=""))
