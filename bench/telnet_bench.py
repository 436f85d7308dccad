"""Throughput of the sans-IO Telnet engine (not a test): MB/s received and sent.

Run: ``.venv/bin/python bench/telnet_bench.py [--seconds 0.3]``.

Receive feeds 64 KiB reads of wire bytes (already escaped, as a peer sends
them) to ``TelnetConnection.receive_data`` and counts wire bytes. Send passes
64 KiB payloads to ``send_data`` + ``data_to_send`` and counts payload bytes.
Each figure is the best of five timed runs. 1 MB = 10**6 bytes.

Then the keystroke path (issue 10): calls per second (in thousands) of
``receive_data`` on small reads as an interactive client sends them, and of
``send_data`` + ``data_to_send`` (and the one-call ``encode``) on small device reads, in NVT mode (the
engine's slow mode for CR) and with BINARY both ways, per second of the
process's CPU time. ``--only small`` runs
just these. The last two columns count the Python-level and C-level function
calls of one call (``sys.setprofile``), which the machine's load does not move.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from collections.abc import Callable

from bridge.telnet import Opt, OptionPolicy, TelnetConnection

READ = 64 * 1024
POLICY = OptionPolicy(us=frozenset({Opt.BINARY}), him=frozenset({Opt.BINARY}))


def _plain(rng: random.Random) -> bytes:
    return bytes(rng.choice(range(0x0E, 0xFF)) for _ in range(READ))


def _one_percent_ff(rng: random.Random) -> bytes:
    data = bytearray(_plain(rng))
    for index in rng.sample(range(READ), READ // 100):
        data[index] = 0xFF
    return bytes(data)


def _nvt_text(rng: random.Random) -> bytes:
    words = [b"login", b"Password:", b"interface", b"GigabitEthernet0/1", b"up", b"down", b"#"]
    out = bytearray()
    while len(out) < READ:
        line = b" ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
        out += line + b"\r\n"
    return bytes(out[:READ])


DATASETS: dict[str, Callable[[random.Random], bytes]] = {
    "plain (no 0xFF, no CR)": _plain,
    "1% 0xFF": _one_percent_ff,
    "all 0xFF (worst case)": lambda rng: b"\xff" * READ,
    "NVT text with CR LF": _nvt_text,
}


def _connection(binary: bool) -> TelnetConnection:
    conn = TelnetConnection(server=True, policy=POLICY)
    if binary:
        conn.receive_data(b"\xff\xfb\x00\xff\xfd\x00")
        conn.data_to_send()
        assert conn.peer_binary and conn.our_binary
    return conn


def _best_rate(run: Callable[[], int], seconds: float) -> float:
    """Best bytes/second over five runs of about ``seconds`` each."""
    best = 0.0
    for _ in range(5):
        done = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            done += run()
        best = max(best, done / (time.perf_counter() - start))
    return best


def _receive_rate(payload: bytes, binary: bool, seconds: float) -> float:
    sender = _connection(binary)
    sender.send_data(payload)
    wire = sender.data_to_send()
    reads = [wire[i:i + READ] for i in range(0, len(wire), READ)]
    conn = _connection(binary)

    def run() -> int:
        for chunk in reads:
            conn.receive_data(chunk)
        return len(wire)

    return _best_rate(run, seconds)


def _send_rate(payload: bytes, binary: bool, seconds: float) -> float:
    conn = _connection(binary)

    def run() -> int:
        conn.send_data(payload)
        conn.data_to_send()
        return len(payload)

    return _best_rate(run, seconds)


SMALL_READS: dict[str, bytes] = {
    "1 byte": b"x",
    "16 bytes": b"show interfaces ",
    "Enter (CR NUL)": b"\r\x00",
    "Enter (bare CR)": b"\r",
    "line with CR LF": b"show version\r\n",
    "key + command (IAC NOP)": b"q\xff\xf1",
}
SMALL_WRITES: dict[str, bytes] = {
    "1 byte": b"x",
    "16 bytes": b"Router#show vers",
    "echo with CR LF": b"show version\r\n",
}


def _calls_rate(run: Callable[[], None], seconds: float) -> float:
    """Best calls per second of this process's CPU time over five runs of about ``seconds`` each.

    CPU time, not wall time: on a shared machine the process waits for a CPU,
    and that wait is not the engine's cost. 100 calls per clock read.
    """
    best = 0.0
    for _ in range(5):
        calls = 0
        start = time.process_time()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for _ in range(100):
                run()
            calls += 100
        used = time.process_time() - start
        if used > 0:
            best = max(best, calls / used)
    return best


def _python_calls(run: Callable[[], None]) -> tuple[int, int]:
    """(Python function calls, C function calls) one ``run()`` makes, counted by ``sys.setprofile``.

    Unlike the timings, this count does not depend on the machine's load. The
    call of ``run`` itself is not counted.
    """
    run()  # warm: the first call may differ (a regex compiled, a cache filled)
    counts = {"call": 0, "c_call": 0}

    def profile(frame: object, event: str, arg: object) -> None:
        if event in counts:
            counts[event] += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    # setprofile(None) itself is seen as one C call; run's own frame as one Python call.
    return counts["call"] - 1, counts["c_call"] - 1


def _small_row(name: str, binary: bool, run: Callable[[], None], seconds: float) -> None:
    py_calls, c_calls = _python_calls(run)
    rate = _calls_rate(run, seconds)
    mode = "binary" if binary else "NVT"
    print(f"{name:<26} {mode:<7} {rate / 1e3:>10,.0f} {1e9 / rate:>8,.0f} {py_calls:>6} {c_calls:>6}")


def _small(seconds: float) -> None:
    header = f"{'mode':<7} {'k calls/s':>10} {'ns/call':>8} {'py':>6} {'C':>6}"
    print(f"{'small read (receive_data)':<26} {header}")
    for name, read in SMALL_READS.items():
        for binary in (False, True):
            conn = _connection(binary)

            def receive(c: TelnetConnection = conn, r: bytes = read) -> None:
                c.receive_data(r)

            _small_row(name, binary, receive, seconds)
    print(f"{'small write (send+drain)':<26} {header}")
    for name, payload in SMALL_WRITES.items():
        for binary in (False, True):
            conn = _connection(binary)

            def write(c: TelnetConnection = conn, p: bytes = payload) -> None:
                c.send_data(p)
                c.data_to_send()

            _small_row(name, binary, write, seconds)
    print(f"{'small write (encode)':<26} {header}")
    for name, payload in SMALL_WRITES.items():
        for binary in (False, True):
            conn = _connection(binary)

            def encode(c: TelnetConnection = conn, p: bytes = payload) -> None:
                c.encode(p)

            _small_row(name, binary, encode, seconds)


def main(argv: list[str] | None = None) -> int:
    """Print one table row per data set and mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="length of each timed run")
    parser.add_argument("--only", choices=("bulk", "small"), help="run only the 64 KiB or the small-read cases")
    args = parser.parse_args(argv)
    rng = random.Random(2217)
    print(f"Python {platform.python_version()} on {platform.machine()}")
    if args.only != "bulk":
        _small(args.seconds)
    if args.only == "small":
        return 0
    print(f"{READ // 1024} KiB reads")
    print(f"{'data':<26} {'mode':<7} {'receive MB/s':>13} {'send MB/s':>10}")
    for name, make in DATASETS.items():
        payload = make(rng)
        for binary in (False, True):
            receive = _receive_rate(payload, binary, args.seconds) / 1e6
            send = _send_rate(payload, binary, args.seconds) / 1e6
            mode = "binary" if binary else "NVT"
            print(f"{name:<26} {mode:<7} {receive:>13,.0f} {send:>10,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
