"""Issue 10: `serve` runs on uvloop when it is installed (serial-bridge[fast]) and on asyncio's
own loop otherwise or with --loop asyncio; the log says which; a console works on both."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import Daemon, PtyDevice, TelnetClient, connect, recv_until

MakePty = Callable[[], PtyDevice]
HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for daemon in made:
        daemon.kill()


def _config(dev: PtyDevice) -> str:
    return (f'[bridge]\ncontrol = ""\n[[port]]\nname = "con"\ndevice = "{dev.path}"\nlisten = 0\n'
            'lock_files = false\n[[port]]\nname = "raw"\ndevice = "loop://"\nlisten = 0\nmode = "raw"\n'
            'banner = false\n')


@pytest.mark.parametrize("loop", [
    "asyncio",
    pytest.param("uvloop", marks=pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop not installed")),
])
def test_a_console_works_on_each_event_loop(loop: str, make_pty: MakePty, tmp_path: Path,
                                            daemons: list[Daemon]) -> None:
    """--loop asyncio|uvloop: the log names the loop; telnet keys reach the device and its output comes back;
    a raw port on loop:// echoes."""
    dev = make_pty()
    daemon = Daemon(_config(dev), tmp_path, args=("--loop", loop))
    daemons.append(daemon)
    daemon.wait_log(rf"event loop: {loop}")
    daemon.wait_log(r"con: device .* open")
    client = TelnetClient(daemon.port_of("con"))
    client.read_until(b"]\r\n")
    client.sock.sendall(b"show\r")
    assert dev.read_until(b"show\r").endswith(b"show\r")
    dev.write(b"output\r\n")
    client.read_until(b"output\r\n")
    client.close()
    daemon.wait_log(r"raw: device loop:// open")  # input sent before the open is lost today (issue 10)
    raw = connect(daemon.port_of("raw"))
    raw.sendall(b"echo me")
    recv_until(raw, b"echo me")
    raw.close()
    assert daemon.stop() == 0


def test_auto_takes_uvloop_exactly_when_it_is_installed(make_pty: MakePty, tmp_path: Path,
                                                        daemons: list[Daemon]) -> None:
    """serial-bridge[fast]: without --loop, uvloop is used when installed, asyncio's loop when not."""
    daemon = Daemon(_config(make_pty()), tmp_path)
    daemons.append(daemon)
    daemon.wait_log(r"event loop: " + ("uvloop" if HAVE_UVLOOP else "asyncio"))
    daemon.port_of("raw")  # started: SIGTERM is handled from here on
    assert daemon.stop() == 0
