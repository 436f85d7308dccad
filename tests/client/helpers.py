"""Real parts for `connect` tests: the client under a pseudo-terminal (pexpect), the daemon on ptys,
and a small Telnet server on the project's engine for what the daemon does not do (ask for NAWS,
refuse ECHO and SGA, close or reset at once). Every wait is bounded."""

from __future__ import annotations

import os
import select
import shlex
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from bridge.telnet import Event, Opt, OptionPolicy, Side, TelnetConnection
from tests.integration.helpers import WAIT, Daemon, PtyDevice

ROOT = Path(__file__).resolve().parents[2]
ESC = "\x1d"


def bridge_config(control: Path, dev: str, *, name: str = "rtr1", mode: str = "telnet", extra: str = "") -> str:
    """A daemon config: one port on ``dev`` listening on a free port, the control socket at ``control``."""
    return (f'[bridge]\ncontrol = "{control}"\n[[port]]\nname = "{name}"\ndevice = "{dev}"\n'
            f'listen = 0\nmode = "{mode}"\nlock_files = false\n{extra}\n')


def start_bridge(start_daemon: Callable[[str], Daemon], make_pty: Callable[[], PtyDevice], tmp_path: Path,
                 *, mode: str = "telnet", device: str | None = None) -> tuple[Daemon, PtyDevice, int, Path]:
    """A daemon bridging one pty as port rtr1: (daemon, pty, TCP port, control socket)."""
    dev = make_pty()
    control = tmp_path / "control.sock"
    daemon = start_daemon(bridge_config(control, device.format(dev=dev.path) if device else dev.path, mode=mode))
    daemon.wait_log(r"rtr1: device .* open")
    return daemon, dev, daemon.port_of("rtr1"), control


class Client:
    """`serial-bridge connect ARGS` under a real pseudo-terminal, inside a shell that saves
    ``stty -g`` before and after it, so a test can compare the terminal's settings.

    Attributes:
        child: the pexpect process (the shell).
        exit_code: the client's exit code, once :meth:`wait_exit` returned.
    """

    def __init__(self, args: list[str], tmp: Path, *, env: dict[str, str] | None = None,
                 size: tuple[int, int] = (24, 80), pipe_stdout_to: str | None = None) -> None:
        self.tmp = tmp
        self.before = tmp / "stty.before"
        self.after = tmp / "stty.after"
        self.code_file = tmp / "exit.code"
        for path in (self.before, self.after, self.code_file):
            path.unlink(missing_ok=True)
        command = " ".join(shlex.quote(a) for a in [*self.command_prefix(), *args])
        if pipe_stdout_to:
            command = f"{command} | {pipe_stdout_to}; echo ${{PIPESTATUS[0]}} > {self.code_file}"
        else:
            command = f"{command}; echo $? > {self.code_file}"
        script = f"stty -g > {self.before}; {command}; stty -g > {self.after}; echo CLIENT-DONE"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SERIAL_BRIDGE_")}  # no stray TLS, token
        full_env = {**inherited, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", **(env or {})}
        self.child = pexpect.spawn("/bin/bash", ["--norc", "--noprofile", "-c", script], env=full_env,
                                   timeout=WAIT, dimensions=size, cwd=str(ROOT))
        self.exit_code: int | None = None
        self.tail = b""

    @staticmethod
    def command_prefix() -> list[str]:
        """``python -m bridge connect``."""
        return [sys.executable, "-m", "bridge", "connect"]

    def expect(self, pattern: str | bytes, timeout: float = WAIT) -> bytes:
        """Wait for a regex on the screen; returns what came before it and the match."""
        self.child.expect(pattern, timeout=timeout)
        before = self.child.before if isinstance(self.child.before, bytes) else b""
        after = self.child.after if isinstance(self.child.after, bytes) else b""
        return before + after

    def send(self, text: str | bytes) -> None:
        """Type keys."""
        self.child.send(text)

    def command(self, line: str) -> None:
        """The escape key, the prompt, a command line and Enter."""
        self.send(ESC)
        self.expect("serial-bridge> ")
        self.send(line + "\r")

    def client_pid(self) -> int:
        """The client's process id (the shell's child), waited for while it starts."""
        deadline = time.monotonic() + WAIT
        path = Path(f"/proc/{self.child.pid}/task/{self.child.pid}/children")
        while time.monotonic() < deadline:
            children = path.read_text().split()
            for pid in children:
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"connect" in cmdline:
                    return int(pid)
            time.sleep(0.05)
        raise TimeoutError("the client process never appeared")

    def signal(self, sig: signal.Signals) -> None:
        """Send a signal to the client."""
        os.kill(self.client_pid(), sig)

    def wait_exit(self) -> int:
        """Wait for the client and the shell to end; returns the client's exit code."""
        self.tail = self.expect("CLIENT-DONE")
        self.child.expect(pexpect.EOF, timeout=WAIT)
        self.child.close()
        self.exit_code = int(self.code_file.read_text().strip())
        return self.exit_code

    def terminal_restored(self) -> bool:
        """True when ``stty -g`` read the same before and after the client.

        The client never changes the line speed or the control flags (CLOCAL, HUPCL, CREAD): when
        those changed, another process opened this test's pseudo-terminal (a daemon of some other
        test, retrying a vanished /dev/pts/N whose number this pty reused, configures it as its
        serial device) and the comparison means nothing, so the test is skipped saying so.
        """
        before, after = self.before.read_text(), self.after.read_text()
        assert before.strip(), "stty -g printed nothing"
        if before != after:
            print(f"stty -g before: {before.strip()}\nstty -g after:  {after.strip()}")
            cflag_before, cflag_after = before.split(":")[2], after.split(":")[2]
            if cflag_before != cflag_after:
                pytest.skip(f"another process reconfigured this test's pseudo-terminal (control flags "
                            f"{cflag_before} -> {cflag_after}: a speed or CLOCAL change the client never makes)")
        return before == after

    def close(self) -> None:
        """Kill whatever is left."""
        if self.child.isalive():
            self.child.close(force=True)


class TelnetServer:
    """A one-connection Telnet server on 127.0.0.1, on the project's engine in the server role.

    Args:
        opening: (verb, option) requests to send at connect: ``("will", Opt.ECHO)``, ``("do", Opt.NAWS)``.
        policy: what it accepts of the client's requests.
        on_connect: ``"keep"``, ``"close"`` (close at once), ``"reset"`` (RST at once) or
            ``"tls-alert"`` (answer the first bytes with a TLS alert record, then close).
    """

    def __init__(self, opening: list[tuple[str, int]] | None = None, *,
                 policy: OptionPolicy | None = None, on_connect: str = "keep") -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.opening = opening or []
        self.policy = policy or OptionPolicy(us=frozenset({Opt.BINARY, Opt.ECHO, Opt.SGA}),
                                             him=frozenset({Opt.BINARY, Opt.SGA, Opt.TTYPE, Opt.NAWS}))
        self.on_connect = on_connect
        self.conn = TelnetConnection(server=True, policy=self.policy)
        self.events: list[Event] = []
        self.data = bytearray()
        self.sock: socket.socket | None = None
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(WAIT)
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        self.sock = sock
        if self.on_connect in ("close", "reset"):
            if self.on_connect == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return
        if self.on_connect == "tls-alert":
            sock.settimeout(WAIT)
            sock.recv(4096)
            sock.sendall(b"\x15\x03\x03\x00\x02\x02\x32")  # alert: fatal, decode_error
            sock.close()
            return
        for verb, option in self.opening:
            side = Side.US if verb == "will" else Side.HIM
            self.conn.request_enable(option, side)
        self._flush()
        self._loop(sock)

    def _loop(self, sock: socket.socket) -> None:
        deadline = time.monotonic() + 60
        while not self._stop.is_set() and time.monotonic() < deadline:
            ready, _, _ = select.select([sock], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            with self._lock:
                for event in self.conn.receive_data(chunk):
                    self.events.append(event)
                    if type(event).__name__ == "DataReceived":
                        self.data += event.data  # type: ignore[attr-defined]
                self._lock.notify_all()
            self._flush()
            if not chunk:
                return

    def _flush(self) -> None:
        with self._lock:
            out = self.conn.data_to_send()
        if out and self.sock is not None:
            self.sock.sendall(out)

    def call(self, action: Callable[[TelnetConnection], None]) -> None:
        """Act on the engine (send data, ask for TTYPE) and send what it queued."""
        with self._lock:
            action(self.conn)
        self._flush()

    def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        """Wait until ``predicate()`` (checked under the lock) holds."""
        deadline = time.monotonic() + WAIT
        with self._lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{what}; events: {self.events[-20:]}")
                self._lock.wait(min(left, 0.2))

    def close(self) -> None:
        """Close the connection (the client sees the server close) and the listener."""
        self._stop.set()
        self._thread.join(WAIT)
        if self.sock is not None:
            self.sock.close()
        self.listener.close()
