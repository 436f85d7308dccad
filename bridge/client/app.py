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
import dataclasses
import os
import socket
import ssl
import sys

from bridge.client.console import ClientOptions, Console
from bridge.client.link import Link, tls_reason
from bridge.client.remote import RemoteError, resolve_port
from bridge.client.target import PortName, Target
from bridge.client.terminal import window_size
from bridge.errors import RuntimeFailure, UserError

CONNECT_TIMEOUT = 10.0
SETTLE_SECONDS = 0.3
TLS_RECORD_TYPES = (0x15, 0x16)  # TLS alert, handshake: the first byte of a TLS server's record
NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE",
                             "UNKNOWN_PROTOCOL", "HTTP_REQUEST"})  # OpenSSL's reasons for bytes that are no TLS


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


def tls_context(options: ClientOptions) -> ssl.SSLContext | None:
    """The TLS client context for ``--tls`` (None without it): the server's certificate checked
    against ``--tls-ca`` (default: the system's CAs) and its name; ``--tls-cert``/``--tls-key``
    as our certificate when the port asks for one.

    Raises:
        UserError: a file that cannot be read or is no certificate or key (one line).
    """
    if not options.tls:
        return None
    try:
        context = ssl.create_default_context(cafile=options.tls_ca)
    except (OSError, ssl.SSLError) as exc:
        raise UserError(f"--tls-ca {options.tls_ca}: {_file_reason(exc)}") from None
    if options.tls_cert:
        try:
            context.load_cert_chain(options.tls_cert, options.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise UserError(f"--tls-cert {options.tls_cert}: {_file_reason(exc)}") from None
    return context


def _file_reason(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"not a certificate or key the TLS library accepts ({tls_reason(exc)})"
    return exc.strerror or str(exc)


async def open_connection(target: Target, context: ssl.SSLContext | None = None,
                          ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the target with TCP_NODELAY, inside TLS when ``context`` is given.

    Raises:
        RuntimeFailure: unknown host, refused, unreachable, timed out, TLS refused (one line).
    """
    where = target.address
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(target.host, target.port, limit=1 << 20)
            if context is not None:  # in two steps, so that a failure is told as TCP's or TLS's
                await writer.start_tls(context, server_hostname=target.host)
    except BaseException as exc:
        if writer is not None:
            writer.transport.abort()
        if isinstance(exc, Exception):
            raise RuntimeFailure(_connect_failure(where, target.host, exc, tls=writer is not None)) from None
        raise
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    return reader, writer


def _connect_failure(where: str, host: str, exc: Exception, *, tls: bool) -> str:
    """The one line for a connection that failed: in TCP's connect, or (``tls``) in the TLS handshake."""
    if tls:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return (f"cannot connect to {where}: TLS: the server's certificate is not trusted "
                    f"({exc.verify_message}; --tls-ca names the CA to trust)")
        if isinstance(exc, ssl.SSLError) and exc.reason in NOT_TLS_REASONS:
            return (f"cannot connect to {where}: TLS: the server answered with something other than TLS "
                    f"({tls_reason(exc)}): a port without TLS? then connect without --tls")
        if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError)):
            return (f"{where} closed the connection in the TLS handshake: this address may not connect "
                    "(the port's allow list)")
        if isinstance(exc, ssl.SSLError):
            return f"cannot connect to {where}: TLS refused: {tls_reason(exc)}"
        if isinstance(exc, TimeoutError):
            return (f"cannot connect to {where}: no TLS handshake within {CONNECT_TIMEOUT:g} s: "
                    "a port without TLS? then connect without --tls")
    if isinstance(exc, socket.gaierror):
        return f"cannot connect to {where}: unknown host {host!r} ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(exc, ConnectionResetError):
        return _refused_at_once(where)
    if isinstance(exc, TimeoutError):
        return f"cannot connect to {where}: timed out"
    if isinstance(exc, OSError):
        return f"cannot connect to {where}: {os.strerror(exc.errno) if exc.errno else str(exc)}"
    raise exc


def _refused_at_once(where: str) -> str:
    return (f"{where} closed the connection at once: this address may not connect "
            "(the port's allow list), or the port takes only TLS (then use --tls)")


async def settle(reader: asyncio.StreamReader, link: Link, client_cert: str | None = None) -> bytes:
    """Wait briefly for the server's first bytes, so a refusal is seen before the terminal changes.

    Args:
        client_cert: the ``--tls-cert`` file we offered, or None: it names the likely refusal.

    Returns:
        The first bytes read (possibly empty when the server is silent).

    Raises:
        RuntimeFailure: the server closed or reset at once, or speaks TLS.
    """
    where = link.target.address
    tls = link.writer.get_extra_info("sslcontext") is not None
    try:
        first = await asyncio.wait_for(reader.read(65536), SETTLE_SECONDS)
    except TimeoutError:
        return b""
    except ssl.SSLError as exc:  # TLS 1.3: the server's verdict on our certificate comes after the handshake
        help_text = (f"our certificate: {client_cert}" if client_cert
                     else "--tls-cert and --tls-key give a client certificate")
        raise RuntimeFailure(f"{where} refused our TLS connection: {tls_reason(exc)} ({help_text})") from None
    except OSError:
        first = b""
    if not first:
        raise RuntimeFailure(_refused_at_once(where) if not tls else _tls_closed_at_once(where, client_cert))
    if not tls and first[0] in TLS_RECORD_TYPES and first[1:2] == b"\x03":
        raise RuntimeFailure(f"{where} speaks TLS (a port with tls = true): connect with --tls")
    return first


def _tls_closed_at_once(where: str, client_cert: str | None) -> str:
    """A TLS server that completed the handshake and closed without a word (no alert: serial-bridge's
    asyncio server does not send the one OpenSSL makes): on TLS 1.3 the client certificate is checked
    after our side of the handshake ends, so that is the likely reason."""
    if client_cert:
        return (f"{where} closed the TLS connection at once: the port may not accept our certificate "
                f"({client_cert}: is it signed by a CA in the port's tls_client_ca?), or may refuse this address")
    return (f"{where} closed the TLS connection at once: the port may want a client certificate "
            "(--tls-cert and --tls-key give one), or may refuse this address")


async def run_client(target: Target | PortName, options: ClientOptions) -> int:
    """Connect and run the console until the user quits or the connection ends.

    Returns:
        0 when the user quits, the server closes or a signal stops it; 1 when the connection failed
        or the server closed it without having sent a byte (a TLS-only port, a refusal).

    Raises:
        RuntimeFailure: the connection could not be made (one line).
    """
    context = tls_context(options)
    resolved = await resolve(target, options.control)
    if resolved.tls and context is None:   # a port named through the bridge says it takes only TLS
        context = tls_context(dataclasses.replace(options, tls=True))
    reader, writer = await open_connection(resolved, context)
    interactive = os.isatty(0)
    term = os.environ.get("TERM") or None
    line_options = (options.baud, options.framing, options.flow, options.dtr, options.rts)
    link = Link(resolved, writer, terminal_type=term.upper() if term and interactive else None,
                window=(lambda: window_size(0)) if interactive else None, binary=not interactive,
                comport=resolved.kind == "rfc2217" or any(v is not None for v in line_options))
    try:
        link.open()
        first = await settle(reader, link, options.tls_cert)
    except BaseException:
        writer.close()
        raise
    console = Console(link, reader, options)
    shown = link.receive(first) if first else b""
    code, reason = await console.run(shown)
    if reason:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP) or the pipe closed
            if interactive and code == 0:
                print(f"\r\n{reason}.", flush=True)
            else:
                print(f"serial-bridge: {reason}", file=sys.stderr, flush=True)
    return code
