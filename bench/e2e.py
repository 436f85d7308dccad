#!/usr/bin/env python3
"""End-to-end benchmark: serial-bridge beside ser2net, on pseudo-terminals.

Run by hand (never from the tests), from the repository::

    .venv/bin/python bench/e2e.py            # the full run, a few minutes
    .venv/bin/python bench/e2e.py --quick    # a smoke run, well under a minute
    .venv/bin/python bench/e2e.py --only rtt,idle --no-ser2net
    .venv/bin/python bench/e2e.py --loop lean,asyncio     # serial-bridge on two loops
    .venv/bin/python bench/e2e.py --only rtt --floor      # with the Python floor beside it
    .venv/bin/python bench/e2e.py --only rtt --pyserial DIR   # with pyserial's servers beside it
    .venv/bin/python bench/e2e.py --only rtt --pin --repeat 9  # daemons on their own CPU
    .venv/bin/python bench/e2e.py --only rtt --pin --interleave --repeat 40   # every target up at once

The benchmark plays the serial device on each pty's master and the client
on 127.0.0.1; the daemon under test sits between them. Targets, in one run:
the direct pty (the floor: no daemon), serial-bridge (``python -m bridge
serve``), when installed, ser2net with its defaults (character delay off)
and ser2net with 16 KiB buffers, and with ``--pyserial DIR`` pyserial's
threaded example servers (one process per port). See bench/README.md for
the method.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _link import Link, PtyLink, TelnetLink, open_link, sync  # noqa: E402
from _measure import client_to_device, device_to_client, idle, round_trips  # noqa: E402
from _ports import stream  # noqa: E402
import _proc  # noqa: E402
from _proc import (BenchError, BridgeDaemon, Daemon, FloorDaemon, PortSpec,  # noqa: E402
                   PyserialDaemon, Ser2netDaemon, free_tcp_ports, split_cpus)
from _pty import Pty  # noqa: E402
from _report import Results, print_table  # noqa: E402

SECTIONS = ("rtt", "throughput", "ports", "idle")
KEY_PREFIX = {"rtt": "rtt", "throughput": "tp", "ports": "ports", "idle": "idle"}   # of Results keys


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    sections: frozenset[str]
    rounds: int
    size: int
    stream_seconds: float
    idle_seconds: float
    port_counts: tuple[int, ...]


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Plan]:
    """The command line, and the plan it asks for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help="comma-separated sections: rtt,throughput,ports,idle")
    parser.add_argument("--no-ser2net", action="store_true", help="do not run ser2net")
    parser.add_argument("--no-bridge", action="store_true", help="do not run serial-bridge")
    parser.add_argument("--fleet", action="store_true",
                        help="also run serial-bridge with metrics scraped every second and an alert per port")
    parser.add_argument("--before", metavar="DIR", type=Path,
                        help="also run the bridge package of another source tree (e.g. main, exported)")
    parser.add_argument("--loop", default="lean", metavar="LOOPS",
                        help="serial-bridge's event loop(s), comma-separated, one column each: lean "
                             "(serve's default), asyncio (the standard library's loop unchanged), uvloop")
    parser.add_argument("--floor", action="store_true",
                        help="also run bench/_floor.py, a bare epoll relay in Python (raw round trips "
                             "only): the least any CPython daemon can spend")
    parser.add_argument("--pyserial", metavar="DIR", type=Path,
                        help="also run pyserial's threaded servers, the anchors of issue 10: DIR holds "
                             "rfc2217_server.py and tcp_serial_redirect.py from pyserial's repository "
                             "(examples/); one process per port, so no ports section")
    parser.add_argument("--pin", action="store_true",
                        help="pin every daemon to this machine's last CPU and the benchmark's "
                             "clients and device to the others: less noise from the scheduler, "
                             "the same conditions for every target")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run every target N times, interleaved; the table shows medians")
    parser.add_argument("--interleave", action="store_true",
                        help="rtt only: start every target once and measure them in turn, one block "
                             "of round trips each, N times (--repeat, up to 60), each block in a "
                             "rotated order: slow drift of the machine reaches every target alike")
    parser.add_argument("--stat", choices=("median", "best"), default="median",
                        help="what the table shows of the repeats (best: lowest time "
                             "or CPU, highest MB/s; the least disturbed by other load)")
    parser.add_argument("--from-json", metavar="FILE",
                        help="measure nothing: print the table of a run saved with --json")
    parser.add_argument("--json", metavar="FILE", help="also write every sample as JSON")
    args = parser.parse_args(argv)
    sections = frozenset(s.strip() for s in args.only.split(",") if s.strip())
    unknown = sections - set(SECTIONS)
    if unknown or not sections:
        parser.error(f"--only takes {','.join(SECTIONS)}; got {args.only!r}")
    loops = [name.strip() for name in args.loop.split(",") if name.strip()]
    if not loops or set(loops) - {"lean", "asyncio", "uvloop"} or len(set(loops)) != len(loops):
        parser.error(f"--loop takes lean, asyncio and uvloop, comma-separated; got {args.loop!r}")
    if "uvloop" in loops and importlib.util.find_spec("uvloop") is None:
        parser.error("--loop uvloop: uvloop is not installed (.venv/bin/pip install 'serial-bridge[fast]')")
    args.loops = loops
    if args.pyserial is not None:
        missing = PyserialDaemon.missing(args.pyserial)
        if missing:
            parser.error(f"--pyserial {args.pyserial}: no {' or '.join(missing)} there "
                         "(both come from pyserial's repository, examples/)")
    if args.interleave and sections != {"rtt"}:
        parser.error("--interleave measures round trips only: use it with --only rtt")
    most = 60 if args.interleave else 20
    if not 1 <= args.repeat <= most:
        parser.error(f"--repeat takes 1 to {most}" + ("" if args.interleave else " (60 with --interleave)"))
    if args.quick:
        plan = Plan(sections, rounds=300, size=4 << 20, stream_seconds=2.0,
                    idle_seconds=1.0, port_counts=(1, 16, 64))
    else:
        plan = Plan(sections, rounds=2000, size=64 << 20, stream_seconds=10.0,
                    idle_seconds=5.0, port_counts=(1, 16, 64))
    return args, plan


def payload(size: int) -> tuple[bytes, str]:
    """Reproducible random bytes (every value, 0xFF and CR included) and their SHA-256."""
    data = random.Random(20261123).randbytes(size)
    return data, hashlib.sha256(data).hexdigest()


def _measure_link(out: Results, target: str, mode: str, link: Link, master: int,
                  pid: int | None, plan: Plan, data: tuple[bytes, str]) -> None:
    """Round trips and both throughputs over one link, recorded under ``mode``."""
    if "rtt" in plan.sections:
        rt = round_trips(link, master, plan.rounds, pid)
        out.put(target, f"rtt.{mode}.p50", rt.p50_us)
        out.put(target, f"rtt.{mode}.p99", rt.p99_us)
        out.put(target, f"rtt.{mode}.cpu", rt.cpu_us)
    if "throughput" in plan.sections:
        for direction, run in (("down", device_to_client), ("up", client_to_device)):
            flow = run(link, master, data[0], data[1], pid)
            out.put(target, f"tp.{mode}.{direction}", flow.mb_s)
            out.put(target, f"tp.{mode}.{direction}.ok", "yes" if flow.intact else "NO")
            out.put(target, f"tp.{mode}.{direction}.cpu", flow.cpu_ms_per_mb)


def run_direct(out: Results, plan: Plan, data: tuple[bytes, str]) -> None:
    """The floor: the client reads and writes the pty slave itself."""
    pty = Pty.open()
    try:
        _measure_link(out, "direct pty", "raw", PtyLink(pty.slave), pty.master, None, plan, data)
    finally:
        pty.close()


def _state(daemon: Daemon) -> str:
    """Whether the daemon still runs, and the last line of its log."""
    alive = "running" if daemon.alive() else "exited"
    return f"{daemon.label} {alive}; last log line: {daemon.log_tail()}"


def _connect(daemon: Daemon, ptys: list[Pty], links: list[Link]) -> list[tuple[str, Link, Pty]]:
    """Start ``daemon`` with a raw port on ``ptys[0]`` and a telnet one on ``ptys[1]`` (those of
    its modes), connect a client to each (BINARY both ways on telnet), prove both directions
    work; each link is added to ``links`` (the caller closes them). Returns (mode, link, pty)."""
    specs = [PortSpec(f"p{mode}", pty.path, port, mode)
             for mode, pty, port in zip(("raw", "telnet"), ptys, free_tcp_ports(2))]
    daemon.start([spec for spec in specs if spec.mode in daemon.modes])
    connected = []
    for spec, pty in zip(specs, ptys):
        if spec.mode not in daemon.modes:
            continue
        link = open_link(spec.mode, spec.listen)
        links.append(link)
        if isinstance(link, TelnetLink):
            link.negotiate_binary()
        sync(link, pty.master)
        connected.append((spec.mode, link, pty))
    return connected


def run_single(out: Results, daemon: Daemon, plan: Plan, data: tuple[bytes, str]) -> None:
    """One raw and one telnet port: round trips, throughput, then idle with both connected."""
    ptys = [Pty.open(), Pty.open()]
    links: list[Link] = []
    try:
        for mode, link, pty in _connect(daemon, ptys, links):
            _measure_link(out, daemon.label, mode, link, pty.master, daemon.pid_for(mode), plan, data)
        if "idle" in plan.sections:
            quiet = idle(daemon.pids, plan.idle_seconds)   # summed over a daemon's processes
            out.put(daemon.label, "idle.cpu", quiet.cpu_ms)
    except BenchError as exc:
        raise BenchError(f"{exc} [{_state(daemon)}]") from None
    finally:
        for link in links:
            link.close()
        daemon.stop()
        for pty in ptys:
            pty.close()


def run_ports(out: Results, daemon: Daemon, plan: Plan) -> None:
    """1, 16 and 64 streaming ports, a fresh daemon for each count."""
    for count in plan.port_counts:
        ptys = [Pty.open() for _ in range(count)]
        specs = [PortSpec(f"s{i}", pty.path, port, "raw")
                 for i, (pty, port) in enumerate(zip(ptys, free_tcp_ports(count)))]
        try:
            daemon.start(specs)
            result = stream(daemon.pid, ptys, specs, plan.stream_seconds, plan.idle_seconds)
        except BenchError as exc:
            raise BenchError(f"{exc} [{_state(daemon)}]") from None
        finally:
            daemon.stop()
            for pty in ptys:
                pty.close()
        out.put(daemon.label, f"ports.{count}.cpu", result.cpu_percent)
        out.put(daemon.label, f"ports.{count}.chunk", result.cpu_us_per_chunk)
        out.put(daemon.label, f"ports.{count}.rss", result.peak_rss_kib / 1024)
        out.put(daemon.label, f"ports.{count}.idle", result.idle_cpu_ms)
        out.put(daemon.label, f"ports.{count}.lost", float(result.expected - result.delivered))


def _guarded(out: Results, target: str, step: Callable[[], None]) -> None:
    """Run one target's step, once more if it fails; failures are recorded, the run goes on.

    A retry is recorded too (as a note), so the table says when a daemon
    needed a second chance.
    """
    for attempt in (1, 2):
        try:
            step()
            return
        except (BenchError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            print(f"  {target}: attempt {attempt} failed: {exc}", file=sys.stderr)
            if attempt == 1:
                out.note(target, f"first attempt failed ({reason}); retried")
            else:
                out.fail(target, reason)


def daemons(args: argparse.Namespace, workdir: Path) -> list[Daemon]:
    """The daemons to measure, in table order."""
    found: list[Daemon] = []
    if args.before is not None:
        found.append(BridgeDaemon(workdir, source=args.before.resolve()))
    if not args.no_bridge:
        found += [BridgeDaemon(workdir, loop=loop) for loop in args.loops]
    if args.fleet:
        found.append(BridgeDaemon(workdir, fleet=True))
    if args.floor:
        found.append(FloorDaemon(workdir))
    if not args.no_ser2net:
        if Ser2netDaemon.installed():
            found += [Ser2netDaemon(workdir), Ser2netDaemon(workdir, bufsize=16384)]
        else:
            print("ser2net is not installed: measuring without it", file=sys.stderr)
    if args.pyserial is not None:
        found.append(PyserialDaemon(workdir, args.pyserial.resolve()))
    return found


def scope(out: Results, targets: list[Daemon]) -> None:
    """Record, per target, the rows it is not measured for and why (the table's n/m cells)."""
    out.unmeasure("direct pty", ["rtt.telnet", "tp.telnet", "idle", "ports", "rtt.raw.cpu",
                                 "tp.raw.down.cpu", "tp.raw.up.cpu"],
                  "telnet, daemon CPU, idle and ports (no daemon: the client uses the pty slave itself)")
    for daemon in targets:
        keys = [KEY_PREFIX[s] for s in SECTIONS if s not in daemon.sections]
        keys += [f"{prefix}.{mode}" for mode in ("raw", "telnet") if mode not in daemon.modes
                 for prefix in ("rtt", "tp")]
        if keys:
            out.unmeasure(daemon.label, keys, daemon.not_measured or ", ".join(keys))


def run_round(out: Results, targets: list[Daemon], plan: Plan, data: tuple[bytes, str]) -> None:
    """Every target once, in table order."""
    if plan.sections & {"rtt", "throughput"}:
        print("direct pty ...", file=sys.stderr)
        _guarded(out, "direct pty", partial(run_direct, out, plan, data))
    whole = plan
    for daemon in targets:
        print(f"{daemon.label} ...", file=sys.stderr)
        plan = replace(whole, sections=whole.sections & daemon.sections)
        if plan.sections & {"rtt", "throughput", "idle"}:
            _guarded(out, daemon.label, partial(run_single, out, daemon, plan, data))
        if "ports" in plan.sections:
            _guarded(out, daemon.label, partial(run_ports, out, daemon, plan))


def run_interleaved(out: Results, targets: list[Daemon], plan: Plan, blocks: int) -> None:
    """Round trips with every target started once: ``blocks`` times, one block of
    ``plan.rounds`` trips per target and mode, the order rotated by one target
    each time, so that what drifts on the machine over the run (other load,
    clock speed) reaches every target alike. Each block is one sample of the
    table's medians. A target that fails to start is reported and left out."""
    ptys: list[Pty] = []
    started: list[Daemon] = []
    links: list[Link] = []
    lanes: list[tuple[str, list[tuple[str, Link, int, int | None]]]] = []   # label, (mode, link, master, pid)
    try:
        pty = Pty.open()
        ptys.append(pty)
        lanes.append(("direct pty", [("raw", PtyLink(pty.slave), pty.master, None)]))
        for daemon in targets:
            print(f"{daemon.label}: starting", file=sys.stderr)
            mine = [Pty.open(), Pty.open()]
            ptys += mine
            try:
                started.append(daemon)
                lane: list[tuple[str, Link, int, int | None]] = [
                    (mode, link, pty.master, daemon.pid_for(mode)) for mode, link, pty in _connect(daemon, mine, links)]
            except BenchError as exc:
                out.fail(daemon.label, f"{exc} [{_state(daemon)}]")
                continue
            lanes.append((daemon.label, lane))
        for block in range(blocks):
            print(f"block {block + 1} of {blocks}", file=sys.stderr)
            turn = block % len(lanes)
            for label, blocks_lane in lanes[turn:] + lanes[:turn]:
                for mode, link, master, pid in blocks_lane:
                    try:
                        rt = round_trips(link, master, plan.rounds, pid)
                    except BenchError as exc:
                        out.fail(label, f"{mode} round trips, block {block + 1}: {exc}")
                        continue
                    out.put(label, f"rtt.{mode}.p50", rt.p50_us)
                    out.put(label, f"rtt.{mode}.p99", rt.p99_us)
                    out.put(label, f"rtt.{mode}.cpu", rt.cpu_us)
    finally:
        for link in links:
            link.close()
        for daemon in started:
            daemon.stop()
        for pty in ptys:
            pty.close()


def show_saved(path: Path, stat: str, plan: Plan) -> int:
    """Print the table of a saved run (sizes and durations as given on this command line)."""
    try:
        saved = json.loads(path.read_text())
        out = Results(columns=saved["columns"], values=saved["values"],
                      failures=saved["failures"], notes=saved.get("notes", {}),
                      unmeasured=saved.get("unmeasured", {}),
                      unmeasured_why=saved.get("unmeasured_why", {}), stat=stat)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {path}: not a saved run: {exc}", file=sys.stderr)
        return 2
    print_table(out, plan.rounds, plan.size, plan.stream_seconds, plan.idle_seconds)
    return 1 if out.failures else 0


def main(argv: list[str] | None = None) -> int:
    """Run the plan against every target (``--repeat`` times) and print one table."""
    args, plan = parse_args(argv)
    if args.from_json:
        return show_saved(Path(args.from_json), args.stat, plan)
    if args.pin:
        try:
            own, daemon_cpus = split_cpus()
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        os.sched_setaffinity(0, own)   # the clients and the device (child processes inherit it)
        _proc.DAEMON_CPUS = daemon_cpus
    data = payload(plan.size)
    out = Results(stat=args.stat)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="serial-bridge-bench-") as tmp:
        targets = daemons(args, Path(tmp))
        out.columns = ["direct pty"] + [d.label for d in targets]
        scope(out, targets)
        if args.interleave:
            run_interleaved(out, targets, plan, args.repeat)
        for index in range(0 if args.interleave else args.repeat):
            if args.repeat > 1:
                print(f"round {index + 1} of {args.repeat}", file=sys.stderr)
            run_round(out, targets, plan, data)
    print_table(out, plan.rounds, plan.size, plan.stream_seconds, plan.idle_seconds)
    load = f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    pinned = f"; daemons pinned to CPU {','.join(map(str, sorted(_proc.DAEMON_CPUS or ())))}" if args.pin else ""
    what = (f"{args.repeat} interleaved block(s) of {plan.rounds} trips per target and mode"
            if args.interleave else f"{args.repeat} round(s)")
    print(f"{what}; {os.cpu_count()} CPUs{pinned}; {load}")
    if args.json:
        saved = out.as_dict()
        saved["daemon_cpus"] = sorted(_proc.DAEMON_CPUS) if _proc.DAEMON_CPUS is not None else None
        Path(args.json).write_text(json.dumps(saved, indent=2) + "\n")
    return 1 if out.failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
