"""Linux termios and ioctl helpers for tty file descriptors.

Small, synchronous functions; callers run the ones that may block (on a USB
adapter an ioctl can be a USB round trip) through ``asyncio.to_thread``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import termios
from collections.abc import Callable

from bridge.device.settings import LineSettings, ModemLines

# Linux ioctl numbers not exported by the termios module.
TIOCGEXCL = 0x80045440
TCGETS2 = 0x802C542A
_TERMIOS2 = struct.Struct("4I B 19s 2I")   # iflag oflag cflag lflag line cc[19] ispeed ospeed
CMSPAR = 0o10000000000

# Errors that mean "this device cannot do that", never "this device is dead".
UNSUPPORTED = (errno.ENOTTY, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)

_PARMRK_ON = termios.PARMRK | termios.INPCK
_PARMRK_OFF = termios.IGNBRK | termios.BRKINT | termios.IGNPAR | termios.ISTRIP
_CSIZE_BITS = {termios.CS5: 5, termios.CS6: 6, termios.CS7: 7, termios.CS8: 8}
_MODEM_BITS = struct.Struct("i")


PTY_SLAVE_MAJORS = range(136, 144)   # Linux: UNIX98 pseudo-terminal slaves


def is_pty(fd: int) -> bool:
    """Whether ``fd`` is the slave side of a pseudo-terminal (not a real UART)."""
    return os.major(os.fstat(fd).st_rdev) in PTY_SLAVE_MAJORS


def wants_parmrk(fd: int, option: bool | None) -> bool:
    """PARMRK as asked, or by default on everything but a pseudo-terminal."""
    return option if option is not None else not is_pty(fd)


def is_tty(fd: int) -> bool:
    """Whether ``fd`` is a terminal (a real UART or a pty)."""
    return os.isatty(fd)


def _update_iflag_cflag(fd: int, iflag_set: int, iflag_clear: int,
                        cflag_set: int, cflag_clear: int) -> None:
    """Set and clear termios flag bits, writing only when something changes."""
    attrs = termios.tcgetattr(fd)
    iflag = (attrs[0] | iflag_set) & ~iflag_clear
    cflag = (attrs[2] | cflag_set) & ~cflag_clear
    if (iflag, cflag) != (attrs[0], attrs[2]):
        attrs[0], attrs[2] = iflag, cflag
        termios.tcsetattr(fd, termios.TCSANOW, attrs)


def enable_parmrk(fd: int) -> None:
    """Mark breaks and line errors in the data (PARMRK, INPCK; not IGNBRK, BRKINT, IGNPAR, ISTRIP)."""
    _update_iflag_cflag(fd, _PARMRK_ON, _PARMRK_OFF, 0, 0)


def set_hupcl(fd: int, on: bool) -> None:
    """Set or clear HUPCL (drop DTR on the last close)."""
    if on:
        _update_iflag_cflag(fd, 0, 0, termios.HUPCL, 0)
    else:
        _update_iflag_cflag(fd, 0, 0, 0, termios.HUPCL)


def set_read_minimum(fd: int) -> None:
    """VMIN 1, VTIME 0: on a non-blocking fd a read with nothing to give is
    EAGAIN, not 0 bytes.

    pyserial leaves VMIN 0 (it times reads with select), and then Linux's tty
    layer answers a read that finds its buffer empty with 0 bytes, the mark of
    end of file. Readiness seen just before a purge (``tcflush``) or another
    reader emptied the buffer would read as a device gone away. A hung-up
    tty still reads 0 bytes with VMIN 1. Writes only when something changes.
    """
    attrs = termios.tcgetattr(fd)
    cc = attrs[6]
    if cc[termios.VMIN] != 1 or cc[termios.VTIME] != 0:
        cc[termios.VMIN], cc[termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSANOW, attrs)


def set_exclusive(fd: int) -> None:
    """Set TIOCEXCL: further opens of the tty fail with EBUSY (except for root)."""
    fcntl.ioctl(fd, termios.TIOCEXCL)


def clear_exclusive(fd: int) -> None:
    """Clear TIOCEXCL (it outlives our close while another fd holds the tty, a pty master)."""
    fcntl.ioctl(fd, termios.TIOCNXCL)


def is_exclusive(fd: int) -> bool:
    """Whether the tty behind ``fd`` has TIOCEXCL set."""
    raw = fcntl.ioctl(fd, TIOCGEXCL, b"\0" * 4)
    return bool(_MODEM_BITS.unpack(raw)[0])


def read_modem_lines(fd: int) -> ModemLines | None:
    """The input modem lines, or None when the tty has none (ENOTTY on a pty)."""
    try:
        raw = fcntl.ioctl(fd, termios.TIOCMGET, b"\0" * 4)
    except OSError as exc:
        if exc.errno in UNSUPPORTED:
            return None
        raise
    bits = _MODEM_BITS.unpack(raw)[0]
    return ModemLines(cts=bool(bits & termios.TIOCM_CTS), dsr=bool(bits & termios.TIOCM_DSR),
                      ri=bool(bits & termios.TIOCM_RI), cd=bool(bits & termios.TIOCM_CD))


_ICOUNT = struct.Struct("20i")    # struct serial_icounter_struct
_ICOUNT_OVERRUN, _ICOUNT_BUF_OVERRUN = 7, 10


def read_overruns(fd: int) -> int | None:
    """Overruns counted by the UART driver (TIOCGICOUNT), or None where unsupported (a pty)."""
    try:
        raw = fcntl.ioctl(fd, termios.TIOCGICOUNT, b"\0" * _ICOUNT.size)
    except OSError as exc:
        if exc.errno in UNSUPPORTED:
            return None
        raise
    counts = _ICOUNT.unpack(raw)
    return int(counts[_ICOUNT_OVERRUN] + counts[_ICOUNT_BUF_OVERRUN])


class OverrunWatch:
    """Notices overruns, which Linux never marks in the data stream.

    The driver only counts them (TIOCGICOUNT). The count is read at most once
    per ``interval`` seconds, and only when data arrives (an overrun comes
    with data), so the cost is one ioctl a second on a busy port, none on an
    idle one; a device without counters (a pty) is never asked again.
    """

    def __init__(self, read: Callable[[], int | None], interval: float = 1.0) -> None:
        """Watch the counter ``read`` returns (None: no counters)."""
        self._read = read
        self._interval = interval
        self._next = 0.0
        self._last: int | None = None
        self.enabled = True

    def check(self, now: float) -> int:
        """How many new overruns since the last check (0 when it is not yet time)."""
        if not self.enabled or now < self._next:
            return 0
        self._next = now + self._interval
        try:
            count = self._read()
        except OSError:
            count = None
        if count is None:
            self.enabled = False
            return 0
        new = 0 if self._last is None else max(0, count - self._last)
        self._last = count
        return new


def _parity(cflag: int) -> str:
    """The parity named by termios cflag bits."""
    if not cflag & termios.PARENB:
        return "none"
    odd = bool(cflag & termios.PARODD)
    if cflag & CMSPAR:
        return "mark" if odd else "space"
    return "odd" if odd else "even"


def _flow(iflag: int, cflag: int) -> str:
    """The flow control named by termios bits (Linux has no DSR/DTR flow)."""
    if cflag & termios.CRTSCTS:
        return "rtscts"
    if iflag & (termios.IXON | termios.IXOFF):
        return "xonxoff"
    return "none"


def read_line_settings(fd: int) -> LineSettings:
    """The line settings in force on the tty, read back from the kernel (TCGETS2)."""
    raw = fcntl.ioctl(fd, TCGETS2, b"\0" * _TERMIOS2.size)
    iflag, _oflag, cflag, _lflag, _line, _cc, _ispeed, ospeed = _TERMIOS2.unpack(raw)
    bytesize = _CSIZE_BITS[cflag & termios.CSIZE]
    stopbits: float = 1
    if cflag & termios.CSTOPB:
        stopbits = 1.5 if bytesize == 5 else 2   # what a UART does with CSTOPB
    return LineSettings(baud=ospeed, bytesize=bytesize, parity=_parity(cflag),
                        stopbits=stopbits, flow=_flow(iflag, cflag))


def process_name(pid: int) -> str:
    """The short program name of a process (``/proc/PID/comm``), or ``"unknown"``."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().strip() or "unknown"
    except OSError:
        return "unknown"


def find_holders(path: str, limit: int = 4) -> list[int]:
    """PIDs of other processes that have ``path`` open (a bounded /proc scan)."""
    target = os.path.realpath(path)
    found: list[int] = []
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return found
    for pid in pids:
        if pid == os.getpid() or len(found) >= limit:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in fds):
                found.append(pid)
        except OSError:
            continue
    return found


def describe_holders(path: str) -> str:
    """``"PID 1234 (minicom)"`` for the processes holding ``path``, or ``"another process"``."""
    holders = find_holders(path)
    if not holders:
        return "another process"
    return ", ".join(f"PID {pid} ({process_name(pid)})" for pid in holders)
