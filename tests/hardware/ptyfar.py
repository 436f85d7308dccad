"""The far end of a loopback plug or a null-modem cable, made of pseudo-terminals.

A thread copies what the device side (the pty slave) writes back into a pty
master: into the same pty for a loopback plug, into the other pty for a
null-modem pair. A transform can corrupt the bytes, and ``silent`` drops
them, so that tests can see the self-test fail.
"""

from __future__ import annotations

import os
import pty
import select
import threading
from collections.abc import Callable


class PtyFarEnd:
    """One pty (loopback) or two (pair) whose masters echo or cross-copy in a thread."""

    def __init__(self, count: int = 1, transform: Callable[[bytes], bytes] | None = None,
                 silent: bool = False) -> None:
        self._pairs = [pty.openpty() for _ in range(count)]
        for master, _ in self._pairs:
            os.set_blocking(master, False)  # a full pty never blocks the thread: bytes are dropped
        self.paths = [os.ttyname(slave) for _, slave in self._pairs]
        self._transform = transform or (lambda data: data)
        self._silent = silent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._copy, name="pty-far-end", daemon=True)
        self._thread.start()

    def _peer(self, master: int) -> int:
        masters = [m for m, _ in self._pairs]
        return masters[(masters.index(master) + 1) % len(masters)]

    def _copy(self) -> None:
        masters = [m for m, _ in self._pairs]
        while not self._stop.is_set():
            ready, _, _ = select.select(masters, [], [], 0.05)
            for master in ready:
                try:
                    data = os.read(master, 4096)
                    if data and not self._silent:
                        os.write(self._peer(master), self._transform(data))
                except OSError:
                    continue

    def close(self) -> None:
        """Stop the copying thread (bounded wait) and close every pty."""
        self._stop.set()
        self._thread.join(timeout=5)
        for master, slave in self._pairs:
            os.close(master)
            os.close(slave)
