"""Alerts through the real daemon on a pseudo-terminal: a pattern split across
two device reads, cooldown, status --json and metrics, and an exec action
that sleeps while the port keeps serving."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fleet.helpers import metrics_port, port_block, scrape, value, wait_until
from tests.integration.helpers import WAIT, Daemon, PtyDevice, connect, recv_until

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def _bridge(tmp_path: Path) -> str:
    return (f'[bridge]\ncontrol = "{tmp_path / "control.sock"}"\nbanner = false\n'
            'metrics = "127.0.0.1:0"\n')


def _status_json(tmp_path: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bridge", "status", "--json", "--control",
                          str(tmp_path / "control.sock")], capture_output=True, text=True, timeout=WAIT)
    assert out.returncode == 0, out.stderr
    ports = json.loads(out.stdout)["ports"]
    assert isinstance(ports, list)
    return dict(ports[0])


ALERT = '''
[[port.alert]]
name = "panic"
pattern = "Kernel panic - (.*)$"
cooldown = 3600
'''


def test_a_pattern_split_across_two_reads_fires_once_then_cools_down(
        start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """'Kernel pa' + 'nic - ...': one WARNING naming port, alert and line; a second match in the
    cooldown counts but does not log; status --json and the metrics show both."""
    dev = make_pty()
    daemon = start_daemon(_bridge(tmp_path) + port_block("rtr1", dev.path, 'mode = "raw"\nhistory = 0' + ALERT))
    sock = connect(int(daemon.port_of("rtr1")))
    daemon.wait_log(r"port rtr1: client .* connected")
    daemon.wait_log(r"port rtr1: device .* open")
    dev.write(b"Starting kernel\r\n[    2.5] Kernel pa")
    recv_until(sock, b"Kernel pa")   # the bridge has read the first half
    dev.write(b"nic - not syncing: VFS\r\n")
    line = daemon.wait_log(r"WARNING: .*alert")
    assert "port rtr1: alert panic: [    2.5] Kernel panic - not syncing: VFS" in line
    dev.write(b"Kernel panic - again\r\nEND\r\n")
    recv_until(sock, b"END")
    mport = metrics_port(daemon)
    wait_until(lambda: value(scrape(mport), "serial_bridge_alert_matches_total", port="rtr1", alert="panic") == 2,
               "second match not counted")
    samples = scrape(mport)
    assert value(samples, "serial_bridge_alert_fired_total", port="rtr1", alert="panic") == 1
    assert value(samples, "serial_bridge_alert_failures_total", port="rtr1", alert="panic") == 0
    port = _status_json(tmp_path)
    alerts: list[dict[str, Any]] = port["alerts"]
    (alert,) = alerts
    assert alert["name"] == "panic" and alert["action"] == "log"
    assert (alert["matches"], alert["fired"]) == (2, 1)
    assert alert["last_line"] == "Kernel panic - again"
    assert sum(1 for text in daemon.lines if "alert panic" in text) == 1
    sock.close()
    assert daemon.stop() == 0


def test_an_exec_alert_that_sleeps_never_stops_the_port(
        start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """The notifier starts with the line as an argument and sleeps; the port keeps moving bytes
    both ways meanwhile; the timeout kills it and the failure is one WARNING line."""
    dev = make_pty()
    started = tmp_path / "notifier-started"
    notifier = ("import sys, time; open(sys.argv[1], 'w').write(sys.argv[2] + '|' + sys.argv[3]); "
                "time.sleep(60)")
    alert = (f'\n[[port.alert]]\nname = "rommon"\npattern = "^rommon \\\\d+ >"\naction = "exec"\n'
             f'command = {json.dumps([sys.executable, "-c", notifier, str(started), "{port}", "{line}"])}\n'
             'cooldown = 0\ntimeout = 3\n')
    daemon = start_daemon(_bridge(tmp_path) + port_block("sw1", dev.path, 'mode = "raw"\nhistory = 0' + alert))
    sock = connect(int(daemon.port_of("sw1")))
    daemon.wait_log(r"port sw1: client .* connected")
    daemon.wait_log(r"port sw1: device .* open")
    dev.write(b"rommon 1 > \r\n")
    wait_until(lambda: started.exists() and started.read_text() != "", "the notifier did not start")
    assert started.read_text() == "sw1|rommon 1 > "
    for i in range(20):   # the notifier sleeps: the port serves as ever
        dev.write(b"output %d\r\n" % i)
        recv_until(sock, b"output %d\r\n" % i)
        sock.sendall(b"key %d\r" % i)
        dev.read_until(b"key %d\r" % i)
    line = daemon.wait_log(r"alert rommon: command .* timed out after 3 s and was killed", timeout=WAIT + 3)
    assert "WARNING" in line
    port = _status_json(tmp_path)
    alerts: list[dict[str, Any]] = port["alerts"]
    (status,) = alerts
    assert (status["fired"], status["failures"]) == (1, 1)
    sock.close()
    assert daemon.stop() == 0
