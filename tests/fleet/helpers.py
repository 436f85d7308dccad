"""Helpers for fleet tests: scraping /metrics over loopback, port blocks, bounded waits."""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.helpers import WAIT, Daemon

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def port_block(name: str, device: str, extra: str = "") -> str:
    """A [[port]] on ``device`` listening on a free port."""
    return (f'[[port]]\nname = "{name}"\ndevice = "{device}"\nlisten = 0\n'
            f'lock_files = false\n{extra}\n')


def metrics_port(daemon: Daemon) -> int:
    """The TCP port the daemon serves metrics on, from its log."""
    line = daemon.wait_log(r"metrics on http://")
    match = re.search(r":(\d+)/metrics", line)
    assert match, line
    return int(match.group(1))


def get(port: int, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    """(status, content type, body) of one HTTP request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


def scrape(port: int) -> Samples:
    """Every sample of /metrics, parsed with prometheus-client's parser, by (name, labels)."""
    status, _, body = get(port, "/metrics")
    assert status == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (KeyError naming what exists when it is missing)."""
    key = (name, tuple(sorted(labels.items())))
    if key not in samples:
        known = sorted({n for n, _ in samples if n.startswith("serial_bridge")})
        raise KeyError(f"{key} not scraped; names: {known}")
    return samples[key]


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``predicate`` (bounded in time) until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)
