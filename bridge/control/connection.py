"""One control connection: read requests, run them against the target, write replies.

A reader loop splits the stream into lines (at most ``schema.MAX_LINE``
bytes: a longer line gets an error reply and is skipped up to its newline),
answers each request in turn, and a writer task drains the connection's
:class:`~bridge.control.outbox.Outbox`. Nothing a client sends raises out of
here: every failure becomes an error reply, and the connection is closed
only when its stream is unusable or after repeated failed authentication.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bridge import __version__
from bridge.control import convert, schema
from bridge.control.outbox import Outbox
from bridge.control.target import AttachedSession, ControlTarget

if TYPE_CHECKING:
    from bridge.control.server import ControlServer

log = logging.getLogger(__name__)

READ_SIZE = 65536
MAX_AUTH_FAILURES = 3
FLUSH_TIMEOUT = 1.0
Handler = Callable[["ControlConnection", schema.Request], Awaitable[dict[str, Any]]]


class ControlConnection:
    """The server side of one client connection."""

    def __init__(self, server: ControlServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, peer: str) -> None:
        self.server = server
        self.target: ControlTarget = server.target
        self.peer = peer
        self.outbox = Outbox(server.queue_limit)
        self.authed = server.token is None
        self.subscribed = False
        self.tails: dict[str, Callable[[], None]] = {}
        self.attached: dict[str, AttachedSession] = {}
        self._reader = reader
        self._writer = writer
        self._auth_failures = 0
        self._closing = False

    async def serve(self) -> None:
        """Run the connection until the peer leaves or the server closes it."""
        writer_task = asyncio.create_task(self._write_loop(), name=f"control-writer {self.peer}")
        try:
            await self._read_loop()
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(FLUSH_TIMEOUT):
                        await self.outbox.idle.wait()  # the last replies go out before we close
        except (ConnectionError, OSError) as exc:
            log.debug("control connection %s: %s", self.peer, exc)
        finally:
            writer_task.cancel()
            await self._cleanup()
            await asyncio.gather(writer_task, return_exceptions=True)

    async def _cleanup(self) -> None:
        self.outbox.close()
        self.server.forget(self)
        for remove in self.tails.values():
            remove()
        self.tails.clear()
        for session in list(self.attached.values()):
            try:
                await session.close()
            except Exception:  # noqa: BLE001 - the session may already be gone
                log.debug("closing attached session failed", exc_info=True)
        self.attached.clear()
        self._writer.close()

    async def _read_loop(self) -> None:
        buffer = bytearray()
        skipping = False
        while True:
            chunk = await self._reader.read(READ_SIZE)
            if not chunk:
                return
            buffer += chunk
            while True:
                end = buffer.find(b"\n")
                if end < 0:
                    break
                line = bytes(buffer[:end])
                del buffer[:end + 1]
                if skipping:
                    skipping = False
                    continue
                if not await self._handle_line(line):
                    return
            if len(buffer) > schema.MAX_LINE:
                if not skipping:
                    self.outbox.put_reply(schema.error_reply(
                        None, f"message longer than {schema.MAX_LINE} bytes"))
                skipping = True
                buffer.clear()

    async def _handle_line(self, line: bytes) -> bool:
        """Answer one line; False when the connection must close."""
        if not line.strip():
            return True
        try:
            request = schema.decode_request(line)
        except schema.ProtocolError as exc:
            self.outbox.put_reply(schema.error_reply(exc.request_id, str(exc), exc.code))
            return True
        self.outbox.put_reply(await self._run(request))
        await self.outbox.wait_for_room()
        return self._auth_failures < MAX_AUTH_FAILURES

    async def _run(self, request: schema.Request) -> dict[str, Any]:
        if not self.authed and request.op not in ("hello", "auth"):
            return schema.error_reply(request.id, "authenticate first: hello with the token",
                                      schema.UNAUTHORIZED)
        handler = HANDLERS[request.op]
        try:
            fields = await handler(self, request)
        except schema.ProtocolError as exc:
            return schema.error_reply(request.id, str(exc), exc.code)
        except KeyError as exc:
            name = request.args.get("port") or (exc.args[0] if exc.args else "?")
            return schema.error_reply(request.id, f"no such port {name!r}", schema.UNKNOWN_PORT)
        except ValueError as exc:
            return schema.error_reply(request.id, str(exc) or "refused", schema.REFUSED)
        except Exception as exc:  # noqa: BLE001 - one bad request must not end the server
            log.exception("control op %s failed", request.op)
            return schema.error_reply(request.id, f"{request.op} failed: {exc}", schema.INTERNAL)
        return schema.reply(request.id, **fields)

    async def _write_loop(self) -> None:
        try:
            while True:
                message = await self.outbox.get()
                self._writer.write(schema.encode(message))
                await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            log.debug("control connection %s: write failed: %s", self.peer, exc)
            self._writer.close()

    async def close(self) -> None:
        """Close the connection from the server side (its serve() then ends)."""
        self._closing = True
        self._writer.close()

    # --- op handlers -----------------------------------------------------

    async def op_hello(self, request: schema.Request) -> dict[str, Any]:
        """Greet; with a token configured, check it."""
        token = self.server.token
        if token is not None and not self.authed:
            import hmac   # here: a bridge without a control token never loads hashlib's OpenSSL (issue 10, RSS)

            given = request.args.get("token")
            if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
                self._auth_failures += 1
                raise schema.ProtocolError("wrong or missing token", request.id, schema.UNAUTHORIZED)
            self.authed = True
        return {"server": "serial-bridge", "version": __version__, "protocol": schema.VERSION}

    async def op_auth(self, request: schema.Request) -> dict[str, Any]:
        """Authenticate (the same as ``hello`` with a token)."""
        return await self.op_hello(request)

    async def op_list(self, request: schema.Request) -> dict[str, Any]:
        """All ports."""
        return {"ports": [convert.port_to_json(s) for s in self.target.port_statuses()]}

    async def op_port(self, request: schema.Request) -> dict[str, Any]:
        """One port."""
        return {"port": convert.port_to_json(self.target.port_status(request.args["port"]))}

    async def op_set(self, request: schema.Request) -> dict[str, Any]:
        """Change line settings."""
        name = request.args["port"]
        self.target.port_status(name)
        try:
            changes = schema.check_settings(request.args["settings"])
        except ValueError as exc:
            raise schema.ProtocolError(f"set: {exc}", request.id) from None
        applied = await self.target.set_line_settings(name, changes)
        reply: dict[str, Any] = {"settings": convert.settings_to_json(applied)}
        # What the device refused (a pty's parity, an adapter's data size):
        # the value asked for and the value in force, per key.
        not_applied = {key: {"asked": value, "in_force": getattr(applied, key)}
                       for key, value in changes.items()
                       if hasattr(applied, key) and getattr(applied, key) != value}
        if not_applied:
            reply["not_applied"] = not_applied
        return reply

    async def op_break(self, request: schema.Request) -> dict[str, Any]:
        """Send a break, as the port or through this connection's attached session."""
        name = request.args["port"]
        if request.args.get("attached"):
            await self._attached(request).send_break()
        else:
            await self.target.send_break(name)
        return {}

    async def op_ip(self, request: schema.Request) -> dict[str, Any]:
        """Send Interrupt Process."""
        await self.target.send_ip(request.args["port"])
        return {}

    async def op_enable(self, request: schema.Request) -> dict[str, Any]:
        """Enable a port."""
        await self.target.enable_port(request.args["port"])
        return {}

    async def op_disable(self, request: schema.Request) -> dict[str, Any]:
        """Disable a port (its sessions end)."""
        await self.target.disable_port(request.args["port"])
        return {}

    async def op_kick(self, request: schema.Request) -> dict[str, Any]:
        """End one session of a port."""
        await self.target.kick_session(request.args["port"], request.args["session"])
        return {}

    async def op_reload(self, request: schema.Request) -> dict[str, Any]:
        """Re-read the config."""
        return {"result": await self.target.reload()}

    async def op_subscribe(self, request: schema.Request) -> dict[str, Any]:
        """Start receiving events."""
        self.subscribed = True
        self.server.listeners_changed()
        return {}

    async def op_unsubscribe(self, request: schema.Request) -> dict[str, Any]:
        """Stop receiving events."""
        self.subscribed = False
        self.server.listeners_changed()
        return {}

    async def op_tail(self, request: schema.Request) -> dict[str, Any]:
        """The port's history now, then its output as ``output`` events."""
        name = request.args["port"]
        history = self.target.history(name) if request.args.get("history", True) else b""
        if name not in self.tails:
            outbox = self.outbox

            def on_output(data: bytes) -> None:
                outbox.put_event(convert.output_event(name, data))

            self.tails[name] = self.target.add_tail(name, on_output)
        return {"history": schema.b64encode(history)}

    async def op_untail(self, request: schema.Request) -> dict[str, Any]:
        """Stop a tail."""
        remove = self.tails.pop(request.args["port"], None)
        if remove is not None:
            remove()
        return {}

    async def op_attach(self, request: schema.Request) -> dict[str, Any]:
        """Join the port as a session; output arrives as ``output`` events with its id."""
        name = request.args["port"]
        if name in self.attached:
            raise ValueError(f"already attached to {name}")
        box: dict[str, int] = {}
        outbox = self.outbox

        def on_output(data: bytes) -> None:
            outbox.put_event(convert.output_event(name, data, box.get("id", -1)))

        def on_close(reason: str) -> None:
            if self.attached.pop(name, None) is not None:
                outbox.put_event(schema.event("detached", port=name, session=box.get("id", -1),
                                              reason=reason))

        session = await self.target.attach(name, f"control {self.peer}", on_output, on_close)
        box["id"] = session.id
        self.attached[name] = session
        return {"session": session.id, "access": session.access}

    async def op_input(self, request: schema.Request) -> dict[str, Any]:
        """Keys for the attached session's device."""
        self._attached(request).write(schema.b64decode(request.args["data"]))
        return {}

    async def op_detach(self, request: schema.Request) -> dict[str, Any]:
        """Leave an attached session."""
        session = self._attached(request)
        del self.attached[request.args["port"]]
        await session.close()
        return {}

    def _attached(self, request: schema.Request) -> AttachedSession:
        session = self.attached.get(request.args["port"])
        if session is None:
            raise schema.ProtocolError(f"not attached to {request.args['port']}", request.id)
        return session


HANDLERS: dict[str, Handler] = {
    op: getattr(ControlConnection, f"op_{op}") for op in schema.OPS
}
