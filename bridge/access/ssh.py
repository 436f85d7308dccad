"""The SSH server (issue 11): placeholder until the next step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.access.policy import Access
    from bridge.config.model import BridgeConfig
    from bridge.port.worker import PortWorker


class SshServer:
    def __init__(self, access: Access, workers: Callable[[], Mapping[str, PortWorker]]) -> None:
        self.access = access
        self.workers = workers

    async def start(self) -> None:
        raise OSError("SSH is not built yet")

    async def stop(self) -> None:
        pass

    def reload(self, config: BridgeConfig) -> None:
        pass
