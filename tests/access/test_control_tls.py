"""The TCP control endpoint inside TLS (issue 11): `control = "tls://host:port"`, with the CLI's clients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.access.certs import make_pki
from tests.access.helpers import MakePty, Start, port_block, read_to_close
from tests.integration.helpers import WAIT, connect, free_port


def _status(address: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", "status", "--json", "--control", address],
                          capture_output=True, text=True, timeout=WAIT * 2, env={**os.environ, **env})


def test_status_over_a_tls_control_endpoint_with_client_certificates(start_daemon: Start, make_pty: MakePty,
                                                                      tmp_path: Path) -> None:
    """status reaches the bridge through tls:// with the CA and a client certificate from the
    environment; without the certificate, or in plain TCP, it gets nothing."""
    pki = make_pki(tmp_path / "pki")
    dev = make_pty()
    control = free_port()
    daemon = start_daemon(f'[bridge]\ncontrol = "tls://127.0.0.1:{control}"\ncontrol_token = "t0ken"\n'
                          f'tls_cert = "{pki.cert}"\ntls_key = "{pki.key}"\ntls_client_ca = "{pki.ca}"\n'
                          + port_block("p", dev.path))
    daemon.wait_log(r"control endpoint on tls://127\.0\.0\.1:")
    env = {"SERIAL_BRIDGE_TOKEN": "t0ken", "SERIAL_BRIDGE_TLS_CA": str(pki.ca),
           "SERIAL_BRIDGE_TLS_CERT": str(pki.client_cert), "SERIAL_BRIDGE_TLS_KEY": str(pki.client_key)}
    good = _status(f"tls://127.0.0.1:{control}", env)
    assert good.returncode == 0, good.stderr
    assert [p["name"] for p in json.loads(good.stdout)["ports"]] == ["p"]
    no_cert = _status(f"tls://127.0.0.1:{control}", {k: v for k, v in env.items() if "CERT" not in k and "KEY" not in k})
    assert no_cert.returncode != 0 and "Traceback" not in no_cert.stderr
    assert no_cert.stderr.startswith(f"serial-bridge: error: the bridge at tls://127.0.0.1:{control} refused us")
    plain = connect(control)
    plain.sendall(b'{"v": 1, "id": 1, "op": "hello", "token": "t0ken"}\n')
    # a TLS alert may come back; never a JSON answer
    answer, closed = read_to_close(plain)
    assert closed and b'"ok"' not in answer
    daemon.wait_log(r"control endpoint: TLS handshake with .* failed")
    daemon.stop()


def test_a_tls_control_endpoint_needs_a_certificate(tmp_path: Path) -> None:
    """check says so in one line."""
    path = tmp_path / "bridge.toml"
    path.write_text('[bridge]\ncontrol = "tls://127.0.0.1:7100"\n')
    result = subprocess.run([sys.executable, "-m", "bridge", "check", "--config", str(path)],
                            capture_output=True, text=True, timeout=WAIT * 2)
    assert result.returncode == 2
    assert "key 'control': a tls:// control endpoint needs tls_cert and tls_key" in result.stderr
