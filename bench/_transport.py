#!/usr/bin/env python3
"""Device transports compared: the daemon's fd reader against pyserial-asyncio.

Run by hand, from the repository (pyserial-asyncio and pyserial-asyncio-fast
are needed only here: ``.venv/bin/pip install pyserial-asyncio
pyserial-asyncio-fast``)::

    .venv/bin/python bench/_transport.py [--size MIB] [--repeat N]

A child process writes random bytes into a pty's master as fast as the
kernel takes them; this process reads the slave through one transport on an
asyncio loop and hashes what it gets. Figures: MB/s (1 MB = 10^6 bytes) and
this process's CPU time per MB (the writer is another process), the median
of ``--repeat`` runs. The SHA-256 costs about 0.7 ms/MB in every row.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _pty import Pty, start_bulk_writer  # noqa: E402

Reader = Callable[[str, int, "hashlib._Hash", asyncio.Event], Coroutine[Any, Any, int]]


class _Sink:
    """A DeviceListener that hashes data and says when enough has come."""

    def __init__(self, size: int, sha: hashlib._Hash) -> None:
        self.size, self.sha, self.got, self.reads = size, sha, 0, 0
        self.done = asyncio.get_running_loop().create_future()

    def device_data(self, data: bytes) -> None:
        """Hash a read; finish at ``size`` bytes."""
        self.sha.update(data)
        self.got += len(data)
        self.reads += 1
        if self.got >= self.size and not self.done.done():
            self.done.set_result(None)

    def device_break(self) -> None:
        """Not expected on a pty."""

    def device_line_error(self, kind: str) -> None:
        """Not expected on a pty."""

    def device_lost(self, exc: BaseException | None) -> None:
        """End the wait early."""
        if not self.done.done():
            self.done.set_result(None)

    def device_write_drained(self) -> None:
        """Unused: nothing is written."""


async def read_fd_device(path: str, size: int, sha: hashlib._Hash, ready: asyncio.Event) -> int:
    """The daemon's own transport: bridge.device's fd reader (os.read of 64 KiB)."""
    from bridge.device.backend import OpenOptions, open_device
    from bridge.device.settings import LineSettings

    device = await open_device(path, LineSettings(baud=115200), OpenOptions(lock_files=False))
    sink = _Sink(size, sha)
    try:
        device.start(sink)
        ready.set()
        await asyncio.wait_for(sink.done, 120)
    finally:
        await device.close()
    return sink.got


def _stream_reader(module: str) -> Reader:
    """A reader through ``module.open_serial_connection`` (a StreamReader)."""

    async def read(path: str, size: int, sha: hashlib._Hash, ready: asyncio.Event) -> int:
        lib = importlib.import_module(module)
        reader, writer = await lib.open_serial_connection(url=path, baudrate=115200)
        ready.set()
        got = 0
        try:
            async with asyncio.timeout(120):
                while got < size:
                    data = await reader.read(65536)
                    if not data:
                        break
                    sha.update(data)
                    got += len(data)
        finally:
            writer.close()
        return got

    return read


READERS: dict[str, tuple[str | None, Reader]] = {
    "bridge fd reader (the daemon's)": (None, read_fd_device),
    "pyserial-asyncio": ("serial_asyncio", _stream_reader("serial_asyncio")),
    "pyserial-asyncio-fast": ("serial_asyncio_fast", _stream_reader("serial_asyncio_fast")),
}


async def _one(reader: Reader, data: bytes, digest: str) -> tuple[float, float, bool]:
    """One transfer: (MB/s, CPU ms per MB of this process, intact)."""
    pty = Pty.open()
    writer = start_bulk_writer(pty.master, data)
    try:
        sha = hashlib.sha256()
        ready = asyncio.Event()
        task = asyncio.create_task(reader(pty.path, len(data), sha, ready))
        async with asyncio.timeout(10):
            await ready.wait()  # the port is open and configured: no byte goes early
        cpu0, start = time.process_time(), time.monotonic()
        writer.pipe.send(b"go")
        got = await task
        seconds, cpu = time.monotonic() - start, time.process_time() - cpu0
    finally:
        writer.stop()
        pty.close()
    mb = len(data) / 1e6
    return mb / seconds, cpu * 1000 / mb, got == len(data) and sha.hexdigest() == digest


def main() -> int:
    """Measure every transport that is importable; print one table."""
    parser = argparse.ArgumentParser(description="device transports on a pty")
    parser.add_argument("--size", type=int, default=64, help="MiB per transfer (default 64)")
    parser.add_argument("--repeat", type=int, default=3, help="transfers per transport (median)")
    args = parser.parse_args()
    import random
    data = random.Random(7).randbytes(args.size << 20)
    digest = hashlib.sha256(data).hexdigest()
    print(f"{'transport':34} {'MB/s':>8} {'CPU ms/MB':>10}  intact")
    for name, (module, reader) in READERS.items():
        if module is not None and importlib.util.find_spec(module) is None:
            print(f"{name:34} not installed")
            continue
        try:
            runs = [asyncio.run(_one(reader, data, digest)) for _ in range(args.repeat)]
        except (TimeoutError, OSError) as exc:
            print(f"{name:34} failed: {type(exc).__name__}: {exc}")
            continue
        rate = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"{name:34} {rate:8.1f} {cpu:10.2f}  {'yes' if all(r[2] for r in runs) else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
