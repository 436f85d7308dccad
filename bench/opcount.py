#!/usr/bin/env python3
"""Python bytecodes and calls the daemon runs per keystroke round trip: a count, not a timing.

``python bench/opcount.py [--loop lean|asyncio] [--trips N] [--top K] [raw] [telnet]``
runs one port in this process, on the event loop named, with its device on
a pseudo-terminal and a loopback client in a thread. After 200 round trips
of warm-up it counts, with ``sys.settrace`` (opcode events) in the loop's
thread only, what N one-byte round trips cost: client -> socket -> device
-> echoed by the test -> device -> socket -> client. Telnet mode negotiates
BINARY both ways first, as the benchmark's telnet client does. The machine's
load does not move these numbers; docs/performance.md quotes them.

To count another tree, run this file with ``PYTHONPATH`` set to it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import socket
import sys
import threading
import time
import tty
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, os.environ.get("PYTHONPATH") or str(Path(__file__).resolve().parent.parent))

from bridge.config.load import parse_config  # noqa: E402
from bridge.leanloop import LeanEventLoop  # noqa: E402
from bridge.port.worker import PortWorker  # noqa: E402

WARM_UP = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(port: int, master: int, mode: str, trips: int, go: threading.Event,
            counting: threading.Event, done: threading.Event) -> None:
    """Connect, settle, warm up, then ``trips`` counted round trips (the test echoes as the device)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if mode == "telnet":
        sock.sendall(bytes([255, 251, 0, 255, 253, 0]))   # IAC WILL BINARY, IAC DO BINARY
    time.sleep(1.5)   # past the opening
    sock.setblocking(False)
    try:
        sock.recv(65536)
    except BlockingIOError:
        pass
    sock.setblocking(True)

    def trip() -> None:
        sock.sendall(b"a")
        os.write(master, os.read(master, 100))
        sock.recv(100)

    for _ in range(WARM_UP):
        trip()
    go.set()
    counting.wait(10)
    for _ in range(trips):
        trip()
    done.set()
    sock.close()


def count(mode: str, loop_name: str, trips: int) -> tuple[collections.Counter[str], bool]:
    """Counts for ``trips`` round trips: "ops", "calls", and "ops:NAME" / "calls:NAME" per function."""
    counts: collections.Counter[str] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        name = frame.f_code.co_qualname
        counts["calls"] += 1
        counts["calls:" + name] += 1

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode":
                counts["ops"] += 1
                counts["ops:" + name] += 1
            return local
        return local

    async def main() -> bool:
        master, slave = os.openpty()
        tty.setraw(master)
        port = _free_port()
        text = (f'[bridge]\ncontrol = ""\nlock_files = false\nbanner = false\nhistory = 0\n'
                f'[[port]]\nname = "p"\ndevice = "{os.ttyname(slave)}"\nlisten = {port}\nmode = "{mode}"\n')
        worker = PortWorker(parse_config(text, "<opcount>").ports[0])
        await worker.start()
        assert worker.first_open is not None
        await worker.first_open
        go, counting, done = threading.Event(), threading.Event(), threading.Event()
        threading.Thread(target=_client, args=(port, master, mode, trips, go, counting, done),
                         daemon=True).start()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, go.wait, 30)
        sys.settrace(tracer)
        counting.set()
        await loop.run_in_executor(None, done.wait, 60)   # no timer runs meanwhile
        sys.settrace(None)
        direct = bool(getattr(worker, "direct_path", False))
        await worker.stop()
        os.close(master)
        os.close(slave)
        return direct

    factory = LeanEventLoop if loop_name == "lean" else asyncio.SelectorEventLoop
    with asyncio.Runner(loop_factory=factory) as runner:
        direct = runner.run(main())
    return counts, direct


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modes", nargs="*", help="raw, telnet (default: both)")
    parser.add_argument("--loop", default="lean", choices=["lean", "asyncio"])
    parser.add_argument("--trips", type=int, default=1000)
    parser.add_argument("--top", type=int, default=12, help="functions listed, by bytecodes per trip")
    args = parser.parse_args(argv)
    if not set(args.modes) <= {"raw", "telnet"}:
        parser.error("modes are raw and telnet")
    for mode in args.modes or ["raw", "telnet"]:
        counts, direct = count(mode, args.loop, args.trips)
        n = args.trips
        print(f"{mode} on the {args.loop} loop{' (direct path)' if direct else ''}: "
              f"{counts['ops'] / n:.0f} bytecodes and {counts['calls'] / n:.1f} Python calls per round trip")
        per_function = sorted(((value, key[4:]) for key, value in counts.items() if key.startswith("ops:")),
                              reverse=True)
        for value, name in per_function[:args.top]:
            print(f"  {value / n:7.1f} bytecodes {counts['calls:' + name] / n:5.2f} calls  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
