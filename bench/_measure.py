"""The single-port measurements: keystroke round trip, bulk throughput, idle CPU.

Each function takes a :class:`~_link.Link` (the client's end), the pty master
(the device's end) and, for a daemon, the pid of the process serving that
link so that its CPU time can be read before and after. Timing uses
``perf_counter_ns`` (round trips) and ``time.monotonic`` (shared by all
processes, so a child can stamp the end).
"""

from __future__ import annotations

import hashlib
import statistics
import time
from dataclasses import dataclass

from _link import Link
from _proc import BenchError, cpu_seconds
from _pty import drain, start_bulk_reader, start_bulk_writer, start_echo

STALL = 10.0  # seconds without progress that fail a transfer


@dataclass(frozen=True)
class RoundTrips:
    """Keystroke round trips: percentiles in microseconds, daemon CPU per trip."""

    count: int
    p50_us: float
    p99_us: float
    cpu_us: float | None


@dataclass(frozen=True)
class Flow:
    """One bulk transfer: rate, integrity and the daemon's CPU cost."""

    size: int
    mb_s: float
    intact: bool
    cpu_ms_per_mb: float | None


@dataclass(frozen=True)
class Idle:
    """CPU a daemon used while nothing happened."""

    seconds: float
    cpu_ms: float


def _cpu(pid: int | None) -> float:
    """CPU seconds of ``pid``, or 0 when there is no daemon (direct pty)."""
    return cpu_seconds(pid) if pid else 0.0


def _one_trip(link: Link, key: bytes) -> int:
    """Send one byte and wait for it to come back; nanoseconds taken."""
    start = time.perf_counter_ns()
    link.send_wire(key)
    got = b""
    while not got:
        got = link.recv(2.0)
        if not got:
            raise BenchError("a keystroke did not come back within 2 s")
    return time.perf_counter_ns() - start


def round_trips(link: Link, master: int, count: int, pid: int | None) -> RoundTrips:
    """Time ``count`` one-byte round trips through an echoing device."""
    echo = start_echo(master)
    try:
        for _ in range(max(10, count // 20)):
            _one_trip(link, b"a")
        cpu0 = _cpu(pid)
        samples = [_one_trip(link, b"a") for _ in range(count)]
        cpu1 = _cpu(pid)
    finally:
        echo.stop()
        drain(master)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    cpu_us = (cpu1 - cpu0) / count * 1e6 if pid else None
    return RoundTrips(count=count, p50_us=cuts[49] / 1000, p99_us=cuts[98] / 1000, cpu_us=cpu_us)


def _flow(size: int, seconds: float, intact: bool, cpu: float, pid: int | None) -> Flow:
    """A Flow from what a transfer measured."""
    mb = size / 1e6
    return Flow(size=size, mb_s=mb / seconds if seconds > 0 else 0.0, intact=intact,
                cpu_ms_per_mb=cpu * 1000 / mb if pid else None)


def device_to_client(link: Link, master: int, data: bytes, digest: str, pid: int | None) -> Flow:
    """The device writes ``data`` as fast as it can; the client reads and hashes it."""
    writer = start_bulk_writer(master, data)
    try:
        sha = hashlib.sha256()
        got = 0
        cpu0 = _cpu(pid)
        start = time.monotonic()
        writer.pipe.send(b"go")
        while got < len(data):
            chunk = link.recv(STALL)
            if not chunk:
                raise BenchError(f"device to client stalled after {got} of {len(data)} bytes")
            sha.update(chunk)
            got += len(chunk)
        seconds = time.monotonic() - start
        cpu = _cpu(pid) - cpu0
    finally:
        writer.stop()
    return _flow(len(data), seconds, got == len(data) and sha.hexdigest() == digest, cpu, pid)


def client_to_device(link: Link, master: int, data: bytes, digest: str, pid: int | None) -> Flow:
    """The client sends ``data`` as fast as it can; the device reads and hashes it."""
    wire = link.encode(data)
    limit = STALL + len(data) / 1e6  # a generous bound: 1 MB/s at worst
    reader = start_bulk_reader(master, len(data), limit)
    try:
        cpu0 = _cpu(pid)
        start = time.monotonic()
        link.send_wire(wire)
        if not reader.pipe.poll(limit):
            raise BenchError("client to device: the device side did not finish")
        count, hexdigest, end = reader.pipe.recv()
        cpu = _cpu(pid) - cpu0
    finally:
        reader.stop()
    if count < len(data):
        raise BenchError(f"client to device stalled after {count} of {len(data)} bytes")
    return _flow(len(data), end - start, count == len(data) and hexdigest == digest, cpu, pid)


def idle(pids: tuple[int, ...], seconds: float) -> Idle:
    """The CPU of the daemon's processes ``pids``, summed, over ``seconds`` of no traffic at all."""
    cpu0 = sum(cpu_seconds(pid) for pid in pids)
    start = time.monotonic()
    time.sleep(seconds)
    cpu1 = sum(cpu_seconds(pid) for pid in pids)
    return Idle(seconds=time.monotonic() - start, cpu_ms=(cpu1 - cpu0) * 1000)
