#!/usr/bin/env python3
"""The Python floor: a bare ``select.epoll`` relay between raw TCP ports and their ptys.

``python bench/_floor.py PTY_PATH:PORT [...]`` listens on 127.0.0.1:PORT for each
pty and, once a client connects, copies bytes both ways with one ``recv`` or
``os.read`` and one ``os.write`` or ``send`` per wake-up: no event-loop
library, no Telnet, no bookkeeping, no error handling beyond ending. It is not
a product; it is the least CPU any CPython program can spend per keystroke
round trip on this machine, so that a run of ``bench/e2e.py --floor`` shows
how much of serial-bridge's cost per round trip is the interpreter's own
(docs/performance.md). Raw mode only.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import termios
import tty


def main(specs: list[str]) -> None:
    poller = select.epoll()
    listeners: dict[int, tuple[socket.socket, int]] = {}
    to_client: dict[int, socket.socket] = {}    # device fd -> its client
    to_device: dict[int, tuple[socket.socket, int]] = {}   # client fd -> (client, device fd)
    for spec in specs:
        path, _, port = spec.rpartition(":")
        dev = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(dev, termios.TCSANOW)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", int(port)))
        sock.listen()
        listeners[sock.fileno()] = (sock, dev)
        poller.register(sock.fileno(), select.EPOLLIN)
    while True:
        for fd, _ in poller.poll():
            if fd in listeners:
                sock, dev = listeners[fd]
                client, _ = sock.accept()
                client.setblocking(False)
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                to_device[client.fileno()] = (client, dev)
                to_client[dev] = client
                poller.register(client.fileno(), select.EPOLLIN)
                poller.register(dev, select.EPOLLIN)
            elif fd in to_client:
                to_client[fd].send(os.read(fd, 65536))
            else:
                client, dev = to_device[fd]
                data = client.recv(65536)
                if not data:
                    return
                os.write(dev, data)


if __name__ == "__main__":
    main(sys.argv[1:])
