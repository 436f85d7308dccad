"""A port that cannot listen (address taken) is listed as failed and retried (issue 13).

A required port that cannot listen still stops serve (exit 1); serve exits 1
when no port could start at all.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import WAIT, Daemon, PtyDevice

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


@pytest.fixture
def taken() -> Iterator[socket.socket]:
    """A TCP port on 127.0.0.1 held by a listening socket (so the bridge cannot bind it)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    yield holder
    holder.close()


def status(control: Path) -> list[dict[str, Any]]:
    """The ports as `serial-bridge status --json` prints them."""
    done = subprocess.run([sys.executable, "-m", "bridge", "status", "--json", "--control", str(control)],
                          capture_output=True, text=True, timeout=WAIT * 2, check=True)
    ports: list[dict[str, Any]] = json.loads(done.stdout)["ports"]
    return ports


def text_status(control: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "bridge", "status", "--control", str(control)],
                          capture_output=True, text=True, timeout=WAIT * 2, check=True)
    return done.stdout


def test_a_port_that_cannot_listen_is_failed_with_its_reason_and_retried(
        start_daemon: Start, make_pty: MakePty, tmp_path: Path, taken: socket.socket) -> None:
    """status lists it as failed with the reason; once the address is free it starts by itself."""
    busy = taken.getsockname()[1]
    control = tmp_path / "c.sock"
    ok, blocked = make_pty(), make_pty()
    daemon = start_daemon(
        f'[bridge]\ncontrol = "{control}"\n'
        f'[[port]]\nname = "ok"\ndevice = "{ok.path}"\nlisten = 0\n'
        f'[[port]]\nname = "blocked"\ndevice = "{blocked.path}"\nlisten = {busy}\n')
    daemon.wait_log(r"control endpoint on ")
    ports = {p["name"]: p for p in status(control)}
    assert list(ports) == ["ok", "blocked"]
    assert ports["blocked"]["state"] == "failed"
    assert ports["blocked"]["listen"] == f"127.0.0.1:{busy}"
    assert ports["blocked"]["error"] == f"cannot listen on 127.0.0.1:{busy}: Address already in use"
    table = text_status(control)
    assert any(line.split()[:3] == ["blocked", blocked.path, "failed"] for line in table.splitlines())
    assert "blocked: cannot listen on" in table
    taken.close()   # the address is free: the next retry takes it
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = {p["name"]: p for p in status(control)}["blocked"]["state"]
        if state not in ("failed", "starting"):   # "starting": the retry under way
            break
        time.sleep(0.2)
    assert state in ("up", "waiting-for-device")
    with socket.create_connection(("127.0.0.1", busy), timeout=WAIT):
        pass
    assert daemon.stop() == 0


def test_serve_exits_1_when_no_port_could_start(tmp_path: Path, taken: socket.socket) -> None:
    """Every port's address taken: serve exits 1 with one line naming the ports and the reason."""
    busy = taken.getsockname()[1]
    config = tmp_path / "bridge.toml"
    config.write_text(f'[bridge]\ncontrol = ""\n[[port]]\nname = "a"\ndevice = "/dev/serial-bridge-absent"\n'
                      f'listen = {busy}\n')
    done = subprocess.run([sys.executable, "-m", "bridge", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=WAIT * 2)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("serial-bridge: error: no port could start")
    assert "port a: cannot listen on" in last
    assert "Traceback" not in done.stderr


def test_a_required_port_that_cannot_listen_stops_serve(tmp_path: Path, make_pty: MakePty,
                                                       taken: socket.socket) -> None:
    """required = true and its address taken: serve exits 1 even though another port started."""
    busy = taken.getsockname()[1]
    dev = make_pty()
    config = tmp_path / "bridge.toml"
    config.write_text(f'[bridge]\ncontrol = ""\n[[port]]\nname = "other"\ndevice = "{dev.path}"\nlisten = 0\n'
                      f'[[port]]\nname = "core"\ndevice = "{dev.path}"\nlisten = {busy}\nrequired = true\n')
    done = subprocess.run([sys.executable, "-m", "bridge", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=WAIT * 2)
    assert done.returncode == 1
    assert "port core: cannot listen on" in done.stderr.strip().splitlines()[-1]


def test_a_reload_that_moves_a_failed_port_starts_it(start_daemon: Start, make_pty: MakePty, tmp_path: Path,
                                                    taken: socket.socket) -> None:
    """SIGHUP with a new address for the failed port starts it there; removing it drops it from status."""
    busy = taken.getsockname()[1]
    control = tmp_path / "c.sock"
    dev = make_pty()
    head = (f'[bridge]\ncontrol = "{control}"\n'
            f'[[port]]\nname = "other"\ndevice = "{make_pty().path}"\nlisten = 0\n')
    port = f'[[port]]\nname = "p"\ndevice = "{dev.path}"\nlisten = {{listen}}\n'
    daemon = start_daemon(head + port.format(listen=busy))
    daemon.wait_log(r"control endpoint on ")
    assert [p["state"] for p in status(control)][1] == "failed"
    daemon.reload(head + port.format(listen=0))
    daemon.wait_log(r"reload: ")
    assert [p["name"] for p in status(control)] == ["other", "p"]
    assert status(control)[1]["state"] != "failed"
    daemon.reload(head)
    daemon.wait_log(r"reload: ", count=2)
    assert [p["name"] for p in status(control)] == ["other"]
    assert daemon.stop() == 0
