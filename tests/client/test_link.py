"""The client's Link on a real socket pair: its opening, RFC 2217 answers matched to requests, BINARY in a pipe."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from bridge.client.link import Link
from bridge.client.target import Target
from bridge.telnet import DEFAULT_SERVER_POLICY, ComPortCmd, Opt, OptionPolicy, Side, TelnetConnection

IAC, WILL, DO = 255, 251, 253


async def with_link(body: Callable[[Link, socket.socket], Awaitable[None]], **kwargs: object) -> None:
    ours, theirs = socket.socketpair()
    theirs.settimeout(5)
    _, writer = await asyncio.open_connection(sock=ours)
    link = Link(Target("telnet", "h", 1), writer, **kwargs)  # type: ignore[arg-type]
    try:
        await body(link, theirs)
    finally:
        writer.close()
        theirs.close()


async def wire(sock: socket.socket) -> bytes:
    await asyncio.sleep(0)  # let the transport write
    return sock.recv(65536)


def test_the_opening_offers_ttype_and_naws_and_com_port_only_when_asked() -> None:
    async def body(link: Link, peer: socket.socket) -> None:
        link.open()
        assert await wire(peer) == bytes((IAC, WILL, Opt.TTYPE, IAC, WILL, Opt.NAWS))

    asyncio.run(with_link(body, terminal_type="XTERM", window=lambda: (80, 24)))

    async def eager(link: Link, peer: socket.socket) -> None:
        link.open()
        assert await wire(peer) == bytes((IAC, WILL, Opt.COM_PORT))

    asyncio.run(with_link(eager, terminal_type=None, window=None, comport=True))


def test_each_request_gets_its_own_answer_after_the_opening_queries() -> None:
    """COM-PORT in force: the client asks for the current settings; a SET made before those answers
    arrive is answered by its own reply, not by the query's."""
    server = TelnetConnection(server=True, policy=DEFAULT_SERVER_POLICY)

    async def body(link: Link, peer: socket.socket) -> None:
        link.open()
        server.receive_data(await wire(peer))  # WILL COM-PORT: the server agrees
        link.receive(server.data_to_send())
        assert link.comport_active
        server.receive_data(await wire(peer))  # the opening queries, BINARY
        request = asyncio.ensure_future(link.comport(ComPortCmd.SET_BAUDRATE, (57600).to_bytes(4, "big")))
        await asyncio.sleep(0)
        server.ack_baud_rate(9600)  # the answer to the opening query
        server.ack_baud_rate(57600)  # the answer to our SET
        link.receive(server.data_to_send())
        assert await asyncio.wait_for(request, 5) == (57600).to_bytes(4, "big")
        assert link.line.baud == 57600

    asyncio.run(with_link(body, terminal_type=None, window=None, comport=True))


def test_a_refused_com_port_is_reported_and_not_asked_again() -> None:
    server = TelnetConnection(server=True, policy=OptionPolicy(us=frozenset(), him=frozenset()))

    async def body(link: Link, peer: socket.socket) -> None:
        ask = asyncio.ensure_future(link.ensure_comport(timeout=5))
        await asyncio.sleep(0)
        server.receive_data(await wire(peer))
        link.receive(server.data_to_send())  # DONT COM-PORT
        assert await ask is False
        assert await link.ensure_comport(timeout=5) is False  # at once, nothing sent
        assert not link.comport_active

    asyncio.run(with_link(body, terminal_type=None, window=None))


def test_a_pipe_waits_until_binary_is_answered_both_ways() -> None:
    server = TelnetConnection(server=True, policy=DEFAULT_SERVER_POLICY)

    async def body(link: Link, peer: socket.socket) -> None:
        link.open()
        assert not link.binary_settled.is_set()
        server.receive_data(await wire(peer))
        link.receive(server.data_to_send())
        assert link.binary_settled.is_set()
        assert link.conn is not None and link.conn.is_enabled(Opt.BINARY, Side.US)
        link.send(b"a\rb")  # BINARY: a bare CR goes as it is
        assert await wire(peer) == b"a\rb"

    asyncio.run(with_link(body, terminal_type=None, window=None, binary=True))
