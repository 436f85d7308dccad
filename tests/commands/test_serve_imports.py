"""`serve` with a plain config loads only what that config uses (issue 10: 64 ports under 32 MB).

Every module the daemon imports stays in its memory for its whole life, so
the features a plain config does not ask for (SSH, alerts, metrics, mDNS)
and the other commands' machinery (dashboard, client, hardware checks) must
not be imported by it. The real daemon runs in a subprocess on a pty, serves
a raw and a Telnet client and a control request, then reports its modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.helpers import WAIT, PtyDevice, TelnetClient, connect, free_port, recv_until

# Runs `serve` in the interpreter's main thread; a second thread waits for a
# line on stdin, prints the loaded modules as JSON and stops the daemon (SIGTERM).
DAEMON = """
import json, os, signal, sys, threading

def report():
    sys.stdin.readline()
    print(json.dumps(sorted(sys.modules)), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=report, daemon=True).start()
from bridge.cli import main
raise SystemExit(main(["serve", "--config", sys.argv[1]]))
"""

# Not for a plain config: (module, why). A module's submodules are covered too.
NOT_LOADED = [
    ("asyncssh", "ssh_listen only"), ("bridge.access.ssh", "ssh_listen only"),
    ("bridge.access.users", "ssh_listen only"), ("bridge.access.passwords", "ssh_listen only"),
    ("bridge.fleet.alerts", "ports with alerts only"), ("bridge.fleet.metrics", "metrics only"),
    ("prometheus_client", "metrics only"), ("bridge.fleet.mdns", "mdns only"), ("zeroconf", "mdns only"),
    ("textual", "the dashboard"), ("rich", "the dashboard"), ("pyte", "the dashboard"),
    ("bridge.dashboard", "the dashboard"), ("bridge.client", "connect"), ("bridge.demo", "demo"),
    ("bridge.migrate", "import"), ("bridge.hardware", "doctor, selftest, udev"),
    ("bridge.control.client", "the commands that ask a bridge"), ("bridge.control.oneshot", "ctl, status"),
    ("bridge.control.discovery", "the dashboard"),
    ("hmac", "a control token only"), ("hashlib", "a control token only"),
    ("difflib", "a mistake's suggestion only"), ("importlib.resources", "zip installs only"),
    ("zipfile", "zip installs only"),
]


def _plain_config(tmp_path: Path, raw: PtyDevice, telnet: PtyDevice, raw_port: int, telnet_port: int) -> Path:
    path = tmp_path / "plain.toml"
    path.write_text(
        f'[bridge]\ncontrol = "{tmp_path / "control.sock"}"\nlock_files = false\n\n'
        f'[[port]]\nname = "raw"\ndevice = "{raw.path}"\nlisten = {raw_port}\nmode = "raw"\n\n'
        f'[[port]]\nname = "tel"\ndevice = "{telnet.path}"\nlisten = {telnet_port}\n')
    return path


def test_serve_with_a_plain_config_loads_no_feature_it_does_not_use(tmp_path: Path) -> None:
    """Telnet and raw ports and a control socket, in use: none of NOT_LOADED is imported,
    and of the commands only serve."""
    raw, telnet = PtyDevice(), PtyDevice()
    raw_port, telnet_port = free_port(), free_port()
    config = _plain_config(tmp_path, raw, telnet, raw_port, telnet_port)
    daemon = subprocess.Popen([sys.executable, "-c", DAEMON, str(config)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with connect(raw_port) as sock:
            sock.sendall(b"typed raw\r")
            raw.read_until(b"typed raw\r")
            raw.write(b"raw answer\r\n")
            recv_until(sock, b"raw answer\r\n")
        client = TelnetClient(telnet_port)
        try:
            client.send(b"typed telnet\r")
            telnet.read_until(b"typed telnet")
            telnet.write(b"telnet answer\r\n")
            client.read_until(b"telnet answer")
        finally:
            client.close()
        status = subprocess.run([sys.executable, "-m", "bridge", "status", "--json",
                                 "--control", str(tmp_path / "control.sock")],
                                capture_output=True, text=True, timeout=4 * WAIT, check=True)
        assert {port["name"] for port in json.loads(status.stdout)["ports"]} == {"raw", "tel"}
        out, err = daemon.communicate("report\n", timeout=4 * WAIT)
    finally:
        daemon.kill()
        daemon.wait(WAIT)
        raw.close()
        telnet.close()
    assert daemon.returncode == 0, err
    loaded = set(json.loads(out.splitlines()[0]))
    found = [f"{name} ({why})" for module, why in NOT_LOADED
             for name in sorted(loaded) if name == module or name.startswith(module + ".")]
    assert found == [], "serve imported " + ", ".join(found)
    assert sorted(name for name in loaded if name.startswith("bridge.commands.")) == ["bridge.commands.serve"]
