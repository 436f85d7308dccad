"""The SSH server (issue 11): a login becomes a session of a port.

One server per bridge on ``ssh_listen`` (asyncssh). The login name says
where to go: ``alice:rtr1`` puts alice on port rtr1, ``alice`` alone gets a
menu of her ports. Keys (authorized_keys, options such as ``from=``
honoured by asyncssh) and ``scrypt$`` password hashes are checked against
``[[user]]`` only.

Connections are accepted here, not by asyncssh, so the allow list is checked
before the server sends its version line (RFC 4253 section 4.2); an allowed
socket is handed to ``asyncssh.run_server``. Hostile input is bounded: at
most ``MAX_LOGINS`` connections may be logging in at once, each for at most
``LOGIN_TIMEOUT`` seconds and ``MAX_TRIES`` failed attempts; a source with
``FAILURES_PER_MINUTE`` failed logins is refused at accept until it has been
quiet for a minute. Failed logins are logged with their source, at most
``FAILURES_PER_MINUTE`` lines a minute per source.

A session channel (RFC 4254 section 6) becomes a port session through
``PortWorker.accept`` with ``ChannelTransport``, an asyncio-transport face
of the channel: raw framing (an SSH channel carries bytes; no Telnet inside),
the channel's flow control as the socket's, a break request (RFC 4335) as a
break on the line, and the pty request's TERM and window size, and later
window changes (RFC 4254 sections 6.2, 6.7), recorded like TTYPE and NAWS.

No shell, no port forwarding, no agent or X11 forwarding, no SFTP/SCP. An
exec request (``ssh alice@host rtr1``) may name a port (connects to it, as
``alice:rtr1``) or be ``ports`` (lists her ports and exits 0); anything else
exits 1 with one line on stderr.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import asyncssh

from bridge.access.allow import LOG_TABLE_LIMIT, peer_host
from bridge.access.passwords import verify_password
from bridge.access.users import WATCHER, WRITER, User, load_users
from bridge.config.access import private_file_problem
from bridge.errors import RuntimeFailure

if TYPE_CHECKING:
    from bridge.access.policy import Access
    from bridge.config.model import BridgeConfig
    from bridge.port.session import ClientSession
    from bridge.port.worker import PortWorker

log = logging.getLogger("bridge.ssh")

LOGIN_TIMEOUT = 30.0         # seconds from TCP accept to a completed login
MAX_LOGINS = 64              # connections logging in at once
MAX_TRIES = 6                # failed password or key attempts per connection
FAILURES_PER_MINUTE = 10     # failed logins per source before it is refused for a minute
HISTORY_PREVIEW = 4096       # bytes of a port's recent output the menu shows
MAX_BREAK_MS = 10000         # the longest break a client may ask for
LINE_LIMIT = 200             # characters of a menu line

Workers = Callable[[], Mapping[str, "PortWorker"]]


class SshServer:
    """The bridge's SSH server."""

    def __init__(self, access: Access, workers: Workers) -> None:
        self.access = access
        self.workers = workers
        self.users: dict[str, User] = load_users(access.config.users)
        self.failures = LoginFailures()
        self.address = ""
        self._sock: socket.socket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._logins: set[asyncio.Task[None]] = set()
        self._conns: set[asyncssh.SSHServerConnection] = set()
        self._options: asyncssh.SSHServerConnectionOptions | None = None
        self._busy_logged = 0.0

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Load or make the host key and listen.

        Raises:
            RuntimeFailure: the host key cannot be read or made.
            OSError: the address cannot be bound.
        """
        config = self.access.config
        assert config.ssh_host_key is not None
        key = load_host_key(config.ssh_host_key)
        if not log.isEnabledFor(logging.DEBUG):
            logging.getLogger("asyncssh").setLevel(logging.WARNING)
        self._options = asyncssh.SSHServerConnectionOptions(
            server_host_keys=[key], login_timeout=LOGIN_TIMEOUT, connect_timeout=LOGIN_TIMEOUT,
            encoding=None, line_editor=False, allow_scp=False, agent_forwarding=False,
            x11_forwarding=False, keepalive_interval=60, keepalive_count_max=3,
            kbdint_auth=False, host_based_auth=False, gss_auth=False, gss_kex=False)
        self._sock = _listen(config.ssh_host, config.ssh_port)
        bound = self._sock.getsockname()
        self.address = f"[{bound[0]}]:{bound[1]}" if ":" in str(bound[0]) else f"{bound[0]}:{bound[1]}"
        self._accept_task = asyncio.get_running_loop().create_task(self._accept_loop(), name="ssh-accept")
        log.info("SSH: listening on %s, host key %s %s", self.address, key.get_algorithm(),
                 key.get_fingerprint("sha256"))

    async def stop(self) -> None:
        """Stop listening; end logins and connections under way."""
        if self._accept_task is not None:
            self._accept_task.cancel()
            await asyncio.gather(self._accept_task, return_exceptions=True)
        if self._sock is not None:
            self._sock.close()
        for task in list(self._logins):
            task.cancel()
        if self._logins:
            await asyncio.gather(*self._logins, return_exceptions=True)
        for conn in list(self._conns):
            conn.close()

    def reload(self, config: BridgeConfig) -> None:
        """Take new users (connections already made keep going)."""
        self.users = load_users(config.users)

    # ------------------------------------------------------------ accepting
    async def _accept_loop(self) -> None:
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, addr = await loop.sock_accept(self._sock)
            except OSError as exc:   # EMFILE and the like: wait a little, keep serving
                log.warning("SSH: accept: %s", exc)
                await asyncio.sleep(0.5)
                continue
            host, port = peer_host(addr)
            if not self.access.bridge_allow.permits(host):
                self.access.refusals.refused("SSH", host, port)
                _drop(sock)
                continue
            if self.failures.blocked(host):
                _drop(sock)
                continue
            if len(self._logins) >= MAX_LOGINS:
                now = time.monotonic()
                if now - self._busy_logged > 60:
                    self._busy_logged = now
                    log.warning("SSH: %d connections are logging in; refusing more for now", MAX_LOGINS)
                _drop(sock)
                continue
            task = loop.create_task(self._login(sock, host, port))
            self._logins.add(task)
            task.add_done_callback(self._logins.discard)

    async def _login(self, sock: socket.socket, host: str, port: int | None) -> None:
        login = Login(self, host, port)
        try:
            conn = await asyncssh.run_server(sock, options=self._options, server_factory=lambda: login)
        except asyncio.CancelledError:
            sock.close()
            raise
        except Exception as exc:  # whatever a hostile client provokes ends its connection only
            sock.close()
            if login.tried:
                self.failures.failed(host, port, login.username, _reason(exc))
            else:
                log.debug("SSH: connection from %s:%s ended before login: %s", host, port, _reason(exc))
            return
        self._conns.add(conn)
        conn_closed = asyncio.ensure_future(conn.wait_closed())
        conn_closed.add_done_callback(lambda _: self._conns.discard(conn))

    def ports_of(self, user: User, host: str | None = None) -> list[tuple[PortWorker, str]]:
        """Her ports (worker, role), in config order; with ``host``, only those whose
        ``allow`` list lets that address connect."""
        workers = self.workers()
        ports = [(workers[name], role) for name, role in user.ports(workers.keys())]
        if host is None:
            return ports
        return [(w, role) for w, role in ports if self.access.allow_list(w.config.allow).permits(host)]


class LoginFailures:
    """Failed logins per source address: logged, and counted to refuse a source that keeps failing."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}
        self._told: dict[str, float] = {}

    def _recent(self, host: str, now: float) -> deque[float]:
        times = self._times.get(host)
        if times is None:
            if len(self._times) >= LOG_TABLE_LIMIT:
                self._times = {h: t for h, t in self._times.items() if t and now - t[-1] < 60}
                if len(self._times) >= LOG_TABLE_LIMIT:
                    self._times.pop(next(iter(self._times)))
            times = self._times[host] = deque(maxlen=FAILURES_PER_MINUTE)
        while times and now - times[0] >= 60:
            times.popleft()
        return times

    def blocked(self, host: str) -> bool:
        """Whether ``host`` failed too often in the last minute."""
        times = self._times.get(host)
        if not times:
            return False
        now = time.monotonic()
        return len(self._recent(host, now)) >= FAILURES_PER_MINUTE

    def failed(self, host: str, port: int | None, username: str, why: str) -> None:
        """Count and log one failed login."""
        now = time.monotonic()
        times = self._recent(host, now)
        times.append(now)
        if len(times) < FAILURES_PER_MINUTE:
            log.warning("SSH: failed login as %r from %s:%s (%s)", username, host, port, why)
        elif now - self._told.get(host, 0.0) >= 60:
            self._told[host] = now
            if len(self._told) > LOG_TABLE_LIMIT:
                self._told = {h: t for h, t in self._told.items() if now - t < 60}
            log.warning("SSH: %d failed logins from %s within a minute; refusing it until it has "
                        "been quiet for a minute", FAILURES_PER_MINUTE, host)


class Login(asyncssh.SSHServer):
    """One SSH connection's login (asyncssh calls these)."""

    def __init__(self, server: SshServer, host: str, port: int | None) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.conn: asyncssh.SSHServerConnection | None = None
        self.username = ""
        self.user: User | None = None
        self.target: str | None = None     # the port named in the login, if any
        self.tried = False
        self.tries = 0
        self.method = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def begin_auth(self, username: str) -> bool:
        """``user`` or ``user:port``; every login needs authentication."""
        self.tried = True
        self.username = username
        name, sep, target = username.partition(":")
        self.target = target if sep else None
        self.user = self.server.users.get(name)
        if self.user is not None and self.user.authorized_keys is not None and self.conn is not None:
            self.conn.set_authorized_keys(self.user.authorized_keys)
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """A key not in her authorized_keys (asyncssh checked those first)."""
        self._failed_try()
        return False

    def password_auth_supported(self) -> bool:
        return any(u.has_password for u in self.server.users.values())

    async def validate_password(self, username: str, password: str) -> bool:
        """Checked off the event loop (scrypt costs tens of ms)."""
        user = self.user
        if user is None or user.config.password is None or self.tries >= MAX_TRIES:
            self._failed_try()
            return False
        hashed = user.config.password
        ok = await asyncio.get_running_loop().run_in_executor(None, verify_password, password, hashed)
        if not ok:
            self._failed_try()
            return False
        self.method = "password"
        return True

    def _failed_try(self) -> None:
        self.tries += 1
        if self.tries >= MAX_TRIES and self.conn is not None:
            conn = self.conn
            asyncio.get_running_loop().call_soon(conn.disconnect, asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE,
                                                 "too many authentication failures")

    def auth_completed(self) -> None:
        assert self.user is not None
        log.info("SSH: %s logged in from %s:%s%s", self.user.name, self.host, self.port,
                 f" for port {self.target}" if self.target else "")

    def session_requested(self) -> asyncssh.SSHServerSession[bytes]:
        assert self.user is not None
        return SshSession(self.server, self.user, self.target, f"{self.host}:{self.port}")

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        return False   # no port forwarding

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False   # no remote forwarding

    def unix_connection_requested(self, dest_path: str) -> bool:
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        return False


class ChannelTransport(asyncio.Transport):
    """An SSH session channel with an asyncio transport's face, for a port session.

    ``write`` sends on the channel; ``pause_reading``/``resume_reading`` stop
    and restart the channel's window (the client's sending); the channel's
    write buffer is ``get_write_buffer_size``; ``close`` ends the channel
    with ``exit_status`` (0 unless set), on the next turn of the loop so a
    last line can still be written.
    """

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        super().__init__()
        self.chan = chan
        self.exit_status = 0
        self._protocol: asyncio.BaseProtocol | None = None
        self._closing = False
        self._lost = False
        self._released = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "socket":
            return default    # not the TCP socket: the SSH connection owns it
        return self.chan.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._protocol is not None
        return self._protocol

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        asyncio.get_running_loop().call_soon(self._finish)

    def release(self) -> None:
        """The port refused the session and the menu takes the channel back: the
        session is told its connection is gone; the channel stays open."""
        self._released = True
        self.lost(None)

    def _finish(self) -> None:
        if self._released:
            return
        try:
            self.chan.exit(self.exit_status)
        except OSError:
            self.chan.close()

    def abort(self) -> None:
        """Drop the client now (a stalled one): the whole SSH connection, not just the channel.

        A channel's close (RFC 4254 section 5.3) needs the client's own close
        in reply, which a client that stopped reading may never send; so the
        connection's TCP socket is closed at once and the port session ends
        without waiting for it.
        """
        if self._lost:
            return
        self._closing = True
        conn = self.chan.get_extra_info("connection")
        self.chan.abort()
        if isinstance(conn, asyncssh.SSHServerConnection):
            conn.abort()
        self.lost(None)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing:
            self.chan.write(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def write_eof(self) -> None:
        self.chan.write_eof()

    def can_write_eof(self) -> bool:
        return True

    def pause_reading(self) -> None:
        self.chan.pause_reading()

    def resume_reading(self) -> None:
        self.chan.resume_reading()

    def is_reading(self) -> bool:
        return True

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.chan.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return int(self.chan.get_write_buffer_size())

    # ---- from the channel (called by SshSession) ----
    def lost(self, exc: Exception | None) -> None:
        """The channel closed: the session's connection_lost, once."""
        if self._lost:
            return
        self._lost = True
        self._closing = True
        if isinstance(self._protocol, asyncio.BaseProtocol):
            self._protocol.connection_lost(exc)


class SshSession(asyncssh.SSHServerSession[bytes]):
    """One SSH session channel: the menu, then a port session."""

    def __init__(self, server: SshServer, user: User, target: str | None, peer: str) -> None:
        self.server = server
        self.user = user
        self.target = target
        self.peer = peer
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.term: str | None = None
        self.window: tuple[int, int] | None = None
        self.pty = False
        self.command: str | None = None
        self.transport: ChannelTransport | None = None
        self.session: ClientSession | None = None
        self.menu: Menu | None = None
        self._break_pending = False

    # ------------------------------------------------------------ requests
    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int],
                      term_modes: Mapping[int, int]) -> bool:
        self.pty = True
        self.term = term_type or None
        if term_size[0] and term_size[1]:
            self.window = (term_size[0], term_size[1])
        return True

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        """RFC 4254 6.7 window-change: recorded like NAWS."""
        self.window = (width, height)
        if self.session is not None:
            self.session.set_terminal(None, self.window)

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command.strip()
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False   # no sftp

    def session_started(self) -> None:
        if self.target is not None:
            self.attach(self.target)
        elif self.command:
            if self.command in ("ports", "list"):
                self.write(self.port_list(numbered=False))
                self.end(0)
            else:
                self.attach(self.command)
        else:
            self.menu = Menu(self)
            self.menu.show()

    # ------------------------------------------------------------ output
    def write(self, text: str) -> None:
        if self.chan is not None:
            self.chan.write(text.replace("\n", "\r\n").encode())

    def end(self, status: int, error: str | None = None) -> None:
        """Leave: one line on stderr (if any) and the exit status."""
        if self.chan is None:
            return
        if error:
            self.chan.write_stderr(f"serial-bridge: {error}\r\n".encode())
        self.chan.exit(status)

    def port_list(self, *, numbered: bool) -> str:
        rows = []
        for i, (worker, role) in enumerate(self.server.ports_of(self.user, self.peer_host), 1):
            n = len(worker.sessions)
            first = f"{i:>3}  " if numbered else ""
            rows.append(f"{first}{worker.name:<16} {worker.config.device:<24} {worker.state:<19} "
                        f"{n} client{'s' if n != 1 else ''}{'' if role == WRITER else ', watch only'}")
        return "\n".join(rows) + "\n" if rows else ""

    # ------------------------------------------------------------ a port
    def attach(self, name: str, menu: Menu | None = None) -> None:
        """Join port ``name`` as her role there. Refused: back to ``menu`` when
        she chose from it (one line, then its prompt), else leave with status 1."""
        self.menu = None
        role = self.user.role(name)
        worker = self.server.workers().get(name)
        if role is None or worker is None or self.chan is None:
            log.info("SSH: %s from %s: no port %r for this user", self.user.name, self.peer, name)
            self._refused(menu, f"no port {name!r} for {self.user.name}")
            return
        cfg = worker.config
        if not self.server.access.allow_list(cfg.allow).permits(self.peer_host):
            self.server.access.refusals.refused(f"port {name} (SSH)", self.peer_host)
            self._refused(menu, f"port {name} does not take connections from {self.peer_host}")
            return
        if cfg.banner and self.pty:   # without a terminal the stream is the device's bytes only
            self.write(f"[serial-bridge: port {name} on {cfg.device}, {worker.settings.short()}, {worker.state}; "
                       f"{self.user.name} ({role}); ~B sends a break, ~. leaves]\n")
        self.transport = ChannelTransport(self.chan)
        session = worker.accept(self.transport, kind="ssh", user=self.user.name, can_write=role == WRITER)
        if session.closed or self.transport.is_closing():
            why = f"port {name} refused the session (full, in use, or too many connections)"
            if menu is not None:
                self.transport.release()
                self.transport = None
                self._refused(menu, why)
                return
            self.transport.exit_status = 1
            self.chan.write_stderr(f"serial-bridge: {why}\r\n".encode())
            return
        self.session = session
        session.set_terminal(self.term, self.window)
        log.info("SSH: %s from %s on port %s (session %d, %s)", self.user.name, self.peer, name,
                 session.id, session.access)
        if session.access == WATCHER and role == WRITER and self.pty:
            self.write("[serial-bridge: another client writes; you are watching]\n")

    def _refused(self, menu: Menu | None, why: str) -> None:
        if menu is None:
            self.end(1, why)
            return
        self.menu = menu
        self.write(f"{why}\n")
        menu.prompt()

    @property
    def peer_host(self) -> str:
        return self.peer.rsplit(":", 1)[0]

    # ------------------------------------------------------------ input
    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        session = self.session
        if session is not None:
            session.data_received(data)   # a watcher at a terminal is told by the port, once
        elif self.menu is not None:
            self.menu.feed(data)

    def break_received(self, msec: int) -> bool:
        """RFC 4335: a break of ``msec`` ms on the line (the port's break_ms when 0), in order with the data."""
        session = self.session
        if session is None or session.access != WRITER:
            return False
        if self._break_pending:   # a storm of requests is one break
            return True
        self._break_pending = True
        length = min(msec, MAX_BREAK_MS) if msec > 0 else None
        worker = session.worker

        async def send() -> None:
            self._break_pending = False
            await worker.send_break(length)
        session.submit(send)
        return True

    def eof_received(self) -> bool:
        """The client sent EOF (RFC 4254 section 5.3; ssh's stdin ended).

        On a port it is a half-close: her input ends, the device's output
        keeps coming until she closes the channel (like ``nc`` or ser2net).
        In the menu it leaves, exit status 0.
        """
        if self.session is None:
            self.end(0)
        return True

    def pause_writing(self) -> None:
        if self.session is not None:
            self.session.pause_writing()

    def resume_writing(self) -> None:
        if self.session is not None:
            self.session.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.transport.lost(exc)
        self.menu = None


class Menu:
    """``ssh alice@host``: her ports, one chosen by number or name; ``h N`` shows its recent output."""

    def __init__(self, owner: SshSession) -> None:
        self.owner = owner
        self.line = bytearray()

    def show(self) -> None:
        owner = self.owner
        listing = owner.port_list(numbered=True)
        if not listing:
            owner.end(1, f"no ports for {owner.user.name}")
            return
        owner.write(f"serial-bridge: ports for {owner.user.name}\n{listing}"
                    "Type a number or name to connect, h and a number to see its recent output, q to leave.\n")
        self.prompt()

    def prompt(self) -> None:
        self.owner.write("port> ")

    def feed(self, data: bytes) -> None:
        for byte in data:
            if self.owner.menu is not self:
                return
            if byte in (3, 4):             # Ctrl-C, Ctrl-D
                self.owner.write("\n")
                self.owner.end(0)
                return
            if byte in (13, 10):
                if byte == 10 and not self.line and self._after_cr:
                    self._after_cr = False
                    continue
                self._after_cr = byte == 13
                if self.owner.pty:
                    self.owner.write("\n")
                line, self.line = self.line.decode("utf-8", "replace").strip(), bytearray()
                self.choose(line)
                continue
            self._after_cr = False
            if byte in (8, 127):
                if self.line:
                    self.line.pop()
                    if self.owner.pty:
                        self.owner.write("\b \b")
                continue
            if 32 <= byte < 127 and len(self.line) < LINE_LIMIT:
                self.line.append(byte)
                if self.owner.pty:
                    self.owner.write(chr(byte))

    _after_cr = False

    def choose(self, line: str) -> None:
        owner = self.owner
        ports = owner.server.ports_of(owner.user, owner.peer_host)
        if not line:
            self.prompt()
            return
        if line in ("q", "quit", "exit"):
            owner.end(0)
            return
        history = line.startswith("h ") or line.startswith("history ")
        pick = line.split(None, 1)[1].strip() if history else line
        worker = None
        if pick.isdigit() and 1 <= int(pick) <= len(ports):
            worker = ports[int(pick) - 1][0]
        else:
            worker = next((w for w, _ in ports if w.name == pick), None)
        if worker is None:
            owner.write(f"no port {pick!r}; type a number from 1 to {len(ports)}, h N, or q\n")
            self.prompt()
            return
        if history:
            recent = worker.history.snapshot()[-HISTORY_PREVIEW:]
            if owner.chan is not None:
                owner.write(f"--- recent output of {worker.name} ---\n")
                owner.chan.write(recent)
                owner.write(f"\n--- end of {worker.name}'s recent output ---\n")
            self.prompt()
            return
        owner.attach(worker.name, self)


def load_host_key(path: str) -> asyncssh.SSHKey:
    """The host key at ``path``, made (ed25519, mode 0600, with a .pub beside it) if missing.

    Raises:
        RuntimeFailure: it is readable by others, or cannot be read or made.
    """
    if os.path.exists(path):
        problem = private_file_problem(path)
        if problem:
            raise RuntimeFailure(f"SSH host key: {problem}")
        try:
            return asyncssh.read_private_key(path)
        except (OSError, ValueError, asyncssh.KeyImportError) as exc:
            raise RuntimeFailure(f"SSH host key {path}: cannot read it: {exc}") from None
    key = asyncssh.generate_private_key("ssh-ed25519", comment="serial-bridge host key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.export_private_key())
        with open(path + ".pub", "wb") as out:
            out.write(key.export_public_key())
    except OSError as exc:
        raise RuntimeFailure(f"SSH host key {path}: cannot make it: {exc.strerror or exc}") from None
    log.info("SSH: made a new host key %s", path)
    return key


def _listen(host: str, port: int) -> socket.socket:
    """A non-blocking listening TCP socket (backlog 128)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host in ("::", ""):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _drop(sock: socket.socket) -> None:
    """Close an accepted socket at once: nothing is sent."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncssh.DisconnectError):
        return exc.reason or type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "no login in time"
    return str(exc) or type(exc).__name__
