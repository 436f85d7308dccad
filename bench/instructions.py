#!/usr/bin/env python3
"""User-space instructions a daemon executes per keystroke round trip: a count, not a timing.

``python bench/instructions.py [--trips N] [--floor] [--ser2net] [--before DIR] [--top K] [raw] [telnet]``
runs each daemon under valgrind's callgrind with instrumentation off, sets
up a port as ``bench/e2e.py`` does (a pty the benchmark echoes on, a
loopback client, BINARY both ways in telnet mode), makes 300 round trips
to warm up, then counts the instructions of ``N`` one-byte round trips
(``callgrind_control -i on/off``). The count is the same from run to run
within a fraction of a per cent, whatever else the machine does, so a
change of 1 % shows; it leaves out what the kernel spends (the system
calls, which ``strace -c -f`` counts) and what a cache miss costs. Where
bench/e2e.py's CPU per round trip moves by its noise (docs/performance.md),
this says which way the daemon's own code moved, and ``--top`` by which C
functions (Python's own, malloc, the GIL ...).

Needs valgrind (``apt-get install valgrind``); ``--ser2net`` needs ser2net.
Under valgrind a daemon runs about fifty times slower: a few seconds per
thousand trips.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _link import TelnetLink, open_link, sync  # noqa: E402
from _measure import round_trips  # noqa: E402
from _proc import (BenchError, BridgeDaemon, Daemon, FloorDaemon, PortSpec,  # noqa: E402
                   Ser2netDaemon, free_tcp_ports)
from _pty import Pty  # noqa: E402

WARM_UP = 300
START_TIMEOUT = 180.0   # seconds: Python under valgrind starts slowly


def _instrumented(kind: type[Daemon], out: Path) -> type[Daemon]:
    """``kind`` with each of its processes started under callgrind, instrumentation off."""

    class Instrumented(kind):  # type: ignore[valid-type,misc]
        def launches(self, ports: list[PortSpec]) -> list[tuple[tuple[str, ...], list[str]]]:
            return [(modes, ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                             f"--callgrind-out-file={out}.%p", *argv])
                    for modes, argv in super().launches(ports)]

    return Instrumented


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


def count(daemon: Daemon, mode: str, trips: int, out: Path, top: int) -> tuple[float, list[str]]:
    """Instructions per round trip of ``daemon`` (made by ``_instrumented``, writing to
    ``out``.PID) on one ``mode`` port, and its ``top`` costliest functions."""
    pty = Pty.open()
    spec = PortSpec(f"p{mode}", pty.path, free_tcp_ports(1)[0], mode)
    link = None
    try:
        daemon.start([spec], timeout=START_TIMEOUT)
        link = open_link(mode, spec.listen)
        if isinstance(link, TelnetLink):
            link.negotiate_binary()
        sync(link, pty.master, timeout=60.0)
        round_trips(link, pty.master, WARM_UP, None)
        pid = daemon.pid_for(mode)
        _control("--zero", str(pid))
        _control("-i", "on", str(pid))
        measured = round_trips(link, pty.master, trips, None).count + max(10, trips // 20)   # and its warm-up
        _control("-i", "off", str(pid))
        _control("-d", str(pid))
        totals = {}
        for path in out.parent.glob(f"{out.name}.{pid}*"):   # the dump, and the file written at exit
            found = re.search(r"^totals:\s*(\d+)", path.read_text(errors="replace"), re.MULTILINE)
            totals[path] = int(found.group(1)) if found else 0
        dump = max(totals, key=lambda path: totals[path])
        return sum(totals.values()) / measured, _top(dump, top, measured) if top else []
    finally:
        if link is not None:
            link.close()
        daemon.stop()
        pty.close()


def _top(dump: Path, top: int, trips: int) -> list[str]:
    """The ``top`` functions by instructions, per round trip (callgrind_annotate)."""
    text = subprocess.run(["callgrind_annotate", str(dump)], capture_output=True, text=True,
                          timeout=120).stdout
    rows = []
    for line in text.splitlines():
        found = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*)", line)
        if found and "PROGRAM TOTALS" not in line:
            name = re.sub(r"\s*\[.*\]$", "", found.group(2))
            name = re.sub(r"^.*?Python-3[\d.]*/", "", name)
            rows.append(f"{int(found.group(1).replace(',', '')) / trips:9.0f}  {name}")
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    """Count each daemon's instructions per round trip and print one line per daemon and mode."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modes", nargs="*", metavar="raw|telnet", help="the port modes (default: both)")
    parser.add_argument("--trips", type=int, default=2000, help="round trips counted (default 2000)")
    parser.add_argument("--floor", action="store_true", help="also bench/_floor.py (raw only)")
    parser.add_argument("--ser2net", action="store_true", help="also ser2net (its defaults)")
    parser.add_argument("--before", metavar="DIR", type=Path, help="also the bridge package of another tree")
    parser.add_argument("--top", type=int, default=0, metavar="K", help="also the K costliest functions")
    args = parser.parse_args(argv)
    args.modes = args.modes or ["raw", "telnet"]
    if set(args.modes) - {"raw", "telnet"}:
        parser.error(f"modes are raw and telnet; got {' '.join(args.modes)}")
    missing = [tool for tool in ("valgrind", "callgrind_control", "callgrind_annotate") if not shutil.which(tool)]
    if missing:
        print(f"error: {', '.join(missing)} not found (apt-get install valgrind)", file=sys.stderr)
        return 2
    if args.ser2net and not Ser2netDaemon.installed():
        print("error: --ser2net: ser2net is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="serial-bridge-instructions-") as tmp:
        work = Path(tmp)
        makers: list[tuple[str, type[Daemon], dict[str, object]]] = []
        if args.before is not None:
            makers.append(("serial-bridge@before", BridgeDaemon, {"source": args.before.resolve()}))
        makers.append(("serial-bridge", BridgeDaemon, {}))
        if args.floor:
            makers.append(("python floor", FloorDaemon, {}))
        if args.ser2net:
            makers.append(("ser2net", Ser2netDaemon, {}))
        failed = False
        for label, kind, options in makers:
            for mode in args.modes:
                if mode not in kind.modes:
                    continue
                out = work / f"{label}-{mode}".replace(" ", "-")
                daemon = _instrumented(kind, out)(work, **options)
                started = time.monotonic()
                try:
                    per_trip, rows = count(daemon, mode, args.trips, out, args.top)
                except (BenchError, OSError, subprocess.SubprocessError) as exc:
                    print(f"{label:22} {mode:7} failed: {exc}")
                    failed = True
                    continue
                print(f"{label:22} {mode:7} {per_trip:9.0f} instructions per round trip "
                      f"({time.monotonic() - started:.0f} s)")
                for row in rows:
                    print(f"    {row}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
