"""Advertising a bridge's ports and control endpoint with mDNS/DNS-SD (zeroconf).

Theory of operation
-------------------
``Advertiser`` keeps one ``_serial-console._tcp`` service per port and one
``_serial-bridge._tcp`` service for a TCP control endpoint (service types and
TXT records: ``bridge.control.discovery``). It never reads ports on its own:
the bridge tells it which port changed (a ``port-state`` event, a port
started or stopped) and it reconciles that port's advertisement with a fresh
status snapshot, in one task so that zeroconf calls never overlap. A port
that stops is withdrawn (goodbye packets); ``close()`` withdraws everything.

Where it speaks: on the interface of ``bind`` (a bridge bound to 127.0.0.1
is advertised on loopback only, with that address), or on every interface
with their addresses for a wildcard bind (0.0.0.0, ::).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from bridge.control.discovery import BRIDGE_TYPE, PORT_TYPE
from bridge.port.status import FAILED, STOPPED, PortStatus

log = logging.getLogger("bridge.mdns")

WILDCARD = frozenset({"", "0.0.0.0", "::"})
MAX_LABEL = 63   # bytes of a DNS label (RFC 6763 section 4.1.1)


def _label(text: str) -> str:
    data = text.encode()[:MAX_LABEL]
    return data.decode(errors="ignore")


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def _local_addresses() -> list[str]:
    """Every address of every interface but loopback (for a wildcard bind)."""
    import ifaddr

    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            host = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            if host not in found and not host.startswith(("127.", "::1", "fe80:")):
                found.append(host)
    return found


class Advertiser:
    """The bridge's mDNS advertisements.

    Args:
        bind: the bridge's ``bind`` (where to advertise, and which address).
        statuses: the bridge's port snapshots, by port name (None: no such port).
        control: the control endpoint as served ("host:port", or a socket path:
            not advertised), and whether it needs a token.
    """

    def __init__(self, bind: str, statuses: Callable[[str], PortStatus | None],
                 control: tuple[str | None, bool]) -> None:
        self.bind = bind
        self._statuses = statuses
        self._control, self._token = control
        self.hostname = socket.gethostname().split(".")[0] or "serial-bridge"
        self._zc: AsyncZeroconf | None = None
        self._registered: dict[str, AsyncServiceInfo] = {}   # port name (or "" for the bridge) -> ServiceInfo
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.bridge_name = f"{_label(self.hostname + ' serial-bridge')}.{BRIDGE_TYPE}"

    # ------------------------------------------------------------- lifecycle
    async def start(self, ports: list[str]) -> None:
        """Start zeroconf and advertise the bridge and ``ports``.

        Raises:
            OSError: multicast cannot be set up on the interface.
        """
        if self.bind in WILDCARD:
            self._zc = AsyncZeroconf(ip_version=IPVersion.All if self.bind == "::" else IPVersion.V4Only)
        else:
            version = IPVersion.V6Only if ":" in self.bind else IPVersion.V4Only
            self._zc = AsyncZeroconf(interfaces=[self.bind], ip_version=version)
        self._dirty.update(["", *ports])
        self._wake.set()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mdns")

    def port_changed(self, name: str) -> None:
        """A port started, stopped or changed state: bring its advertisement up to date."""
        self._dirty.add(name)
        self._dirty.add("")   # the bridge's TXT counts ports
        self._wake.set()

    async def close(self) -> None:
        """Withdraw every advertisement and stop zeroconf."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        zc = self._zc
        if zc is None:
            return
        try:
            await zc.async_unregister_all_services()
        except Exception as exc:  # zeroconf's own errors: still close it
            log.debug("mdns: withdrawing: %s", exc)
        await zc.async_close()
        self._zc = None
        self._registered.clear()

    # ------------------------------------------------------------ reconcile
    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            ports = sorted(n for n in dirty if n)
            results = await asyncio.gather(*(self._reconcile(n) for n in ports), return_exceptions=True)
            if "" in dirty:   # after the ports: its TXT counts them
                results.extend(await asyncio.gather(self._reconcile(""), return_exceptions=True))
            for name, result in zip([*ports, ""], results):
                if isinstance(result, Exception):
                    log.warning("mdns: %s: %s", f"port {name}" if name else "bridge", result)

    async def _reconcile(self, name: str) -> None:
        zc = self._zc
        assert zc is not None
        wanted = self._bridge_info() if name == "" else self._port_info(name)
        old = self._registered.get(name)
        if wanted is None:
            if old is not None:
                del self._registered[name]
                await zc.async_unregister_service(old)
                log.info("mdns: withdrew %s", old.name)
            return
        if old is not None:
            if old.properties == wanted.properties and old.port == wanted.port:
                return
            if old.name == wanted.name:
                self._registered[name] = wanted
                await zc.async_update_service(wanted)
                return
            await zc.async_unregister_service(old)
        self._registered[name] = wanted
        await (await zc.async_register_service(wanted, allow_name_change=True))
        log.info("mdns: advertising %s", wanted.name)

    def _addresses(self, host: str) -> list[str]:
        return _local_addresses() if host in WILDCARD else [host]

    def _info(self, type_: str, instance: str, address: str, properties: dict[str, str]) -> AsyncServiceInfo:
        host, port = _split(address)
        return AsyncServiceInfo(type_, f"{_label(instance)}.{type_}", port=port,
                                parsed_addresses=self._addresses(host), properties=properties,
                                server=f"{_label(self.hostname)}.local.")

    def _bridge_info(self) -> AsyncServiceInfo | None:
        if self._control is None or "/" in self._control:
            return None
        count = sum(1 for n in self._registered if n)
        return self._info(BRIDGE_TYPE, self.hostname + " serial-bridge", self._control,
                          {"v": "1", "token": "required" if self._token else "none",
                           "host": self.hostname, "ports": str(count)})

    def _port_info(self, name: str) -> AsyncServiceInfo | None:
        status = self._statuses(name)
        if status is None or status.state in (STOPPED, FAILED):   # no listener to point at
            return None
        bridge = self.bridge_name if self._control and "/" not in self._control else ""
        return self._info(PORT_TYPE, f"{name}@{self.hostname}", status.listen,
                          {"port": name, "mode": status.mode, "device": status.device[:200],
                           "state": status.state, "bridge": bridge})
