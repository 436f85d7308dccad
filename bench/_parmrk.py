#!/usr/bin/env python3
"""What PARMRK costs on a pseudo-terminal: the kernel's per-character input path.

Run by hand, from the repository::

    .venv/bin/python bench/_parmrk.py [--size MIB] [--repeat N] [--bridge]

With PARMRK (or INPCK) set, Linux's n_tty leaves its "real raw" fast path
(a block copy) and handles every received character on its own, in the
kernel worker that pushes the pty's flip buffer: the reader's CPU hardly
changes, the throughput does. serial-bridge sets PARMRK to see breaks and
parity errors; ser2net does not (it sets IGNBRK).

* default: a child writes into the master, this process reads the slave,
  with and without PARMRK | INPCK on the slave; MB/s and reader CPU ms/MB.
* ``--bridge``: the same through ``python -m bridge serve`` (one raw port):
  device-to-client MB/s as the daemon opened the port, then with PARMRK and
  INPCK cleared behind its back (the termios is shared by every fd of the
  pty). The payload has no 0xFF, which the daemon's mark decoder would
  otherwise misread without PARMRK.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _link import SocketLink, sync  # noqa: E402
from _measure import device_to_client  # noqa: E402
from _proc import BridgeDaemon, PortSpec, free_tcp_ports  # noqa: E402
from _pty import Pty, start_bulk_writer  # noqa: E402

MARKS = termios.PARMRK | termios.INPCK


def set_marks(fd: int, on: bool) -> None:
    """Set or clear PARMRK and INPCK on a tty."""
    attrs = termios.tcgetattr(fd)
    attrs[0] = (attrs[0] | MARKS) if on else (attrs[0] & ~MARKS)
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def direct(data: bytes, marks: bool) -> tuple[float, float]:
    """Read ``data`` from a pty slave: (MB/s, reader CPU ms per MB)."""
    pty = Pty.open()
    set_marks(pty.slave, marks)
    writer = start_bulk_writer(pty.master, data)
    try:
        got = 0
        cpu0, start = time.process_time(), time.monotonic()
        writer.pipe.send(b"go")
        while got < len(data):
            got += len(os.read(pty.slave, 65536))
        seconds, cpu = time.monotonic() - start, time.process_time() - cpu0
    finally:
        writer.stop()
        pty.close()
    mb = len(data) / 1e6
    return mb / seconds, cpu * 1000 / mb


def through_bridge(data: bytes, repeat: int) -> dict[bool, list[float]]:
    """Device-to-client MB/s through the daemon, PARMRK as set by it and cleared."""
    rates: dict[bool, list[float]] = {True: [], False: []}
    digest = hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory(prefix="serial-bridge-parmrk-") as tmp:
        daemon, pty = BridgeDaemon(Path(tmp)), Pty.open()
        spec = PortSpec("p", pty.path, free_tcp_ports(1)[0], "raw")
        try:
            daemon.start([spec])
            link = SocketLink(spec.listen)
            sync(link, pty.master)
            for _ in range(repeat):
                for marks in (True, False):
                    set_marks(pty.slave, marks)
                    flow = device_to_client(link, pty.master, data, digest, daemon.pid)
                    rates[marks].append(flow.mb_s if flow.intact else 0.0)
            link.close()
        finally:
            daemon.stop()
            pty.close()
    return rates


def main() -> int:
    """Print the medians, with PARMRK and without."""
    parser = argparse.ArgumentParser(description="the cost of PARMRK on a pty")
    parser.add_argument("--size", type=int, default=64, help="MiB per transfer")
    parser.add_argument("--repeat", type=int, default=3, help="transfers per case (median)")
    parser.add_argument("--bridge", action="store_true", help="also through serial-bridge")
    args = parser.parse_args()
    data = random.Random(5).randbytes(args.size << 20).replace(b"\xff", b"\xfe")
    for marks in (False, True):
        runs = [direct(data, marks) for _ in range(args.repeat)]
        print(f"pty read, PARMRK|INPCK {'on ' if marks else 'off'}: "
              f"{statistics.median(r[0] for r in runs):6.1f} MB/s, "
              f"reader CPU {statistics.median(r[1] for r in runs):5.2f} ms/MB")
    if args.bridge:
        rates = through_bridge(data, args.repeat)
        for marks in (True, False):
            print(f"serial-bridge device->client, PARMRK|INPCK {'on ' if marks else 'off'}: "
                  f"{statistics.median(rates[marks]):6.1f} MB/s  (runs: "
                  f"{', '.join(f'{r:.1f}' for r in rates[marks])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
