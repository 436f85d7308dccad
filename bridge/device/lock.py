"""UUCP lock files, the convention minicom, picocom and cu follow.

A lock is ``<lock_dir>/LCK..<name>`` where ``<name>`` is the device's path
below ``/dev`` with ``/`` replaced by ``_`` (``ttyUSB0``, ``pts_3``). Its
content is the HDB format: the owner's PID as ten ASCII characters, right
aligned, and a newline.

* A lock held by a live process makes the device busy (``DeviceBusy`` naming
  the PID and the program).
* A lock whose PID is dead, or whose content is unreadable, is stale: it is
  removed and taken over.
* A lock directory that does not exist or that we may not write to means no
  locking (logged once): unprivileged users often cannot write /var/lock.
* Our own locks are removed on close, on every failed open, and at interpreter
  exit (``atexit``) for whatever is still held.
"""

from __future__ import annotations

import atexit
import errno
import logging
import os
import threading

from bridge.device.backend import DeviceBusy, DeviceError
from bridge.device.termio import process_name

log = logging.getLogger(__name__)

_HELD: set[str] = set()          # lock files this process created and still holds
_GUARD = threading.Lock()        # opens run in worker threads: one lock decision at a time
_ATTEMPTS = 3                    # take-over rounds when racing another locker
_warned_dirs: set[str] = set()


def lock_name(device_path: str) -> str:
    """The lock file name for a device path: ``LCK..ttyUSB0``, ``LCK..pts_3``."""
    return lock_name_of_real_path(os.path.realpath(device_path))


def lock_name_of_real_path(real: str) -> str:
    """The lock file name for a device path with its symlinks already followed
    (``doctor`` resolves them in the host it examines)."""
    if real.startswith("/dev/"):
        return "LCK.." + real[len("/dev/"):].replace("/", "_")
    return "LCK.." + os.path.basename(real)


def _read_pid(lock_path: str) -> int | None:
    """The PID written in a lock file (HDB ASCII), or None when unreadable."""
    try:
        with open(lock_path, "rb") as handle:
            text = handle.read(64)
    except FileNotFoundError:
        return None
    try:
        pid = int(text.strip() or b"0")
    except ValueError:
        return None
    return pid if pid > 0 else None


def _alive(pid: int) -> bool:
    """Whether a process with this PID exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class UucpLock:
    """One device's lock file, held by this process until ``release()``."""

    def __init__(self, device_path: str, lock_dir: str) -> None:
        """Prepare (not take) the lock for ``device_path`` in ``lock_dir``."""
        self.device_path = device_path
        self.path = os.path.join(lock_dir, lock_name(device_path))
        self.held = False

    def acquire(self) -> None:
        """Take the lock, taking over a stale one.

        Raises:
            DeviceBusy: a live process holds the lock.
        """
        with _GUARD:
            self._acquire()

    def _acquire(self) -> None:
        """``acquire`` under the process-wide guard.

        The lock is written whole to a temporary file and then hard-linked
        into place, so no other program ever reads a half-written lock (and
        takes it for a stale one).
        """
        temp = os.path.join(os.path.dirname(self.path), f"LTMP.{os.getpid()}")
        try:
            with open(temp, "w", encoding="ascii") as handle:
                handle.write(f"{os.getpid():10d}\n")
            os.chmod(temp, 0o644)
        except OSError as exc:
            self._skip(exc)
            return
        try:
            for _ in range(_ATTEMPTS):
                try:
                    os.link(temp, self.path)
                except FileExistsError:
                    self._check_existing()
                    continue
                except OSError as exc:
                    self._skip(exc)
                    return
                self.held = True
                _HELD.add(self.path)
                return
        finally:
            os.unlink(temp)
        raise DeviceBusy(f"{self.device_path} is locked by {self.path}, and it keeps coming back")

    def _check_existing(self) -> None:
        """Raise DeviceBusy for a live owner; remove a stale lock."""
        pid = _read_pid(self.path)
        if pid is not None and (_alive(pid) and (pid != os.getpid() or self.path in _HELD)):
            name = "this bridge" if pid == os.getpid() else process_name(pid)
            raise DeviceBusy(f"{self.device_path} is in use by PID {pid} ({name})")
        log.info("removing stale lock %s (PID %s is gone)", self.path, pid)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _skip(self, exc: OSError) -> None:
        """Carry on without a lock file when the directory is absent or not ours."""
        if exc.errno not in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS):
            raise DeviceError(f"cannot create lock file {self.path}: {exc.strerror or exc}") from exc
        lock_dir = os.path.dirname(self.path)
        if lock_dir not in _warned_dirs:
            _warned_dirs.add(lock_dir)
            log.warning("no UUCP lock files in %s: %s", lock_dir, exc.strerror)

    def release(self) -> None:
        """Remove the lock file if we hold it (idempotent)."""
        if not self.held:
            return
        self.held = False
        _HELD.discard(self.path)
        _unlink_if_ours(self.path)


def _unlink_if_ours(path: str) -> None:
    """Remove a lock file only if it still names this process."""
    if _read_pid(path) == os.getpid():
        try:
            os.unlink(path)
        except OSError:
            pass


@atexit.register
def _release_all() -> None:
    """At interpreter exit, remove every lock file still held."""
    for path in list(_HELD):
        _unlink_if_ours(path)
    _HELD.clear()
