"""Configs whose device is not a serial device: the port waits, says why once, and costs nothing."""

from __future__ import annotations

from pathlib import Path


from tests.integration.helpers import connect, free_port
from tests.integration.support import MakePty, Start, assert_healthy, config, port_block, read_for


def test_a_directory_or_dev_null_as_device_waits_with_a_reason(start_daemon: Start, make_pty: MakePty,
                                                                tmp_path: Path) -> None:
    """device = a directory / /dev/null: each port logs one reason, its banner says waiting, and a real port beside works."""
    other = make_pty()
    daemon = start_daemon(config(port_block("dir", str(tmp_path)), port_block("nul", "/dev/null"),
                                 port_block("other", other.path, 0, 'mode = "raw"')))
    daemon.wait_log(r"port dir: waiting for device: .*[Ii]s a directory")
    daemon.wait_log(r"port nul: waiting for device: /dev/null is not a serial device")
    daemon.wait_log(r"other: device .* open")
    for name in ("dir", "nul"):
        with connect(daemon.port_of(name)) as sock:
            banner = read_for(sock, b"you are the writer]\r\n")
            assert f"port {name} on ".encode() in banner and b", waiting" in banner
    assert_healthy(daemon, other, daemon.port_of("other"))
    assert len([line for line in daemon.lines if "port nul: waiting" in line]) == 1
    assert len([line for line in daemon.lines if "port dir: waiting" in line]) == 1
    assert daemon.stop() == 0


def test_a_port_can_chain_to_another_port_of_the_same_daemon(start_daemon: Start, make_pty: MakePty) -> None:
    """Port b's device is rfc2217:// to port a of the same daemon: b opens and data crosses both hops."""
    dev = make_pty()
    far = free_port()
    daemon = start_daemon(config(port_block("a", dev.path, far),
                                 port_block("b", f"rfc2217://127.0.0.1:{far}", 0, 'mode = "raw"')))
    daemon.wait_log(r"port b: device .* open|port b: waiting for device")
    with connect(daemon.port_of("b")) as sock:
        sock.sendall(b"two-hops")
        assert dev.read_until(b"two-hops").endswith(b"two-hops")
    assert daemon.stop() == 0
