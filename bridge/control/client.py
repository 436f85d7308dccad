"""The asyncio client of the control protocol, for the dashboard and the CLI.

Usage::

    client = await ControlClient.connect("/run/serial-bridge/control.sock")
    ports = (await client.request("list"))["ports"]
    await client.request("subscribe")
    async for event in client.events():
        ...
    await client.close()

A failed request raises :class:`ControlRequestError` (its ``code`` says
whose mistake it was); a lost connection fails every pending request with
:class:`ControlConnectionLost` and ends :meth:`ControlClient.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import AsyncIterator
from typing import Any

from bridge.control import schema
from bridge.control.address import UnixAddress, parse_address

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
# Replies may be longer than requests (a tail's history): accept up to 64 MiB a line.
MAX_READ_LINE = 64 << 20
_END = object()


class ControlError(Exception):
    """Base of the client's errors; ``str(exc)`` is one line."""


class ControlUnavailable(ControlError):
    """The endpoint could not be reached (no daemon, wrong address, refused)."""


class ControlRefused(ControlUnavailable):
    """The bridge answered but refused us: a wrong or missing token, or the TLS
    endpoint's refusal (it is running: "is it running?" would mislead)."""


class ControlConnectionLost(ControlError):
    """The connection ended while a request was waiting."""


class ControlRequestError(ControlError):
    """The server answered ``ok: false``.

    Attributes:
        code: the protocol's error code (``schema.BAD_REQUEST`` ...).
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class ControlClient:
    """One connection to a control endpoint."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 address: str) -> None:
        """Use :meth:`connect` instead."""
        self.address = address
        self.server_info: dict[str, Any] = {}
        self._reader = reader
        self._writer = writer
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[object] = asyncio.Queue()
        self._closed = asyncio.Event()
        self._read_task = asyncio.create_task(self._read_loop(), name=f"control-client {address}")

    @classmethod
    async def connect(cls, address: str, token: str | None = None, *,
                      timeout: float = CONNECT_TIMEOUT) -> ControlClient:
        """Connect and say hello (with the token, when one is given).

        Raises:
            ControlUnavailable: the endpoint cannot be reached or refused us.
        """
        try:
            parsed = parse_address(address)
        except ValueError as exc:
            raise ControlUnavailable(str(exc)) from None
        try:
            async with asyncio.timeout(timeout):
                if isinstance(parsed, UnixAddress):
                    reader, writer = await asyncio.open_unix_connection(
                        parsed.path, limit=MAX_READ_LINE)
                else:
                    reader, writer = await asyncio.open_connection(
                        parsed.host, parsed.port, limit=MAX_READ_LINE,
                        ssl=client_tls_context() if parsed.tls else None)
        except TimeoutError:
            raise ControlUnavailable(f"cannot reach the bridge at {address}: timed out") from None
        except OSError as exc:   # ssl.SSLError included
            reason = exc.strerror or getattr(exc, "reason", None) or str(exc)
            raise ControlUnavailable(f"cannot reach the bridge at {address}: {reason}") from None
        client = cls(reader, writer, str(parsed))
        try:
            args = {"token": token} if token else {}
            client.server_info = await asyncio.wait_for(client.request("hello", **args), timeout)
        except (ControlError, TimeoutError) as exc:
            await client.close()
            raise ControlRefused(f"the bridge at {address} refused us: {exc}") from None
        return client

    @property
    def closed(self) -> bool:
        """True once the connection has ended."""
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        """Wait until the connection ends."""
        await self._closed.wait()

    async def request(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one request and wait for its reply.

        Returns:
            The reply's fields (``ok`` true).

        Raises:
            ControlRequestError: the server refused it.
            ControlConnectionLost: the connection ended first.
        """
        if self.closed:
            raise ControlConnectionLost(f"connection to {self.address} is closed")
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._writer.write(schema.encode(schema.request(request_id, op, **args)))
            await self._writer.drain()
            return await future
        except (ConnectionError, OSError) as exc:
            raise ControlConnectionLost(f"connection to {self.address} lost: {exc}") from None
        finally:
            self._pending.pop(request_id, None)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Events as they arrive, until the connection ends."""
        while True:
            item = await self._events.get()
            if item is _END:
                self._events.put_nowait(_END)  # later iterators end too
                return
            assert isinstance(item, dict)
            yield item

    async def close(self) -> None:
        """Close the connection."""
        self._writer.close()
        self._read_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
            await self._read_task
        self._finish("closed")

    async def _read_loop(self) -> None:
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                self._dispatch(line)
        except (ConnectionError, OSError, ValueError) as exc:
            log.debug("control client %s: %s", self.address, exc)
        finally:
            self._finish("lost")

    def _dispatch(self, line: bytes) -> None:
        try:
            message = schema.decode(line)
        except schema.ProtocolError as exc:
            log.warning("control client %s: ignored a bad message: %s", self.address, exc)
            return
        if "event" in message:
            self._events.put_nowait(message)
            return
        future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if future is None or future.done():
            return
        if message.get("ok"):
            future.set_result({k: v for k, v in message.items() if k not in ("v", "id", "ok")})
        else:
            future.set_exception(ControlRequestError(
                str(message.get("error", "error")), str(message.get("code", schema.INTERNAL))))

    def _finish(self, how: str) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._writer.close()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ControlConnectionLost(f"connection to {self.address} {how}"))
        self._events.put_nowait(_END)


TLS_CA_ENV = "SERIAL_BRIDGE_TLS_CA"
TLS_CERT_ENV = "SERIAL_BRIDGE_TLS_CERT"
TLS_KEY_ENV = "SERIAL_BRIDGE_TLS_KEY"


def client_tls_context() -> ssl.SSLContext:
    """The TLS context of a ``tls://`` control address (issue 11).

    The bridge's certificate is checked against ``$SERIAL_BRIDGE_TLS_CA`` (a
    PEM file; the system's CAs when unset); ``$SERIAL_BRIDGE_TLS_CERT`` and
    ``$SERIAL_BRIDGE_TLS_KEY`` name a client certificate for bridges with
    ``tls_client_ca``.

    Raises:
        OSError: a named file cannot be read or is not PEM (ssl.SSLError).
    """
    context = ssl.create_default_context(cafile=os.environ.get(TLS_CA_ENV) or None)
    cert = os.environ.get(TLS_CERT_ENV)
    if cert:
        context.load_cert_chain(cert, os.environ.get(TLS_KEY_ENV) or None)
    return context


async def connect_retrying(address: str, token: str | None = None, *,
                           first_delay: float = 0.2, max_delay: float = 5.0,
                           attempts: int | None = None) -> ControlClient:
    """Connect, retrying with exponential backoff while the endpoint is unreachable.

    Args:
        address: the endpoint.
        token: the control token, if the endpoint needs one.
        first_delay: seconds before the first retry; doubles up to ``max_delay``.
        attempts: give up after this many tries (None: never).

    Raises:
        ControlUnavailable: the last failure, when ``attempts`` ran out.
    """
    delay = first_delay
    tried = 0
    while True:
        tried += 1
        try:
            return await ControlClient.connect(address, token)
        except ControlUnavailable:
            if attempts is not None and tried >= attempts:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
