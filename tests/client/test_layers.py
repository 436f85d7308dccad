"""The client leans one way (DESIGN.md: connect -> telnet engine -> a socket), and `send` is paced."""

from __future__ import annotations

import asyncio
from pathlib import Path

import bridge.client
from bridge.client.sender import send_file
from tests.layers import imports_of

ALLOWED = ("bridge.client", "bridge.telnet", "bridge.control", "bridge.errors")


def test_the_client_imports_only_the_engine_the_control_client_and_itself() -> None:
    root = Path(bridge.client.__file__).parent
    found = {}
    for path in sorted(root.glob("*.py")):
        for name in imports_of(path):
            if name.startswith("bridge") and not name.startswith(ALLOWED):
                found[path.name] = name
    assert found == {}


def test_the_shared_console_words_are_pure() -> None:
    """bridge/control/console.py is imported by the dashboard and the client: standard library only."""
    path = Path(bridge.client.__file__).parent.parent / "control" / "console.py"
    imported = {name.split(".")[0] for name in imports_of(path, package="bridge.control")}
    assert imported <= {"__future__", "re", "collections", "dataclasses"}


def test_send_goes_out_in_slices_of_50_ms_of_line_time_each_when_its_time_comes() -> None:
    """At 2000 bytes/s a slice is 100 bytes, and slice n goes out at n * 50 ms (a clock the test drives)."""
    now = [0.0]
    sent: list[tuple[float, int]] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    async def drain() -> None:
        now[0] += 0.001  # the socket takes a little time

    total = asyncio.run(send_file(bytes(1000), "f", rate=2000.0, send=lambda b: sent.append((now[0], len(b))),
                                  drain=drain, screen=None, clock=lambda: now[0], sleep=sleep))
    assert total == 1000
    assert [n for _, n in sent] == [100] * 10
    assert [round(when, 3) for when, _ in sent] == [round(i * 0.05, 3) for i in range(10)]


def test_send_without_a_rate_goes_as_fast_as_the_socket_takes_it() -> None:
    sent: list[int] = []

    async def drain() -> None:
        return None

    async def never(seconds: float) -> None:
        raise AssertionError("no pacing without a rate")

    assert asyncio.run(send_file(bytes(10_000), "f", rate=None, send=lambda b: sent.append(len(b)),
                                 drain=drain, screen=None, sleep=never)) == 10_000
    assert sent == [4096, 4096, 1808]
