"""The bridge in-process with a recording device, for what a pty cannot do: a
break from the device, counted in /metrics and in the status snapshot."""

from __future__ import annotations

import asyncio

from bridge.app import make_bridge
from bridge.config import parse_config
from bridge.device.recording import RecordingOpener
from tests.fleet.helpers import Samples, value

CONFIG = ('[bridge]\ncontrol = ""\nmetrics = "127.0.0.1:0"\n'
          '[[port]]\nname = "con"\ndevice = "/dev/recorded-console"\nlisten = 0\nlock_files = false\n'
          '[[port.alert]]\nname = "boot"\npattern = "^U-Boot"\ncooldown = 0\n')


async def _scrape(address: str) -> Samples:
    from prometheus_client.parser import text_string_to_metric_families

    host, _, port = address.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_a_break_from_the_device_and_an_alert_reach_the_metrics() -> None:
    """inject_break counts one break from the device; a matching line counts in the alert metrics."""
    async def run() -> None:
        opener = RecordingOpener()
        bridge = make_bridge(parse_config(CONFIG, "bridge.toml"), opener=opener)
        await bridge.startup()
        try:
            assert bridge.fleet.metrics is not None
            address = bridge.fleet.metrics.address
            device = opener.devices[-1]
            device.inject_break()
            device.inject_data(b"U-Boot 2024.01\r\n")
            await asyncio.sleep(0.1)   # reads are matched in batches of 20 ms
            samples = await _scrape(address)
            assert value(samples, "serial_bridge_breaks_total", port="con", direction="from_device") == 1
            assert value(samples, "serial_bridge_breaks_total", port="con", direction="to_device") == 0
            assert value(samples, "serial_bridge_alert_matches_total", port="con", alert="boot") == 1
            assert value(samples, "serial_bridge_alert_fired_total", port="con", alert="boot") == 1
            await bridge.send_break("con")
            samples = await _scrape(address)
            assert value(samples, "serial_bridge_breaks_total", port="con", direction="to_device") == 1
            status = bridge.port_status("con")
            assert (status.breaks_from_device, status.breaks_to_device) == (1, 1)
            assert status.alerts[0].last_line == "U-Boot 2024.01"
        finally:
            await bridge.shutdown()
        assert bridge.fleet.metrics is None
    asyncio.run(asyncio.wait_for(run(), 30))
