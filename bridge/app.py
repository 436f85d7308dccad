"""make_bridge(): the one place where a bridge's objects are assembled."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.server import BridgeServer

if TYPE_CHECKING:
    from bridge.config.model import BridgeConfig
    from bridge.port.worker import DeviceOpener, DeviceWaiter


def make_bridge(config: BridgeConfig, *, opener: DeviceOpener | None = None,
                waiter: DeviceWaiter | None = None,
                reloader: Callable[[], BridgeConfig] | None = None) -> BridgeServer:
    """A BridgeServer for ``config``; ``reloader`` re-reads the config on SIGHUP."""
    return BridgeServer(config, opener=opener, waiter=waiter, reloader=reloader)
