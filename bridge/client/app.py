"""`serial-bridge connect`: resolve the target, connect, run the console, say why it ended.

Errors before the session starts (unknown port name, unknown host, refused,
a server that closes at once because an allow list or TLS refuses us) are a
:class:`bridge.errors.RuntimeFailure`: one line, exit 1, and the terminal is
never touched, because raw mode starts only once the connection is seen to
hold (:data:`SETTLE_SECONDS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys

from bridge.client.console import ClientOptions, Console
from bridge.client.link import Link
from bridge.client.remote import RemoteError, resolve_port
from bridge.client.target import PortName, Target
from bridge.client.terminal import window_size
from bridge.errors import RuntimeFailure

CONNECT_TIMEOUT = 10.0
SETTLE_SECONDS = 0.3
TLS_RECORD_TYPES = (0x15, 0x16)  # TLS alert, handshake: the first byte of a TLS server's record


async def resolve(target: Target | PortName, control: str | None) -> Target:
    """The Target itself, or the port named on the bridge.

    Raises:
        RuntimeFailure: unknown port name or unreachable control endpoint.
    """
    if isinstance(target, Target):
        return target
    try:
        return await resolve_port(target.name, control)
    except RemoteError as exc:
        raise RuntimeFailure(str(exc)) from None


async def open_connection(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the target with TCP_NODELAY.

    Raises:
        RuntimeFailure: unknown host, refused, unreachable, timed out.
    """
    where = target.address
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(target.host, target.port, limit=1 << 20)
    except socket.gaierror as exc:
        raise RuntimeFailure(f"cannot connect to {where}: unknown host {target.host!r} ({exc.strerror})") from None
    except ConnectionRefusedError:
        raise RuntimeFailure(f"cannot connect to {where}: connection refused") from None
    except TimeoutError:
        raise RuntimeFailure(f"cannot connect to {where}: timed out") from None
    except OSError as exc:
        raise RuntimeFailure(f"cannot connect to {where}: {exc.strerror or exc}") from None
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    return reader, writer


async def settle(reader: asyncio.StreamReader, link: Link) -> bytes:
    """Wait briefly for the server's first bytes, so a refusal is seen before the terminal changes.

    Returns:
        The first bytes read (possibly empty when the server is silent).

    Raises:
        RuntimeFailure: the server closed or reset at once, or speaks TLS.
    """
    where = link.target.address
    refused = (f"{where} closed the connection at once: this address may not connect "
               "(the port's allow list), or the port takes only TLS")
    try:
        first = await asyncio.wait_for(reader.read(65536), SETTLE_SECONDS)
    except TimeoutError:
        return b""
    except OSError:
        raise RuntimeFailure(refused) from None
    if not first:
        raise RuntimeFailure(refused)
    if first[0] in TLS_RECORD_TYPES and first[1:2] == b"\x03":
        raise RuntimeFailure(f"{where} speaks TLS (a port with tls = true); connect speaks plain "
                             f"Telnet and TCP: use 'openssl s_client -connect {where}'")
    return first


async def run_client(target: Target | PortName, options: ClientOptions) -> int:
    """Connect and run the console until the user quits or the connection ends.

    Returns:
        0 when the user quits, the server closes or a signal stops it; 1 when the connection failed.

    Raises:
        RuntimeFailure: the connection could not be made (one line).
    """
    resolved = await resolve(target, options.control)
    reader, writer = await open_connection(resolved)
    interactive = os.isatty(0)
    term = os.environ.get("TERM") or None
    line_options = (options.baud, options.framing, options.flow, options.dtr, options.rts)
    link = Link(resolved, writer, terminal_type=term.upper() if term and interactive else None,
                window=(lambda: window_size(0)) if interactive else None, binary=not interactive,
                comport=resolved.kind == "rfc2217" or any(v is not None for v in line_options))
    try:
        link.open()
        first = await settle(reader, link)
    except BaseException:
        writer.close()
        raise
    console = Console(link, reader, options)
    shown = link.receive(first) if first else b""
    if interactive:
        print(console.banner(), flush=True)
    code, reason = await console.run(shown)
    if reason:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP) or the pipe closed
            if interactive and code == 0:
                print(f"\r\n{reason}.", flush=True)
            else:
                print(f"serial-bridge: {reason}", file=sys.stderr, flush=True)
    return code
