"""/metrics through the real daemon: scraped over loopback while traffic, a break
and an unplug happen, parsed with prometheus-client's parser."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from bridge.telnet import Cmd
from tests.fleet.helpers import get, metrics_port, port_block, scrape, value, wait_until
from tests.integration.helpers import Daemon, PtyDevice, TelnetClient, connect, recv_until

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]

BRIDGE = '[bridge]\ncontrol = ""\nbanner = false\nmetrics = "127.0.0.1:0"\n'


def test_metrics_count_traffic_breaks_clients_and_an_unplug(start_daemon: Start, make_pty: MakePty) -> None:
    """Counters, gauges and info metrics match what the test did, scrape after scrape."""
    dev = make_pty()
    daemon = start_daemon(BRIDGE + port_block("con", dev.path, 'mode = "raw"\nbaud = 19200\nhistory = 0'))
    mport = metrics_port(daemon)
    port = int(daemon.port_of("con"))
    daemon.wait_log(r"port con: device .* open")
    first = scrape(mport)
    assert value(first, "serial_bridge_port_state", port="con", state="up") == 1
    assert value(first, "serial_bridge_port_state", port="con", state="waiting-for-device") == 0
    assert value(first, "serial_bridge_device_opens_total", port="con") == 1
    assert value(first, "serial_bridge_line_settings_info", port="con", baud="19200", bytesize="8",
                 parity="none", stopbits="1", flow="none") == 1
    assert value(first, "serial_bridge_clients", port="con", access="writer") == 0

    sock = connect(port)
    daemon.wait_log(r"port con: client .* connected")
    down = b"x" * 5000 + b"END\n"
    dev.write(down)
    recv_until(sock, b"END\n")
    sock.sendall(b"typed by the client\r")
    dev.read_until(b"client\r")
    watcher = connect(port)
    daemon.wait_log(r"port con: client .* connected", count=2)
    during = scrape(mport)
    assert value(during, "serial_bridge_device_received_bytes_total", port="con") == len(down)
    assert value(during, "serial_bridge_device_sent_bytes_total", port="con") == len(b"typed by the client\r")
    assert value(during, "serial_bridge_client_sent_bytes_total", port="con") == len(down)
    assert value(during, "serial_bridge_client_dropped_bytes_total", port="con") == 0
    assert value(during, "serial_bridge_clients", port="con", access="writer") == 2   # access = shared
    assert value(during, "serial_bridge_clients_by_protocol", port="con", protocol="raw") == 2
    assert value(during, "serial_bridge_breaks_total", port="con", direction="to_device") == 0
    sock.close()
    watcher.close()
    daemon.wait_log(r"port con: client .* disconnected", count=2)
    after = scrape(mport)   # a client's bytes still count after it left
    assert value(after, "serial_bridge_client_sent_bytes_total", port="con") == len(down)
    assert value(after, "serial_bridge_clients", port="con", access="writer") == 0

    dev.close()   # unplugged
    daemon.wait_log(r"port con: device lost")
    gone = scrape(mport)
    assert value(gone, "serial_bridge_device_losses_total", port="con") == 1
    assert value(gone, "serial_bridge_port_state", port="con", state="waiting-for-device") == 1
    assert value(gone, "serial_bridge_port_state", port="con", state="up") == 0
    assert value(gone, "serial_bridge_device_received_bytes_total", port="con") == len(down)
    assert "process_resident_memory_bytes" in {name for name, _ in gone}
    assert "process_open_fds" in {name for name, _ in gone}
    assert daemon.stop() == 0


def test_a_break_from_a_telnet_client_is_counted(start_daemon: Start, make_pty: MakePty) -> None:
    """IAC BRK from a client counts one break to the device."""
    dev = make_pty()
    daemon = start_daemon(BRIDGE + port_block("brk", dev.path))
    mport = metrics_port(daemon)
    client = TelnetClient(int(daemon.port_of("brk")))
    daemon.wait_log(r"port brk: client .* connected")
    client.conn.send_command(Cmd.BRK)
    client.flush()
    daemon.wait_log(r"port brk: sending break")
    wait_until(lambda: value(scrape(mport), "serial_bridge_breaks_total", port="brk",
                             direction="to_device") == 1, "break not counted")
    samples = scrape(mport)
    assert value(samples, "serial_bridge_breaks_total", port="brk", direction="from_device") == 0
    assert value(samples, "serial_bridge_clients_by_protocol", port="brk", protocol="telnet") == 1
    client.close()
    assert daemon.stop() == 0


def test_only_metrics_is_served(start_daemon: Start, make_pty: MakePty) -> None:
    """/metrics answers 200 in the Prometheus text format; any other path is 404, POST 405."""
    dev = make_pty()
    daemon = start_daemon(BRIDGE + port_block("p", dev.path))
    mport = metrics_port(daemon)
    status, content_type, body = get(mport, "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    assert b"serial_bridge_port_state" in body
    assert get(mport, "/metrics?x=1")[0] == 200
    for path in ("/", "/metrics/", "/favicon.ico", "/metricsx"):
        assert get(mport, path)[0] == 404, path
    assert get(mport, "/metrics", method="POST")[0] == 405
    assert daemon.stop() == 0


def test_bytes_dropped_for_a_watcher_that_never_reads_are_counted(
        start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """A read-only watcher that never reads loses output; the metric is what the sessions report dropped."""
    dev = make_pty()
    bridge = BRIDGE.replace('control = ""', f'control = "{tmp_path / "c.sock"}"')
    daemon = start_daemon(bridge + port_block("flood", dev.path, 'mode = "raw"\nhistory = 0\nlisten_readonly = 0'))
    mport = metrics_port(daemon)
    daemon.wait_log(r"port flood: device .* open")
    writer = connect(int(daemon.port_of("flood")))
    watcher = connect(int(daemon.port_of("flood", readonly=True)))
    watcher.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    daemon.wait_log(r"port flood: client .* connected", count=2)
    got = bytearray()
    reader = threading.Thread(target=lambda: got.extend(recv_until(writer, b"END\n", timeout=60)))
    reader.start()
    chunk = b"y" * 65535 + b"\n"
    for _ in range(256):   # 16 MiB
        dev.write(chunk)
    dev.write(b"END\n")
    reader.join(60)
    assert got.endswith(b"END\n")
    samples = scrape(mport)
    dropped = value(samples, "serial_bridge_client_dropped_bytes_total", port="flood")
    assert dropped > 0
    out = subprocess.run([sys.executable, "-m", "bridge", "status", "--json", "--control", str(tmp_path / "c.sock")],
                         capture_output=True, text=True, timeout=30)
    (port,) = json.loads(out.stdout)["ports"]
    assert dropped == sum(s["dropped"] for s in port["sessions"]) == port["dropped_bytes"]
    assert value(samples, "serial_bridge_clients", port="flood", access="watcher") == 1
    writer.close()
    watcher.close()
    assert daemon.stop() == 0


def test_bridge_allow_covers_the_metrics_listener(start_daemon: Start, make_pty: MakePty) -> None:
    """[bridge] allow guards /metrics like every other listener: 127.0.0.1 outside it is closed
    before a byte and logged; inside it, the scrape works."""
    dev = make_pty()
    daemon = start_daemon(BRIDGE + 'allow = ["192.0.2.0/24"]\n' + port_block("p", dev.path).replace(
        "[[port]]", '[[port]]\nallow = ["127.0.0.1"]', 1))
    mport = metrics_port(daemon)
    sock = socket.create_connection(("127.0.0.1", mport), timeout=10)
    try:
        sock.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        answer = b""
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            pass
        assert answer == b""
    finally:
        sock.close()
    daemon.wait_log(r"metrics: refused 127\.0\.0\.1")
    assert daemon.stop() == 0
    open_daemon = start_daemon(BRIDGE + 'allow = ["127.0.0.0/8"]\n' + port_block("p", make_pty().path))
    assert get(metrics_port(open_daemon), "/metrics")[0] == 200
    assert open_daemon.stop() == 0
