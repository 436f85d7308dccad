"""The client's end of a measurement: a raw TCP socket, a Telnet socket, or a pty.

All three offer ``send(data)`` (blocking, everything) and ``recv(timeout)``
(decoded data, ``b""`` on timeout), so one measurement function serves the
daemons and the direct-pty floor alike.
"""

from __future__ import annotations

import os
import select
import socket
import time

from _proc import BenchError
from _pty import drain, write_all
from _telnet import BINARY, DO, WILL, TelnetDecoder, escape

RECV_SIZE = 1 << 18


class Link:
    """A bidirectional byte stream to the device, through the thing measured."""

    def fileno(self) -> int:
        """The fd to wait on."""
        raise NotImplementedError

    def encode(self, data: bytes) -> bytes:
        """``data`` as it goes on the wire (unchanged but for Telnet)."""
        return data

    def send(self, data: bytes) -> None:
        """Send all of ``data``, encoded as the link needs."""
        self.send_wire(self.encode(data))

    def send_wire(self, wire: bytes) -> None:
        """Send already-encoded bytes, all of them."""
        raise NotImplementedError

    def recv(self, timeout: float) -> bytes:
        """Data received within ``timeout`` seconds, decoded; b"" if none.

        Raises:
            BenchError: the peer closed the connection.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Close the link."""


class SocketLink(Link):
    """A TCP connection to 127.0.0.1 with TCP_NODELAY, bytes untouched."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        """Connect to ``127.0.0.1:port``."""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def fileno(self) -> int:
        """The socket's fd."""
        return self.sock.fileno()

    def send_wire(self, wire: bytes) -> None:
        """Send everything, blocking (at most 30 s without progress)."""
        self._timeout(30.0)
        self.sock.sendall(wire)

    def _timeout(self, timeout: float) -> None:
        """Set the socket timeout only when it changes (saves a syscall per call)."""
        if self.sock.gettimeout() != timeout:
            self.sock.settimeout(timeout)

    def recv(self, timeout: float) -> bytes:
        """One recv of up to 256 KiB within ``timeout``."""
        self._timeout(timeout)
        try:
            data = self.sock.recv(RECV_SIZE)
        except TimeoutError:
            return b""
        if not data:
            raise BenchError("the daemon closed the connection")
        return self.decode(data)

    def decode(self, data: bytes) -> bytes:
        """Data as received (raw mode)."""
        return data

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


class TelnetLink(SocketLink):
    """A TCP connection speaking Telnet: answers options, escapes and unescapes IAC."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        """Connect to ``127.0.0.1:port``."""
        super().__init__(port, timeout)
        self.telnet = TelnetDecoder()

    def encode(self, data: bytes) -> bytes:
        """``data`` with 0xFF doubled."""
        return escape(data)

    def decode(self, data: bytes) -> bytes:
        """Strip commands, answer option requests at once."""
        out = self.telnet.feed(data)
        replies = self.telnet.replies()
        if replies:
            self.sock.sendall(replies)
        return out

    def negotiate_binary(self, timeout: float = 5.0) -> None:
        """Ask for BINARY both ways and wait until the server agrees to both.

        Raises:
            BenchError: the server did not agree in time, or sent data meanwhile.
        """
        self.sock.sendall(self.telnet.request(DO, BINARY) + self.telnet.request(WILL, BINARY))
        deadline = time.monotonic() + timeout
        while not (BINARY in self.telnet.him and BINARY in self.telnet.us):
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError("the server did not agree to BINARY in both directions")
            if self.recv(left):
                raise BenchError("unexpected data during BINARY negotiation")


class PtyLink(Link):
    """The pty slave itself: the direct floor, with no daemon in between."""

    def __init__(self, fd: int) -> None:
        """Use the (raw, blocking) slave fd."""
        self.fd = fd

    def fileno(self) -> int:
        """The slave fd."""
        return self.fd

    def send_wire(self, wire: bytes) -> None:
        """Write everything to the slave."""
        write_all(self.fd, wire)

    def recv(self, timeout: float) -> bytes:
        """One read of the slave within ``timeout``."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return b""
        return os.read(self.fd, RECV_SIZE)


def open_link(mode: str, port: int) -> Link:
    """A raw or telnet link to ``127.0.0.1:port``."""
    return TelnetLink(port) if mode == "telnet" else SocketLink(port)


def _settle(link: Link, master: int) -> None:
    """Drop what is still arriving on either side (stray sync bytes)."""
    drain(master)
    while link.recv(0.05):
        pass


def sync(link: Link, master: int, timeout: float = 10.0) -> None:
    """Prove both directions work end to end, then leave nothing in flight.

    A byte goes from the client to the device, then one from the device to
    the client; each is resent every half second until it arrives, as a
    daemon may open the device, or start forwarding, a little after the
    connection is accepted.

    Raises:
        BenchError: a direction did not work within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        link.send(b"s")
        if select.select([master], [], [], 0.5)[0] and b"s" in os.read(master, 4096):
            break
        if time.monotonic() > deadline:
            raise BenchError("client to device: nothing arrived at the device")
    drain(master)
    while True:
        write_all(master, b"k")
        until = time.monotonic() + 0.5
        while time.monotonic() < until:
            if b"k" in link.recv(max(0.01, until - time.monotonic())):
                _settle(link, master)
                return
        if time.monotonic() > deadline:
            raise BenchError("device to client: nothing arrived at the client")
