"""`log FILE`: what the device sends, appended to a file, optionally stamped per line.

Bytes are written as received (no decoding). With timestamps, each line
starts with ``[YYYY-MM-DD HH:MM:SS.mmm] `` in local time, written when the
line's first byte arrives; a line ends at LF.
"""

from __future__ import annotations

import time
from typing import BinaryIO


class DeviceLog:
    """An open log file.

    Args:
        path: the file, opened for appending (created when missing).
        timestamps: stamp the start of every line.

    Raises:
        OSError: the file cannot be opened.
    """

    def __init__(self, path: str, *, timestamps: bool = False) -> None:
        self.path = path
        self.timestamps = timestamps
        self._file: BinaryIO = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        self._line_start = True
        self.bytes = 0

    def write(self, data: bytes) -> None:
        """Append device output.

        Raises:
            OSError: the write failed (disk full ...).
        """
        if not data:
            return
        self.bytes += len(data)
        if not self.timestamps:
            self._file.write(data)
            return
        stamp = _stamp()
        lines = data.split(b"\n")
        last = lines.pop()  # after the final LF: b"" when the data ended a line
        out = bytearray()
        for line in lines:
            if self._line_start or out:
                out += stamp
            out += line + b"\n"
        if last:
            if self._line_start or lines:
                out += stamp
            out += last
        self._line_start = not last
        self._file.write(bytes(out))

    def close(self) -> None:
        """Close the file (never raises)."""
        try:
            self._file.close()
        except OSError:
            pass


def _stamp() -> bytes:
    now = time.time()
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    return f"[{text}.{int(now % 1 * 1000):03d}] ".encode()
