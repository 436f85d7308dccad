"""Throughput of the sans-IO Telnet engine (not a test): MB/s received and sent.

Run: ``.venv/bin/python bench/telnet_bench.py [--seconds 0.3]``.

Receive feeds 64 KiB reads of wire bytes (already escaped, as a peer sends
them) to ``TelnetConnection.receive_data`` and counts wire bytes. Send passes
64 KiB payloads to ``send_data`` + ``data_to_send`` and counts payload bytes.
Each figure is the best of five timed runs. 1 MB = 10**6 bytes.
"""

from __future__ import annotations

import argparse
import platform
import random
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


def main(argv: list[str] | None = None) -> int:
    """Print one table row per data set and mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="length of each timed run")
    args = parser.parse_args(argv)
    rng = random.Random(2217)
    print(f"Python {platform.python_version()} on {platform.machine()}, {READ // 1024} KiB reads")
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
