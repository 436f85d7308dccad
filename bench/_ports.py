"""Many ports at once: every device streams like a 115200-baud console.

Each device writes a 64-byte line 180 times a second (11,520 bytes/s, what a
115200-baud 8N1 line carries), the writes of all ports spread evenly in time.
One raw client per port counts what arrives. The daemon's CPU is read from
/proc over the streaming window, its peak RSS (VmHWM) at the end; before the
stream starts, the same clients sit idle for a while to show the CPU spent
doing nothing.
"""

from __future__ import annotations

import selectors
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from _link import SocketLink, sync
from _proc import BenchError, PortSpec, cpu_seconds, peak_rss_kib
from _pty import Pty, start_streamer

LINE = b"[  12.345678] console: a 115200-baud line of boot log text ...\r\n"
RATE = 180.0  # lines per second per port: 11,520 bytes/s
assert len(LINE) == 64


@dataclass(frozen=True)
class Streaming:
    """What ``stream`` measured for one port count."""

    ports: int
    seconds: float
    cpu_percent: float
    cpu_us_per_chunk: float
    idle_cpu_ms: float
    idle_seconds: float
    peak_rss_kib: int
    expected: int
    delivered: int


def _idle(pid: int, seconds: float) -> tuple[float, float]:
    """CPU milliseconds over ``seconds`` of connected, silent clients; and the seconds."""
    cpu0, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - cpu0) * 1000, time.monotonic() - start


def _receive(links: list[SocketLink], pipe: Connection, pid: int,
             seconds: float) -> tuple[list[int], int, float, float]:
    """Count bytes per link until the streamer is done and the counts settle.

    Returns (counts, expected total, CPU seconds, wall seconds of the window).
    """
    sel = selectors.DefaultSelector()
    for index, link in enumerate(links):
        link.sock.setblocking(False)
        sel.register(link.sock, selectors.EVENT_READ, index)
    counts = [0] * len(links)
    cpu0, start = cpu_seconds(pid), time.monotonic()
    pipe.send(b"go")
    expected = -1
    cpu = wall = 0.0
    give_up = start + seconds * 3 + 30
    while expected < 0 or sum(counts) < expected:
        for key, _ in sel.select(0.05):
            data = key.fileobj.recv(65536)  # type: ignore[union-attr]
            if not data:
                raise BenchError(f"port {key.data}: the daemon closed the connection")
            counts[key.data] += len(data)
        if expected < 0 and pipe.poll():
            message = pipe.recv()
            if isinstance(message, tuple):
                cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - start
                expected = sum(message[1]) * len(LINE)
                give_up = time.monotonic() + 5.0
        if time.monotonic() > give_up:
            break
    sel.close()
    return counts, max(expected, 0), cpu, wall


def stream(pid: int, ptys: list[Pty], specs: list[PortSpec], seconds: float,
           idle_seconds: float) -> Streaming:
    """Connect a raw client per port, sit idle, then stream and count.

    Raises:
        BenchError: a connection failed or the daemon closed one.
    """
    links = [SocketLink(spec.listen) for spec in specs]
    streamer = None
    try:
        for link, pty in zip(links, ptys):
            sync(link, pty.master)
        idle_ms, idle_wall = _idle(pid, idle_seconds)
        streamer = start_streamer([p.master for p in ptys], LINE, RATE, seconds)
        counts, expected, cpu, wall = _receive(links, streamer.pipe, pid, seconds)
        rss = peak_rss_kib(pid)
    finally:
        if streamer is not None:
            streamer.stop()
        for link in links:
            link.close()
    chunks = expected // len(LINE)
    return Streaming(ports=len(specs), seconds=wall, cpu_percent=100 * cpu / wall if wall else 0.0,
                     cpu_us_per_chunk=cpu / chunks * 1e6 if chunks else 0.0,
                     idle_cpu_ms=idle_ms, idle_seconds=idle_wall, peak_rss_kib=rss,
                     expected=expected, delivered=sum(counts))
