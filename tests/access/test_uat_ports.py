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


def test_tls_and_the_read_only_listener_show_in_the_log_and_status(start_daemon: Start, make_pty: MakePty,
                                                                   tmp_path: Path) -> None:
    """uat 10: the listening line names TLS and the read-only listener; `status` and `status --json` show
    both (a plain port says neither)."""
    import json
    import subprocess
    import sys

    from tests.access.certs import make_pki

    make_pki(tmp_path / "pki")
    secure, plain = make_pty(), make_pty()
    control = tmp_path / "control.sock"
    daemon = start_daemon(
        f'[bridge]\ncontrol = "{control}"\ntls_cert = "{tmp_path}/pki/cert.pem"\ntls_key = "{tmp_path}/pki/key.pem"\n'
        + port_block("secure", secure.path, extra='tls = true\nlisten_readonly = "127.0.0.1:0"')
        + port_block("plain", plain.path))
    line = daemon.wait_log(r"port secure: listening on ")
    assert "TLS" in line and "read-only on 127.0.0.1:" in line, line
    plain_line = daemon.wait_log(r"port plain: listening on ")
    assert "TLS" not in plain_line and "read-only" not in plain_line, plain_line
    daemon.wait_log(r"port secure: device .* open")

    def status(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "bridge", "status", *args, "--control", str(control)],
                              capture_output=True, text=True, timeout=WAIT)
        assert done.returncode == 0, done.stderr
        return done.stdout

    ports = {p["name"]: p for p in json.loads(status("--json"))["ports"]}
    readonly = ports["secure"]["listen_readonly"]
    assert readonly.startswith("127.0.0.1:") and not readonly.endswith(":0")
    assert ports["secure"]["tls"] is True and ports["plain"]["tls"] is False
    assert ports["plain"]["listen_readonly"] is None
    rows = {row.split()[0]: row for row in status().splitlines()[1:]}
    assert f"{ports['secure']['listen']} tls, read-only {readonly}" in rows["secure"], rows["secure"]
    assert "tls" not in rows["plain"] and "read-only" not in rows["plain"]
    daemon.stop()
