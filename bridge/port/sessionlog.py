"""Per-port session logs: ``<log_dir>/<port>.log``, rotated by size.

Writing never blocks the event loop: the port hands bytes to a queue and one
thread per log writes them. The queue is bounded (``QUEUE_LIMIT`` bytes); if
the disk cannot keep up, output past the bound is dropped from the log, never
from the clients, and the loss is written into the log when it catches up.
A full disk or an unwritable directory is reported once (one log line) and
the port carries on without its log; the writer tries again after
``RETRY_AFTER`` seconds.

Logs hold what was typed at the console, passwords included (docs/security.md),
so a log file is created with mode 0640 (``LOG_FILE_MODE``: the owner writes,
the file's group may read, others nothing) whatever the process's umask, and an
existing log that others may read, or the group write, is narrowed to that when
opened. A folder the writer creates gets 0750.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("bridge.sessionlog")

QUEUE_LIMIT = 8 * 1024 * 1024
RETRY_AFTER = 30.0
LOG_FILE_MODE = 0o640   # UAT 11: never world-readable, whatever the umask
LOG_DIR_MODE = 0o750


def open_log_file(path: Path) -> Any:
    """Open ``path`` for appending (binary), created with mode ``LOG_FILE_MODE``.

    An existing file keeps its owner's choice when it is narrower; bits for others,
    and group write, are removed. Raises OSError as ``open`` does.
    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, LOG_FILE_MODE)
        wanted: int | None = LOG_FILE_MODE   # the umask may have taken bits away: set it
    except FileExistsError:
        fd = os.open(path, flags)
        wanted = None
    try:
        mode = os.fstat(fd).st_mode & 0o7777
        if wanted is None and mode & 0o027:
            wanted = mode & ~0o027
        if wanted is not None and wanted != mode:
            os.fchmod(fd, wanted)
        return os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise


_STOP = object()


def _stamp(now: float) -> bytes:
    local = time.localtime(now)
    return (time.strftime("%Y-%m-%d %H:%M:%S", local) + f".{int(now % 1 * 1000):03d}").encode()


class SessionLogWriter:
    """Writes one port's traffic to its log file from a background thread."""

    def __init__(self, log_dir: str, port: str, *, mode: str = "device", timestamps: bool = True,
                 max_bytes: int = 10 * 1024 * 1024, keep: int = 5) -> None:
        self.path = Path(log_dir) / f"{port}.log"
        self.port = port
        self.mode = mode
        self.timestamps = timestamps
        self.max_bytes = max_bytes
        self.keep = keep
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._queued = 0
        self._lock = threading.Lock()
        self._dropped = 0
        self._at_line_start = True
        self._file: object = None
        self._size = 0
        self._failed_at: float | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._run, name=f"log-{port}", daemon=True)
        self._thread.start()

    # -------------------------------------------------------- event loop side
    def device_output(self, data: bytes) -> None:
        """Device output, as the clients got it."""
        self._put(("out", time.time(), data))

    def client_input(self, data: bytes, peer: str = "") -> None:
        """A client's input (only in ``log = "both"`` mode)."""
        if self.mode == "both":
            self._put(("in", time.time(), data, peer))

    def _put(self, item: tuple[object, ...]) -> None:
        size = len(item[2])  # type: ignore[arg-type]
        with self._lock:
            if self._queued + size > QUEUE_LIMIT:
                self._dropped += size
                return
            self._queued += size
        self._queue.put(item)

    def close(self) -> None:
        """Flush what is queued and stop the thread (bounded wait)."""
        self._queue.put(_STOP)
        self._thread.join(5)

    # ------------------------------------------------------------ the thread
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            assert isinstance(item, tuple)
            with self._lock:
                self._queued -= len(item[2])
                dropped, self._dropped = self._dropped, 0
            if dropped:
                self._write_record(time.time(), f"[serial-bridge: {dropped} bytes not logged: disk too slow]".encode())
            if item[0] == "out":
                self._write_output(item[1], item[2])
            else:
                text = f"[input from {item[3] or 'a client'}: {item[2]!r}]".encode()
                self._write_record(item[1], text)
        self._close_file()

    def _render(self, now: float, data: bytes, at_line_start: bool) -> tuple[bytes, bool]:
        """``data`` with a timestamp before each line; also whether it ends at a line start."""
        ends_line = data.endswith(b"\n")
        if not self.timestamps:
            return data, ends_line
        stamp = b"[" + _stamp(now) + b"] "
        lines = data.split(b"\n")
        out = []
        for i, line in enumerate(lines):
            if i == len(lines) - 1 and not line:
                break
            prefix = stamp if (i > 0 or at_line_start) else b""
            out.append(prefix + line)
        return b"\n".join(out) + (b"\n" if ends_line else b""), ends_line

    def _write_output(self, now: float, data: bytes) -> None:
        if not self._ensure_open():
            return
        rendered, ends_line = self._render(now, data, self._at_line_start)
        if self._size > 0 and self._size + len(rendered) > self.max_bytes:
            # Rotate before writing, so that a chunk that does not fit starts
            # the new file, with a timestamp of its own if it continues a line.
            try:
                self._rotate()
            except OSError as exc:
                self._fail(exc)
                return
            rendered, ends_line = self._render(now, data, True)
        self._at_line_start = ends_line
        self._write(rendered, now)

    def _write_record(self, now: float, text: bytes) -> None:
        lead = b"" if self._at_line_start else b"\n"
        stamp = b"[" + _stamp(now) + b"] " if self.timestamps else b""
        self._at_line_start = True
        self._write(lead + stamp + text + b"\n", now)

    def _write(self, data: bytes, now: float) -> None:
        """Append ``data``; no file ever grows past ``max_bytes`` (bytes).

        What does not fit in the room left is cut: the file is rotated and the
        rest continues in the new one. The cut falls after the last whole
        line that fits; a line longer than a whole file is cut at the limit
        and continues after a timestamp of its own.
        """
        if not self._ensure_open():
            return
        stamp = b"[" + _stamp(now) + b"] " if self.timestamps else b""
        if len(stamp) * 2 > self.max_bytes:
            stamp = b""  # a tiny limit: every byte of room goes to the data
        try:
            if self._size > 0 and self._size + len(data) > self.max_bytes:
                self._rotate()
            while self._size + len(data) > self.max_bytes:
                room = self.max_bytes - self._size
                if room <= 0:
                    self._rotate()
                    continue
                cut = data.rfind(b"\n", 0, room) + 1  # at a line's end if one fits
                if cut == 0 and self._size > 0:
                    self._rotate()  # a line longer than the room: a fresh file
                    continue
                cut = cut or room
                head, data = data[:cut], data[cut:]
                self._append(head)
                self._rotate()
                if stamp and not head.endswith(b"\n"):
                    data = stamp + data
            if data:
                self._append(data)
        except OSError as exc:
            self._fail(exc)

    def _append(self, data: bytes) -> None:
        fh = self._file
        assert fh is not None
        fh.write(data)  # type: ignore[attr-defined]
        fh.flush()  # type: ignore[attr-defined]
        self._size += len(data)

    def _ensure_open(self) -> bool:
        if self._file is not None:
            return True
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_AFTER:
            return False
        try:
            self.path.parent.mkdir(mode=LOG_DIR_MODE, parents=True, exist_ok=True)
            self._file = open_log_file(self.path)   # closed in _close_file
            self._size = self.path.stat().st_size
        except OSError as exc:
            self._fail(exc)
            return False
        if self._reported:
            log.info("port %s: session log %s writable again", self.port, self.path)
            self._reported = False
        self._failed_at = None
        return True

    def _fail(self, exc: OSError) -> None:
        self._close_file()
        self._failed_at = time.monotonic()
        if not self._reported:
            self._reported = True
            log.error("port %s: cannot write session log %s: %s (the port carries on without it)",
                      self.port, self.path, exc.strerror or exc)

    def _rotate(self) -> None:
        self._close_file()
        if self.keep <= 0:
            os.unlink(self.path)
        else:
            for n in range(self.keep - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{n}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = open_log_file(self.path)
        self._size = 0

    def _close_file(self) -> None:
        fh, self._file = self._file, None
        if fh is not None:
            try:
                fh.close()  # type: ignore[attr-defined]
            except OSError:
                pass
