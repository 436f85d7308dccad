"""UUCP lock files and TIOCEXCL, with real second processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.device import termio
from bridge.device.backend import DeviceBusy, OpenOptions, open_device
from bridge.device.lock import lock_name
from bridge.device.settings import LineSettings
from tests.device.conftest import Pty

WAIT = 10.0


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live second process (a sleeping Python) to own a lock file."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait(WAIT)


def _lock_path(lock_dir: Path, pair: Pty) -> Path:
    """Where the lock of the pty's slave lives."""
    return lock_dir / lock_name(pair.path)


def _options(lock_dir: Path, **changes: object) -> OpenOptions:
    """Open options with locks in a temporary directory."""
    return OpenOptions(lock_dir=str(lock_dir), **changes)  # type: ignore[arg-type]


def test_lock_name_follows_the_uucp_convention() -> None:
    """Devices below /dev are named by their path with / turned into _."""
    assert lock_name("/dev/ttyUSB0") == "LCK..ttyUSB0"
    assert lock_name("/dev/pts/3") == "LCK..pts_3"


def test_open_creates_an_hdb_lock_and_close_removes_it(tmp_path: Path, pty_pair: Pty) -> None:
    """The lock holds our PID as ten ASCII characters and a newline, and goes away on close."""
    async def main() -> None:
        device = await open_device(pty_pair.path, LineSettings(), _options(tmp_path))
        assert _lock_path(tmp_path, pty_pair).read_bytes() == f"{os.getpid():10d}\n".encode()
        assert list(tmp_path.glob("LTMP.*")) == []
        await device.close()
        assert not _lock_path(tmp_path, pty_pair).exists()
    asyncio.run(main())


def test_lock_of_a_live_process_makes_the_device_busy(
    tmp_path: Path, pty_pair: Pty, sleeper: subprocess.Popen[bytes]
) -> None:
    """A lock naming a live PID gives DeviceBusy naming that PID and its program, and is left alone."""
    lock = _lock_path(tmp_path, pty_pair)
    lock.write_text(f"{sleeper.pid:10d}\n")
    program = termio.process_name(sleeper.pid)
    with pytest.raises(DeviceBusy) as caught:
        asyncio.run(open_device(pty_pair.path, LineSettings(), _options(tmp_path)))
    assert str(caught.value) == f"{pty_pair.path} is in use by PID {sleeper.pid} ({program})"
    assert lock.read_text() == f"{sleeper.pid:10d}\n"


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path, pty_pair: Pty) -> None:
    """A lock whose PID has exited is replaced by ours."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(WAIT)
    lock = _lock_path(tmp_path, pty_pair)
    lock.write_text(f"{dead.pid:10d}\n")

    async def main() -> None:
        device = await open_device(pty_pair.path, LineSettings(), _options(tmp_path))
        assert lock.read_text() == f"{os.getpid():10d}\n"
        await device.close()
    asyncio.run(main())


def test_unreadable_lock_is_stale(tmp_path: Path, pty_pair: Pty) -> None:
    """A lock file with garbage instead of a PID is taken over."""
    lock = _lock_path(tmp_path, pty_pair)
    lock.write_bytes(b"\x00garbage")

    async def main() -> None:
        device = await open_device(pty_pair.path, LineSettings(), _options(tmp_path))
        assert lock.read_text() == f"{os.getpid():10d}\n"
        await device.close()
    asyncio.run(main())


def test_second_open_in_the_same_process_is_busy(tmp_path: Path, pty_pair: Pty) -> None:
    """Our own held lock stops a second Device on the same path."""
    async def main() -> None:
        device = await open_device(pty_pair.path, LineSettings(), _options(tmp_path, exclusive=False))
        with pytest.raises(DeviceBusy, match=rf"is in use by PID {os.getpid()} \(this bridge\)"):
            await open_device(pty_pair.path, LineSettings(), _options(tmp_path, exclusive=False))
        await device.close()
    asyncio.run(main())


def test_failed_open_leaves_no_lock(tmp_path: Path) -> None:
    """A lock taken for a path that then fails to open is removed."""
    path = tmp_path / "plainfile"
    path.write_text("not a tty")
    with pytest.raises(Exception, match="not a serial device"):
        asyncio.run(open_device(str(path), LineSettings(), _options(tmp_path)))
    assert list(tmp_path.glob("LCK..*")) == []


def test_missing_lock_dir_means_no_locking(tmp_path: Path, pty_pair: Pty) -> None:
    """A lock directory that does not exist does not stop the device from opening."""
    async def main() -> None:
        device = await open_device(pty_pair.path, LineSettings(), _options(tmp_path / "absent"))
        await device.close()
    asyncio.run(main())


def test_lock_is_removed_at_exit_without_close(tmp_path: Path, pty_pair: Pty) -> None:
    """A process that exits without closing its device leaves no lock behind (atexit)."""
    script = textwrap.dedent(f"""
        import asyncio
        from bridge.device.backend import OpenOptions, open_device
        from bridge.device.settings import LineSettings
        async def main():
            await open_device({pty_pair.path!r}, LineSettings(), OpenOptions(lock_dir={str(tmp_path)!r}))
            import os
            print(os.path.exists({str(_lock_path(tmp_path, pty_pair))!r}))
        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=WAIT, check=True)
    assert done.stdout.strip() == b"True"
    assert not _lock_path(tmp_path, pty_pair).exists()


def _probe_exclusive(path: str) -> bool:
    """Open the tty once more (root passes TIOCEXCL) and read its exclusive flag."""
    probe = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        return termio.is_exclusive(probe)
    finally:
        os.close(probe)


def test_exclusive_open_sets_tiocexcl_and_close_clears_it(pty_pair: Pty) -> None:
    """exclusive=True sets the tty's TIOCEXCL flag while open and close clears it; False never sets it."""
    if os.geteuid() != 0:
        pytest.skip("a second open of an exclusive tty is refused to non-root, so the flag cannot be read")

    async def main(exclusive: bool) -> tuple[bool, bool]:
        device = await open_device(pty_pair.path, LineSettings(),
                                   OpenOptions(lock_files=False, exclusive=exclusive))
        while_open = _probe_exclusive(pty_pair.path)
        await device.close()
        return while_open, _probe_exclusive(pty_pair.path)

    assert asyncio.run(main(True)) == (True, False)
    assert asyncio.run(main(False)) == (False, False)


def _open_as_nobody(path: str) -> str:
    """In a forked child running as nobody, open the path the way the bridge does; its outcome."""
    from bridge.device.opener import open_path_blocking

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: never returns
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                open_path_blocking(path, path, LineSettings(), OpenOptions(lock_files=False))
                text = "opened"
            except Exception as exc:  # noqa: BLE001  # the outcome is what the test reads
                text = f"{type(exc).__name__}: {exc}"
            os.write(write_end, text.encode())
        except BaseException as exc:  # noqa: BLE001  # report, never return into pytest
            os.write(write_end, f"child failed: {exc!r}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(pid, 0)
    return text


def test_exclusive_device_is_busy_for_an_unprivileged_process(pty_pair: Pty) -> None:
    """A non-root process opening an exclusive device gets DeviceBusy (EBUSY); a non-exclusive one opens."""
    if os.geteuid() != 0:
        pytest.skip("needs root to fork a second process as another user")
    os.chmod(pty_pair.path, 0o666)
    from bridge.device.opener import open_path_blocking

    def attempt(exclusive: bool) -> str:
        # Held with the blocking opener, so that no thread runs when the child is forked.
        port, _, _, _ = open_path_blocking(pty_pair.path, pty_pair.path, LineSettings(),
                                           OpenOptions(lock_files=False, exclusive=exclusive))
        assert port.fd is not None
        try:
            return _open_as_nobody(pty_pair.path)
        finally:
            termio.clear_exclusive(port.fd)
            port.close()

    busy = attempt(True)
    assert busy.startswith(f"DeviceBusy: {pty_pair.path} is in use by "), busy
    opened = attempt(False)
    assert opened == "opened", opened
