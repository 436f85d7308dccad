"""Issue 10, "Enter held back": a Telnet client's bare CR reaches the device at once.

conserver's ``protocol telnet`` and many scripts send Enter as a bare CR and
then wait for the answer; the engine must not hold that CR until the next key.
Through the real daemon on a pty: nothing more is sent after ``show\\r`` until
the device has it.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.helpers import Daemon, PtyDevice, TelnetClient, connect, recv_until

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def _telnet_port(start_daemon: Start, make_pty: MakePty) -> tuple[Daemon, PtyDevice, int]:
    dev = make_pty()
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n[[port]]\nname = "con"\ndevice = "{dev.path}"\n'
                          'listen = 0\nlock_files = false\nmode = "telnet"\n')
    daemon.wait_log(r"con: device .* open")
    return daemon, dev, daemon.port_of("con")


def test_a_bare_cr_from_a_negotiated_telnet_client_reaches_the_device_at_once(
        start_daemon: Start, make_pty: MakePty) -> None:
    """A Telnet client (character mode agreed) sends `show\\r`: the device reads `show\\r`, nothing else sent."""
    daemon, dev, port = _telnet_port(start_daemon, make_pty)
    client = TelnetClient(port)
    client.read_until(b"]\r\n")
    client.sock.sendall(b"show\r")          # a bare CR, as conserver sends Enter
    assert dev.read_until(b"show\r").endswith(b"show\r")
    client.sock.sendall(b"\x00ver\r\n")      # the NUL of a late CR NUL is dropped, the rest passes
    assert dev.read_until(b"ver\r\n").endswith(b"ver\r\n")
    client.close()
    daemon.stop()


def test_a_bare_cr_from_a_plain_socket_reaches_the_device_at_once(start_daemon: Start, make_pty: MakePty) -> None:
    """A script's socket that answers no negotiation sends `show\\r`: the device reads it without a next key."""
    daemon, dev, port = _telnet_port(start_daemon, make_pty)
    sock = connect(port)
    recv_until(sock, b"]\r\n")
    sock.sendall(b"show\r")
    assert dev.read_until(b"show\r").endswith(b"show\r")
    sock.close()
    daemon.stop()
