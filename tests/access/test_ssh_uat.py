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

    async def scenario() -> None:
        conn = await connect(bridge, "bob:core", password="bobs password")
        closed = asyncio.ensure_future(conn.wait_closed())
        try:
            proc = await conn.create_process(term_type="xterm", encoding=None)
            await read_until(proc.stdout, b"leaves]\r\n")
            # from here on nothing reads proc.stdout: asyncssh stops opening the channel's window
            feeder = threading.Thread(target=flood, daemon=True)
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
    bridge.daemon.stop()
