"""Hot-plug through a symlink re-pointed while the old device remains (issue 13)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.helpers import Daemon, PtyDevice, connect, recv_until

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def test_a_client_follows_the_link_to_its_new_device(start_daemon: Start, make_pty: MakePty,
                                                     tmp_path: Path) -> None:
    """The port's link moves from pty A to pty B (A stays): the port reopens on B and the
    connected raw client gets B's output and reaches B."""
    old, new = make_pty(), make_pty()
    link = tmp_path / "ttyBOARD"
    os.symlink(old.path, link)
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n[[port]]\nname = "p"\ndevice = "{link}"\n'
                          f'listen = 0\nmode = "raw"\nlock_files = false\n')
    with connect(daemon.port_of("p")) as client:
        daemon.wait_log(r"port p: device .* open")
        old.write(b"from A\n")
        recv_until(client, b"from A\n")
        tmp = tmp_path / "ttyBOARD.new"
        os.symlink(new.path, tmp)
        os.replace(tmp, link)            # atomically re-pointed, as udev does
        daemon.wait_log(r"port p: device .* open", count=2)
        new.write(b"from B\n")
        recv_until(client, b"from B\n")
        client.sendall(b"to B\r")
        assert b"to B" in new.read_until(b"to B")
    assert daemon.stop() == 0


def test_a_directory_as_device_is_one_clear_line(start_daemon: Start, tmp_path: Path) -> None:
    """device = a directory: one WARNING naming it as a directory (no doubled errno), not
    repeated while the port retries (issue 13)."""
    folder = tmp_path / "notadevice"
    folder.mkdir()
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n[[port]]\nname = "d"\ndevice = "{folder}"\n'
                          f'listen = 0\nlock_files = false\n')
    line = daemon.wait_log(r"port d: waiting for device")
    assert line == f"WARNING: port d: waiting for device: {folder} is a directory, not a serial device"
    time.sleep(2.0)   # the port retried meanwhile (after 0.5 s, then 1 s): nothing more is said
    assert len([x for x in daemon.lines if "port d:" in x and "directory" in x]) == 1, daemon.lines
    assert daemon.stop() == 0
