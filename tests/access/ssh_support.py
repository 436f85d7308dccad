"""A bridge with SSH for the access tests: ports on ptys (one through pyserial's
spy:// so breaks are recorded), users with keys made in the test, and
asyncssh's client."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from bridge.access.passwords import hash_password
from tests.access.helpers import MakePty, Start
from tests.integration.helpers import WAIT, Daemon, PtyDevice

T = TypeVar("T")
PASSWORD = "correct horse"


@dataclass
class SshBridge:
    """The daemon and what the tests need to reach it."""

    daemon: Daemon
    port: int
    rtr1: PtyDevice
    lab: PtyDevice
    core: PtyDevice
    spy_log: Path
    alice_key: Path        # OpenSSH private key file (mode 0600)
    alice: asyncssh.SSHKey
    control: Path
    folder: Path

    def status(self) -> dict[str, Any]:
        """The ports as `serial-bridge status --json` gives them, by name."""
        result = subprocess.run([sys.executable, "-m", "bridge", "status", "--json", "--control", str(self.control)],
                                capture_output=True, text=True, timeout=WAIT)
        assert result.returncode == 0, result.stderr
        return {p["name"]: p for p in json.loads(result.stdout)["ports"]}

    def wait_status(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while True:
            status = self.status()
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"status never matched: {status}")
            time.sleep(0.1)


def start_ssh_bridge(start_daemon: Start, make_pty: MakePty, folder: Path, extra_bridge: str = "",
                     extra_core: str = "") -> SshBridge:
    """rtr1 (alice writes; spy:// records breaks), lab-a (alice watches), core (not hers)."""
    folder.mkdir(parents=True, exist_ok=True)
    rtr1, lab, core = make_pty(), make_pty(), make_pty()
    alice = asyncssh.generate_private_key("ssh-ed25519")
    key_path = folder / "alice_ed25519"
    key_path.write_bytes(alice.export_private_key())
    key_path.chmod(0o600)
    (folder / "alice.pub").write_bytes(alice.export_public_key())
    spy_log = folder / "spy.log"
    control = folder / "control.sock"
    text = f'''
[bridge]
control = "{control}"
ssh_listen = "127.0.0.1:0"
ssh_host_key = "{folder}/host_key"
lock_files = false
banner = true
{extra_bridge}

[[user]]
name = "alice"
keys = "{folder}/alice.pub"
password = "{hash_password(PASSWORD, ln=10)}"
ports = ["rtr1"]
watch = ["lab-*"]

[[user]]
name = "bob"
password = "{hash_password("bobs password", ln=10)}"
ports = ["*"]

[[port]]
name = "rtr1"
device = "spy://{rtr1.path}?file={spy_log}"
listen = 0
mode = "telnet"

[[port]]
name = "lab-a"
device = "{lab.path}"
listen = 0
mode = "raw"

[[port]]
name = "core"
device = "{core.path}"
listen = 0
{extra_core}
'''
    (folder / "config.toml").write_text(text)    # for tests that reload an edited copy
    daemon = start_daemon(text)
    line = daemon.wait_log(r"SSH: listening on 127\.0\.0\.1:\d+")
    port = int(line.split("127.0.0.1:")[1].split(",")[0])
    for name in ("rtr1", "lab-a", "core"):
        daemon.wait_log(rf"port {name}: device .* open")
    return SshBridge(daemon=daemon, port=port, rtr1=rtr1, lab=lab, core=core, spy_log=spy_log,
                     alice_key=key_path, alice=alice, control=control, folder=folder)


def run(coro: Awaitable[T]) -> T:
    """Run a client coroutine, bounded."""
    async def bounded() -> T:
        async with asyncio.timeout(WAIT * 3):
            return await coro
    return asyncio.run(bounded())


async def connect(bridge: SshBridge, username: str, *, key: asyncssh.SSHKey | None = None,
                  password: str | None = None) -> asyncssh.SSHClientConnection:
    """asyncssh's client, trusting the bridge's host key as made on first start."""
    host_key = asyncssh.read_public_key(str(bridge.folder / "host_key.pub"))
    known = asyncssh.import_known_hosts(f"[127.0.0.1]:{bridge.port} {host_key.export_public_key().decode()}")
    return await asyncssh.connect("127.0.0.1", bridge.port, username=username, known_hosts=known,
                                  client_keys=[key] if key is not None else None, password=password,
                                  preferred_auth="publickey" if key is not None else "password",
                                  agent_path=None, config=None)


async def read_until(reader: asyncssh.SSHReader[bytes], marker: bytes) -> bytes:
    out = bytearray()
    while marker not in out:
        chunk = await reader.read(65536)
        if not chunk:
            raise ConnectionError(f"closed before {marker!r}; got {bytes(out[-300:])!r}")
        out += chunk
    return bytes(out)
