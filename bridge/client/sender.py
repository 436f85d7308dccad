"""`send FILE`: a file streamed to the device at the line rate, with a progress bar.

Pacing: at ``rate`` bytes per second (baud divided by the bits a character
takes on the wire, 10 for 8N1) the file goes out in slices of about 50 ms of
line time, each sent when the clock reaches it, so the bridge's buffers never
hold more than a slice and Ctrl-C stops the transfer within one. With the
rate unknown (no RFC 2217 answer, raw TCP) slices are sent as fast as the
socket takes them. The progress bar is rich's, drawn on the terminal; a
terminal in raw mode does not turn LF into CR LF, so its writes go through
:class:`CrLfWriter`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from collections.abc import Awaitable, Callable
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

SLICE_SECONDS = 0.05
UNPACED_SLICE = 4096
REFRESH_SECONDS = 0.1


class TextIO(Protocol):
    """What rich needs of a stream."""

    def write(self, text: str) -> int: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


class CrLfWriter:
    """A text stream for rich that turns LF into CR LF and writes to a file descriptor callback."""

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write

    def write(self, text: str) -> int:
        """Write text (LF sent as CR LF)."""
        self._write(text.replace("\n", "\r\n").encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""

    def isatty(self) -> bool:
        """rich draws live progress only on terminals."""
        return True


@dataclass(slots=True)
class Transfer:
    """How far a transfer got: ``sent`` of ``total`` bytes."""

    total: int
    sent: int = 0


async def send_file(data: bytes, name: str, *, rate: float | None, send: Callable[[bytes], None],
                    drain: Callable[[], Awaitable[None]], screen: TextIO | None,
                    transfer: Transfer | None = None,
                    width: int | None = None,
                    clock: Callable[[], float] = time.monotonic,
                    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> int:
    """Send ``data`` paced to ``rate``; returns how many bytes went out.

    Args:
        data: the file's content.
        name: shown on the progress bar.
        rate: bytes per second on the line, or None to send as fast as the socket takes it.
        send: queues bytes for the device.
        drain: waits until the socket can take more.
        screen: the text stream to draw the progress bar on, or None for none.
        transfer: updated as bytes go out (read it after a cancel).
        width: the terminal's width in columns, for the bar.
        clock, sleep: seconds now, and waiting (for tests).

    Cancelling the task (Ctrl-C) stops it between slices.
    """
    size = max(1, int(rate * SLICE_SECONDS)) if rate else UNPACED_SLICE
    progress = _progress(screen, width)
    task = progress.add_task(name, total=len(data)) if progress else None
    start = clock()
    sent = 0
    transfer = transfer or Transfer(len(data))
    last_refresh = 0.0
    try:
        if progress:
            progress.start()
        while sent < len(data):
            piece = data[sent:sent + size]
            send(piece)
            sent += len(piece)
            transfer.sent = sent
            await drain()
            now = clock()
            if progress and task is not None and now - last_refresh >= REFRESH_SECONDS:
                progress.update(task, completed=sent)
                progress.refresh()
                last_refresh = now
            if rate:
                await sleep(max(0.0, start + sent / rate - now))
    finally:
        if progress and task is not None:
            progress.update(task, completed=sent)
            progress.stop()
    return sent


def _progress(screen: TextIO | None, width: int | None) -> Progress | None:
    if screen is None:
        return None
    console = Console(file=screen, force_terminal=True, highlight=False, width=width)  # type: ignore[arg-type]
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), console=console, auto_refresh=False, transient=True)
