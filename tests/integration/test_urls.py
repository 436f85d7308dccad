"""Devices given as pyserial URLs: loop://, socket://, rfc2217:// (a bridge behind a bridge), spy://."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.helpers import Daemon, PtyDevice, connect, recv_until

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def port(name: str, device: str, mode: str = "raw", extra: str = "") -> str:
    return (f'[[port]]\nname = "{name}"\ndevice = "{device}"\nlisten = 0\nmode = "{mode}"\n'
            f"lock_files = false\n{extra}\n")


def test_url_devices_carry_data_both_ways(start_daemon: Start, make_pty: MakePty) -> None:
    """A second bridge reaches a first one's ports through rfc2217:// and socket://, and loop:// echoes."""
    a, b = make_pty(), make_pty()
    first = start_daemon('[bridge]\ncontrol = ""\n' + port("far", a.path, mode="telnet") + port("rawfar", b.path))
    first.wait_log(r"far: device .* open")
    first.wait_log(r"rawfar: device .* open")
    far, rawfar = first.port_of("far"), first.port_of("rawfar")
    second = start_daemon('[bridge]\ncontrol = ""\n'
                          + port("via2217", f"rfc2217://127.0.0.1:{far}", extra="baud = 19200")
                          + port("viasock", f"socket://127.0.0.1:{rawfar}")
                          + port("loop", "loop://"))
    for name in ("via2217", "viasock", "loop"):
        second.wait_log(rf"{name}: device .* open")
    # rfc2217://: the second bridge is an RFC 2217 client of the first.
    near = connect(second.port_of("via2217"))
    near.sendall(b"through two bridges \xff\r\n")
    assert a.read(23) == b"through two bridges \xff\r\n"
    a.write(b"and back \xff\r")
    assert recv_until(near, b"back \xff\r") == b"and back \xff\r"
    first.wait_log(r"far: settings now 19200 8N1")
    # socket://
    sock = connect(second.port_of("viasock"))
    sock.sendall(b"over a socket")
    assert b.read(13) == b"over a socket"
    b.write(b"socket reply")
    assert recv_until(sock, b"socket reply") == b"socket reply"
    # loop://
    loop = connect(second.port_of("loop"))
    loop.sendall(b"echo me")
    assert recv_until(loop, b"echo me") == b"echo me"
    for s in (near, sock, loop):
        s.close()
    assert second.stop() == 0
    assert first.stop() == 0
