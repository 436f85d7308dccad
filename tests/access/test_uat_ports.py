"""Port findings of the user acceptance test (uat.md 8, 10) with real clients against the real daemon on ptys."""

from __future__ import annotations

import time
from pathlib import Path

import serial

from tests.access.helpers import MakePty, Start, bridge_block, port_block
from tests.integration.helpers import WAIT


def _wait_until(predicate: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def test_rfc2217_breaks_are_logged(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """uat 8: pyserial's send_break (SET-CONTROL BREAK-ON then BREAK-OFF, RFC 2217 section 3) leaves
    `sending break` and `break released` lines, as Telnet's BRK and SSH's ~B do; a break held by a client
    that leaves is released, and logged so."""
    dev = make_pty()
    spy_log = tmp_path / "spy.log"
    daemon = start_daemon(bridge_block() + port_block("com1", f"spy://{dev.path}?file={spy_log}", mode="telnet"))
    daemon.wait_log(r"port com1: device .* open")
    client = serial.serial_for_url(f"rfc2217://127.0.0.1:{daemon.port_of('com1')}", timeout=WAIT)
    try:
        client.send_break(0.1)
        daemon.wait_log(r"port com1: sending break \(held by session \d+, RFC 2217\)")
        daemon.wait_log(r"port com1: break released by session \d+")
        client.break_condition = True
        daemon.wait_log(r"port com1: sending break \(held by session \d+, RFC 2217\)", count=2)
    finally:
        client.close()
    daemon.wait_log(r"port com1: break released: the session that held it left")
    _wait_until(lambda: spy_log.read_text().count("BRK  inactive") >= 2, "the device never saw the breaks end")
    daemon.stop()
