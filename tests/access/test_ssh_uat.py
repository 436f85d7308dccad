"""SSH sessions as a user acceptance test found them (uat.md findings 1, 3, 9), with asyncssh's
client against the real daemon on ptys."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import asyncssh

from tests.access.helpers import MakePty, Start
from tests.access.ssh_support import connect, read_until, run, start_ssh_bridge
from tests.integration.helpers import WAIT


def test_a_stalled_ssh_client_is_dropped_and_leaves_the_port(start_daemon: Start, make_pty: MakePty,
                                                            tmp_path: Path) -> None:
    """uat 1: a client (at a terminal, like `ssh -tt`) that stops reading is disconnected after
    stall_timeout: its session leaves the port (status, "disconnected" in the log) and its
    connection is closed, although the client never reads again."""
    bridge = start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh", extra_core="stall_timeout = 1")
    stop = threading.Event()

    def flood() -> None:
        blob = b"y" * 4096
        end = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < end:
            try:
                bridge.core.write(blob)
            except TimeoutError:
                pass

    feeder = threading.Thread(target=flood, daemon=True)

    async def scenario() -> None:
        conn = await connect(bridge, "bob:core", password="bobs password")
        closed = asyncio.ensure_future(conn.wait_closed())
        try:
            proc = await conn.create_process(term_type="xterm", encoding=None)
            await read_until(proc.stdout, b"leaves]\r\n")
            # from here on nothing reads proc.stdout: asyncssh stops opening the channel's window
            feeder.start()
            await asyncio.to_thread(bridge.daemon.wait_log, r"port core: session \d+ .*not reading for 1 s",
                                    1, 15)
            await asyncio.to_thread(bridge.daemon.wait_log, r"port core: client .* disconnected")
            await asyncio.to_thread(bridge.wait_status, lambda s: s["core"]["sessions"] == [])
            async with asyncio.timeout(WAIT):
                await closed           # the bridge closed the connection; the client did nothing
        finally:
            stop.set()
            conn.abort()

    run(scenario())
    if feeder.is_alive():
        feeder.join(WAIT)
    bridge.daemon.stop()


def test_without_a_terminal_the_stream_is_the_devices_bytes_and_eof_is_a_half_close(
        start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """uat 3: `ssh -T alice:rtr1@host </dev/null > out` and `ssh alice@host rtr1 </dev/null`: no banner,
    no notices, only the device's bytes; EOF on stdin ends her input only: device output sent after it
    still arrives, and the session stays on the port until the client closes the channel."""
    bridge = start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh")

    async def one(username: str, command: str | None, line: bytes) -> None:
        async with await connect(bridge, username, key=bridge.alice) as conn:
            proc = await conn.create_process(command, encoding=None)     # no pty request
            await asyncio.to_thread(bridge.wait_status, lambda s: len(s["rtr1"]["sessions"]) == 1)
            proc.stdin.write_eof()
            await asyncio.sleep(0.5)   # the EOF has reached the bridge (and used to end the session there)
            await asyncio.to_thread(bridge.rtr1.write, line)
            got = await read_until(proc.stdout, line)
            assert got == line, got            # nothing but the device's bytes
            status = await asyncio.to_thread(bridge.status)
            assert len(status["rtr1"]["sessions"]) == 1
            proc.close()
            await proc.wait_closed()
        await asyncio.to_thread(bridge.wait_status, lambda s: s["rtr1"]["sessions"] == [])

    run(one("alice:rtr1", None, b"late output 1\r\n"))
    run(one("alice", "rtr1", b"late output 2\r\n"))
    bridge.daemon.stop()


def test_the_menu_lists_only_ports_this_address_may_use(start_daemon: Start, make_pty: MakePty,
                                                        tmp_path: Path) -> None:
    """uat 9: core's allow list leaves out 127.0.0.1, so bob's menu (and `ports`) from there does not
    offer it; naming it anyway is one line and the menu again, not the end of the session."""
    bridge = start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh", extra_core='allow = ["192.0.2.0/24"]')

    async def scenario() -> None:
        async with await connect(bridge, "bob", password="bobs password") as conn:
            listing = await conn.run("ports", encoding=None)
            assert isinstance(listing.stdout, bytes)
            assert [line.split()[0] for line in listing.stdout.decode().splitlines()] == ["rtr1", "lab-a"]
            proc = await conn.create_process(term_type="xterm", encoding=None)
            menu = await read_until(proc.stdout, b"port> ")
            assert b"rtr1" in menu and b"lab-a" in menu and b"core" not in menu
            proc.stdin.write(b"core\r")
            assert b"no port 'core'" in await read_until(proc.stdout, b"port> ")
            proc.stdin.write(b"2\r")
            assert b"port lab-a on" in await read_until(proc.stdout, b"leaves]\r\n")
            await asyncio.to_thread(bridge.lab.write, b"lab says hi\r\n")
            await read_until(proc.stdout, b"lab says hi")

    run(scenario())
    bridge.daemon.stop()


def test_a_port_refusing_the_session_returns_to_the_menu(start_daemon: Start, make_pty: MakePty,
                                                          tmp_path: Path) -> None:
    """uat 9: a port that refuses her (full) says so, and the menu comes back; she picks another."""
    bridge = start_ssh_bridge(start_daemon, make_pty, tmp_path / "ssh", extra_core="max_connections = 1")

    async def scenario() -> None:
        async with await connect(bridge, "bob", password="bobs password") as first, \
                await connect(bridge, "bob", password="bobs password") as second:
            holder = await first.create_process("core", encoding=None)    # core is now full
            await asyncio.to_thread(bridge.wait_status, lambda s: len(s["core"]["sessions"]) == 1)
            proc = await second.create_process(term_type="xterm", encoding=None)
            menu = await read_until(proc.stdout, b"port> ")
            assert b"core" in menu
            proc.stdin.write(b"core\r")
            assert b"port core refused the session" in await read_until(proc.stdout, b"port> ")
            assert not proc.channel.is_closing()
            proc.stdin.write(b"rtr1\r")
            assert b"port rtr1 on" in await read_until(proc.stdout, b"leaves]\r\n")
            proc.stdin.write(b"after refusal")
            assert await asyncio.to_thread(bridge.rtr1.read, 13) == b"after refusal"
            holder.close()

    run(scenario())
    bridge.daemon.stop()
