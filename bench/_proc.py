"""The daemons under test: serial-bridge, ser2net, pyserial's servers, started and measured.

Each daemon is started in the foreground from a config file written into a
scratch directory, waited for until every listener is in LISTEN state (read
from /proc/net/tcp, so that no probe connection opens a device), and stopped
with SIGTERM, then SIGKILL if it lingers. Its CPU time (schedstat of every
thread, in ns) and peak RSS (VmHWM) are read from /proc.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
_LISTEN = "0A"


class BenchError(Exception):
    """A measurement could not be made; the message says why, in one line."""


# CPUs every daemon's threads are pinned to once it listens (``e2e.py --pin``);
# None: the scheduler places them, as it places the benchmark's own processes.
DAEMON_CPUS: set[int] | None = None


def split_cpus() -> tuple[set[int], set[int]]:
    """For ``--pin``: (the benchmark's CPUs, the daemons' CPU), the last CPU this
    process may run on going to the daemons.

    Raises:
        BenchError: fewer than two CPUs to split.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise BenchError(f"--pin needs two CPUs; this process may use {len(cpus)}")
    return set(cpus[:-1]), {cpus[-1]}


def pin(pid: int, cpus: set[int]) -> None:
    """Pin every thread of process ``pid`` to ``cpus`` (threads it starts later inherit it)."""
    try:
        tasks = [int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return   # gone: the caller's next step reports it
    for task in tasks:
        try:
            os.sched_setaffinity(task, cpus)
        except OSError:
            continue   # a thread that just ended


@dataclass(frozen=True)
class PortSpec:
    """One bridged port: a pty slave path, a TCP port on 127.0.0.1, a mode."""

    name: str
    device: str
    listen: int
    mode: str  # "raw" or "telnet"


def free_tcp_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 right now."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def listening_ports() -> set[int]:
    """TCP ports in LISTEN state on this host (IPv4 and IPv6)."""
    ports: set[int] = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def cpu_seconds(pid: int) -> float:
    """CPU time of a process, all its threads, in seconds, to the nanosecond.

    Summed from each thread's /proc/PID/task/TID/schedstat (time on a CPU,
    in ns): utime + stime in /proc/PID/stat count in 10 ms clock ticks,
    too coarse for a few thousand round trips. Falls back to /proc/PID/stat
    when schedstat is not there.
    """
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, IndexError, ValueError):
                continue  # a thread that just ended
    except OSError:
        total = 0
    return total / 1e9 if total else stat_cpu_seconds(pid)


def stat_cpu_seconds(pid: int) -> float:
    """User + system CPU time from /proc/PID/stat (whole process, 10 ms ticks)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Daemon:
    """A daemon under test: one process (or one per port); subclasses write its config and commands."""

    label = "daemon"
    modes: tuple[str, ...] = ("raw", "telnet")   # the port modes it serves
    sections = frozenset({"rtt", "throughput", "ports", "idle"})   # what it is measured for
    not_measured = ""   # why a mode or section is left out, for the table's n/m cells

    def __init__(self, workdir: Path) -> None:
        """Prepare to run in ``workdir`` (config and log files go there)."""
        self.workdir = workdir
        self.cwd = REPO   # python -m puts it first on sys.path
        self.processes: list[tuple[tuple[str, ...], subprocess.Popen[bytes]]] = []
        self.log_path = workdir / f"{self.label}.log"

    @property
    def pid(self) -> int:
        """The running daemon's process id (the first process's, for a daemon of several)."""
        assert self.processes
        return self.processes[0][1].pid

    def pid_for(self, mode: str) -> int:
        """The id of the process serving the ``mode`` port ("raw" or "telnet").

        Raises:
            BenchError: no running process serves that mode.
        """
        for modes, process in self.processes:
            if mode in modes:
                return process.pid
        raise BenchError(f"{self.label}: no process serves a {mode} port")

    @property
    def pids(self) -> tuple[int, ...]:
        """Every running process of the daemon."""
        return tuple(process.pid for _, process in self.processes)

    def command(self, ports: list[PortSpec]) -> list[str]:
        """Write the config for ``ports`` and return the command line."""
        raise NotImplementedError

    def launches(self, ports: list[PortSpec]) -> list[tuple[tuple[str, ...], list[str]]]:
        """The processes to start: the modes each serves, and its command line.

        One process serving every mode unless a subclass says otherwise.
        """
        return [(self.modes, self.command(ports))]

    def env(self) -> dict[str, str] | None:
        """The daemon's environment (None: this process's)."""
        return None

    def start(self, ports: list[PortSpec], timeout: float = 15.0) -> None:
        """Start the daemon's process(es) and wait until every port listens.

        Raises:
            BenchError: a process exited or the ports did not listen in time (with
                the log's last line).
        """
        launches = self.launches(ports)
        with open(self.log_path, "ab") as log:
            for modes, argv in launches:
                self.processes.append((modes, subprocess.Popen(
                    argv, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    env=self.env())))
        wanted = {p.listen for p in ports}
        deadline = time.monotonic() + timeout
        while not wanted <= listening_ports():
            for _, process in self.processes:
                if process.poll() is not None:
                    raise BenchError(f"{self.label} exited with {process.returncode}: "
                                     f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"{self.label} did not listen within {timeout:.0f} s: "
                                 f"{self.log_tail()}")
            time.sleep(0.05)
        if DAEMON_CPUS is not None:
            for _, process in self.processes:
                pin(process.pid, DAEMON_CPUS)

    def alive(self) -> bool:
        """True while every process of the daemon runs."""
        return bool(self.processes) and all(p.poll() is None for _, p in self.processes)

    def stop(self) -> None:
        """SIGTERM every process, wait up to 5 s for each, then SIGKILL (idempotent)."""
        processes, self.processes = [p for _, p in self.processes], []
        running = [p for p in processes if p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(5.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5.0)

    def log_tail(self) -> str:
        """The last non-empty line of the daemon's log, or a placeholder."""
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            lines = []
        return lines[-1].strip() if lines else "(no output)"


class BridgeDaemon(Daemon):
    """``python -m bridge serve --config FILE --loop LOOP`` from this repository.

    Args:
        workdir: scratch directory.
        source: run the ``bridge`` package of this source tree instead (PYTHONPATH),
            for a before/after comparison; the label says ``@before``.
        fleet: turn on issue 14's features: metrics (scraped once a second by a
            thread of this process while the daemon runs) and one alert per port
            that the payload never matches; the label says ``+fleet``.
        loop: ``lean`` (serve's default), ``asyncio`` or ``uvloop``, as ``serve --loop``
            takes; the label names any but the default.
    """

    label = "serial-bridge"

    def __init__(self, workdir: Path, *, source: Path | None = None, fleet: bool = False,
                 loop: str = "lean") -> None:
        self.source = source
        self.fleet = fleet
        self.loop = loop
        if loop != "lean":
            self.label = f"serial-bridge-{loop}"
        if source is not None:
            self.label = "serial-bridge@before"
        elif fleet:
            self.label = "serial-bridge+fleet"
        super().__init__(workdir)
        if source is not None:
            self.cwd = source
        self.metrics_port = 0
        self.scrapes = 0
        self._scraping: threading.Event | None = None
        self._scraper: threading.Thread | None = None

    def env(self) -> dict[str, str] | None:
        if self.source is None:
            return None
        return dict(os.environ, PYTHONPATH=str(self.source))

    def command(self, ports: list[PortSpec]) -> list[str]:
        """Write a TOML config without control socket traffic, banner, history or locks."""
        lines = [
            "[bridge]",
            f'control = "{self.workdir / (self.label + ".sock")}"',
            "lock_files = false", "banner = false", "history = 0", "connect_rate = 0", "",
        ]
        if self.fleet:
            self.metrics_port = free_tcp_ports(1)[0]
            lines.append(f'metrics = "127.0.0.1:{self.metrics_port}"')
        lines.append("")
        alert = ["[[port.alert]]", 'name = "panic"', "pattern = '^Kernel panic - not syncing'", ""]
        for port in ports:
            lines += ["[[port]]", f'name = "{port.name}"', f'device = "{port.device}"',
                      f"listen = {port.listen}", f'mode = "{port.mode}"', "baud = 115200", ""]
            if self.fleet:
                lines += alert
        path = self.workdir / f"{self.label}.toml"
        path.write_text("\n".join(lines))
        loop = [] if self.source is not None else ["--loop", self.loop]   # an older tree may lack --loop
        return [sys.executable, "-m", "bridge", "serve", "--config", str(path), *loop]

    def start(self, ports: list[PortSpec], timeout: float = 15.0) -> None:
        """Start, then (with ``fleet``) scrape /metrics once a second until ``stop``."""
        super().start(ports, timeout)
        if self.fleet:
            self._scraping = threading.Event()
            self._scraper = threading.Thread(target=self._scrape, args=(self._scraping,), daemon=True)
            self._scraper.start()

    def _scrape(self, stop: threading.Event) -> None:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        while not stop.wait(1.0):
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    answer.read()
                self.scrapes += 1
            except OSError:
                pass

    def stop(self) -> None:
        """Stop scraping, then the daemon."""
        if self._scraping is not None and self._scraper is not None:
            self._scraping.set()
            self._scraper.join(10)
            self._scraping = self._scraper = None
        super().stop()


class Ser2netDaemon(Daemon):
    """ser2net 4 in the foreground, character delay off, optional buffer sizes."""

    label = "ser2net"

    def __init__(self, workdir: Path, bufsize: int | None = None) -> None:
        """Run ser2net; ``bufsize`` sets dev-to-net and net-to-dev buffer sizes."""
        if bufsize is not None:
            self.label = f"ser2net-{bufsize // 1024}k"
        super().__init__(workdir)
        self.bufsize = bufsize

    @staticmethod
    def installed() -> bool:
        """True when a ser2net binary is on PATH."""
        return shutil.which("ser2net") is not None

    def command(self, ports: list[PortSpec]) -> list[str]:
        """Write a YAML config, one connection per port."""
        lines = ["%YAML 1.1", "---"]
        for port in ports:
            accepter = ("telnet(rfc2217),tcp(nodelay)" if port.mode == "telnet" else "tcp(nodelay)")
            lines += [f"connection: &{port.name}",
                      f"  accepter: {accepter},127.0.0.1,{port.listen}",
                      f"  connector: serialdev,{port.device},115200n81,local",
                      "  options:", "    chardelay: false", "    kickolduser: true"]
            if self.bufsize:
                lines += [f"    dev-to-net-bufsize: {self.bufsize}",
                          f"    net-to-dev-bufsize: {self.bufsize}"]
        path = self.workdir / f"{self.label}.yaml"
        path.write_text("\n".join(lines) + "\n")
        return ["ser2net", "-n", "-d", "-u", "-c", str(path)]


class FloorDaemon(Daemon):
    """bench/_floor.py: a bare epoll relay in Python, the interpreter's floor (raw round trips only)."""

    label = "python floor"
    modes = ("raw",)
    sections = frozenset({"rtt"})
    not_measured = "everything but raw round trips (a relay with no logic, no Telnet)"

    def command(self, ports: list[PortSpec]) -> list[str]:
        """One ``PTY:PORT`` argument per raw port."""
        floor = Path(__file__).resolve().parent / "_floor.py"
        return [sys.executable, str(floor), *(f"{p.device}:{p.listen}" for p in ports if p.mode == "raw")]


class PyserialDaemon(Daemon):
    """pyserial's threaded example servers, the keystroke anchors of issue 10: one process per port.

    The raw port runs ``python DIR/tcp_serial_redirect.py -q -P PORT DEVICE 115200``,
    the telnet port ``python DIR/rfc2217_server.py -p PORT DEVICE`` through
    bench/_pyserial_pty.py (which lets pyserial ignore the modem-line ioctls a
    pty refuses, as its ``open()`` already does; see that file). Both scripts
    come from pyserial's repository (``examples/``), not from pip. Each serves
    one connection at a time and listens on every interface (their ``bind('')``).

    Args:
        workdir: scratch directory (the log).
        examples: the directory holding both scripts.
    """

    label = "pyserial"
    sections = frozenset({"rtt", "throughput", "idle"})
    not_measured = "ports (one process per port: 64 ports would be 64 interpreters, not what it is for)"
    RAW = "tcp_serial_redirect.py"
    TELNET = "rfc2217_server.py"

    def __init__(self, workdir: Path, examples: Path) -> None:
        super().__init__(workdir)
        self.examples = examples

    @classmethod
    def missing(cls, examples: Path) -> list[str]:
        """The scripts not found in ``examples`` (empty when both are there)."""
        return [name for name in (cls.RAW, cls.TELNET) if not (examples / name).is_file()]

    def launches(self, ports: list[PortSpec]) -> list[tuple[tuple[str, ...], list[str]]]:
        """One server per port, of the kind its mode needs."""
        shim = Path(__file__).resolve().parent / "_pyserial_pty.py"
        out: list[tuple[tuple[str, ...], list[str]]] = []
        for port in ports:
            if port.mode == "raw":
                argv = [sys.executable, str(self.examples / self.RAW), "-q", "-P", str(port.listen),
                        port.device, "115200"]
            else:
                argv = [sys.executable, str(shim), str(self.examples / self.TELNET),
                        "-p", str(port.listen), port.device]
            out.append(((port.mode,), argv))
        return out
