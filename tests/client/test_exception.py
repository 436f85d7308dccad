"""An exception inside the client (a bug) still restores the terminal; run in-process on a real pty."""

from __future__ import annotations

import asyncio
import os
import socket
import termios

import pytest

from bridge.client.console import ClientOptions, Console
from bridge.client.link import Link
from bridge.client.target import Target
from bridge.control.console import DEFAULT_ESCAPE


class Boom(Exception):
    """The injected bug."""


def test_an_exception_while_running_restores_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    master, slave = os.openpty()
    saved = termios.tcgetattr(slave)
    ours, theirs = socket.socketpair()

    def broken_receive(self: Link, data: bytes) -> bytes:
        raise Boom("a bug on the data path")

    monkeypatch.setattr(Link, "receive", broken_receive)

    async def main() -> None:
        reader, writer = await asyncio.open_connection(sock=ours)
        link = Link(Target("tcp", "h", 1), writer, terminal_type=None, window=None)
        console = Console(link, reader, ClientOptions(escape=DEFAULT_ESCAPE), stdin=slave, stdout=slave)
        run = asyncio.ensure_future(console.run())
        for _ in range(100):  # bounded: until raw mode is on
            if not termios.tcgetattr(slave)[3] & termios.ICANON:
                break
            await asyncio.sleep(0.01)
        assert not termios.tcgetattr(slave)[3] & termios.ICANON  # raw
        theirs.sendall(b"device output")
        await asyncio.wait_for(run, 10)

    try:
        with pytest.raises(Boom):
            asyncio.run(main())
        assert termios.tcgetattr(slave) == saved
    finally:
        for fd in (master, slave):
            os.close(fd)
        theirs.close()


def test_a_bug_is_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command turns an unexpected exception into one line (exit 1); --debug lets it through."""
    import bridge.client.app
    from bridge.cli import main

    async def broken(*args: object) -> int:
        raise Boom("something broke")

    monkeypatch.setattr(bridge.client.app, "run_client", broken)
    assert main(["connect", "127.0.0.1:1"]) == 1
    with pytest.raises(Boom):
        main(["connect", "--debug", "127.0.0.1:1"])
