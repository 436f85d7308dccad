"""Loopback self-test of serial hardware: one adapter with TX joined to RX, or a null-modem pair.

Theory of operation: a :class:`Link` is one direction of travel, from the
port that writes (``tx``) to the port that reads (``rx``); a loopback plug
is one link from a port to itself, a null-modem pair is two links. At each
baud rate every link is checked for:

* data: the baud rate set reads back equal, and random bytes come back byte-exact;
* framing: each of :data:`FRAMINGS` (bytesize, parity, stop bits) is set on
  both ends, reads back equal from the kernel, and data still passes;
* break: with ``PARMRK`` set on the reading end, a break sent arrives as the
  mark ``FF 00 00`` (decoded by :class:`bridge.device.parmrk.MarkDecoder`).

With two ports the modem lines are checked once: RTS of one end drives CTS
of the other, DTR drives DSR. Each check is a plain function returning a
:class:`CheckResult`, so the opt-in hardware tests call the same code.

A device that refuses a setting (a pseudo-terminal answers EINVAL to
bytesize and parity, ENOTTY to modem-line ioctls) gives ``skip`` with
"not supported by this device", never a failure or a crash; a device that
cannot carry a break (a pseudo-terminal) gives ``skip`` with "cannot tell".
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import struct
import termios
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import serial

from bridge.device.parmrk import BreakMark, MarkDecoder
from bridge.errors import RuntimeFailure, UserError

DEFAULT_BAUDS = (9600, 19200, 38400, 57600, 115200)
UNSUPPORTED = "skipped (not supported by this device)"
_UNSUPPORTED_ERRNOS = {errno.EINVAL, errno.ENOTTY, errno.ENOTSUP, errno.EOPNOTSUPP}
_TCGETS2 = 0x802C542A           # struct termios2 (Linux, generic ioctl numbering)
_TERMIOS2 = struct.Struct("4IB19sII")
_CMSPAR = 0o10000000000         # missing from Python's termios module
_PARITY_LETTER = {"none": "N", "even": "E", "odd": "O", "mark": "M", "space": "S"}
_PTY_MAJORS = range(136, 144)   # Unix98 pty slaves
BREAK_SECONDS = 0.25
MODEM_WAIT_SECONDS = 0.5


class _NotTaken(Exception):
    """The device accepted a setting without error but kept another (a silent refusal)."""


class Outcome(StrEnum):
    """What one check found."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The result of one check at one baud rate (None for checks run once)."""

    check: str
    baud: int | None
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Framing:
    """A data size, parity and stop-bit setting."""

    bytesize: int
    parity: str
    stopbits: int

    @property
    def label(self) -> str:
        """The usual short form, e.g. ``7E1``."""
        return f"{self.bytesize}{_PARITY_LETTER[self.parity]}{self.stopbits}"


BASE_FRAMING = Framing(8, "none", 1)
FRAMINGS = (Framing(7, "even", 1), Framing(7, "odd", 1), Framing(8, "even", 1),
            Framing(8, "odd", 1), Framing(8, "none", 2))


@dataclass(frozen=True, slots=True)
class Link:
    """One direction of travel: bytes written to ``tx`` should be read from ``rx``."""

    tx: serial.Serial
    rx: serial.Serial
    label: str = ""

    def name(self, check: str) -> str:
        """The check's name, with this link's direction when there are two."""
        return f"{check} {self.label}" if self.label else check


def is_unsupported(exc: BaseException) -> bool:
    """True when an error means "this device cannot do that" (EINVAL, ENOTTY...)."""
    if isinstance(exc, termios.error):
        return bool(exc.args) and exc.args[0] in _UNSUPPORTED_ERRNOS
    if isinstance(exc, OSError):
        return exc.errno in _UNSUPPORTED_ERRNOS
    return isinstance(exc, ValueError)


def is_pseudo_terminal(port: serial.Serial) -> bool:
    """True when the open port is a pseudo-terminal (no real line: no break, no modem lines)."""
    try:
        return os.major(os.fstat(port.fileno()).st_rdev) in _PTY_MAJORS
    except (OSError, ValueError, serial.SerialException):
        return False


def read_speed(port: serial.Serial) -> int | None:
    """The output baud rate the kernel reports for the port (None when it will not say)."""
    buf = bytearray(_TERMIOS2.size)
    try:
        fcntl.ioctl(port.fileno(), _TCGETS2, buf)
    except OSError:
        return None
    return int(_TERMIOS2.unpack(bytes(buf))[-1])


def read_framing(port: serial.Serial) -> Framing:
    """The data size, parity and stop bits the kernel reports for the port."""
    cflag = termios.tcgetattr(port.fileno())[2]
    sizes = {termios.CS5: 5, termios.CS6: 6, termios.CS7: 7, termios.CS8: 8}
    parity = "none"
    if cflag & termios.PARENB:
        odd = bool(cflag & termios.PARODD)
        if cflag & _CMSPAR:
            parity = "mark" if odd else "space"
        else:
            parity = "odd" if odd else "even"
    return Framing(sizes[cflag & termios.CSIZE], parity, 2 if cflag & termios.CSTOPB else 1)


def apply_framing(port: serial.Serial, framing: Framing) -> None:
    """Set data size, parity and stop bits in one reconfiguration (pyserial names)."""
    port.apply_settings({"bytesize": framing.bytesize,
                         "parity": _PARITY_LETTER[framing.parity],
                         "stopbits": framing.stopbits})


def restore_framing(ports: Iterable[serial.Serial]) -> None:
    """Put 8N1 back on every port; a port that refuses is left to fail the next check."""
    for port in ports:
        try:
            apply_framing(port, BASE_FRAMING)
        except (termios.error, OSError, ValueError, serial.SerialException):
            continue


def payload_size(baud: int) -> int:
    """Bytes to send at ``baud``: about a quarter of a second's worth, 16 to 1024."""
    return max(16, min(1024, baud // 40))


def transfer(link: Link, payload: bytes, baud: int) -> bytes:
    """Write ``payload`` on ``link.tx`` and read what ``link.rx`` gets, until all or a deadline."""
    link.rx.reset_input_buffer()
    link.tx.write(payload)
    deadline = time.monotonic() + len(payload) * 24 / baud + 1.0
    got = bytearray()
    while len(got) < len(payload) and time.monotonic() < deadline:
        got += link.rx.read(len(payload) - len(got))
    return bytes(got)


def compare(sent: bytes, got: bytes) -> str | None:
    """None when equal, otherwise one line saying how ``got`` differs from ``sent``."""
    if got == sent:
        return None
    if len(got) != len(sent):
        return f"sent {len(sent)} bytes, got {len(got)} back"
    first = next(i for i, (a, b) in enumerate(zip(sent, got)) if a != b)
    return f"byte {first} differs: sent 0x{sent[first]:02x}, got 0x{got[first]:02x}"


def set_baud(ports: Iterable[serial.Serial], baud: int) -> str | None:
    """Set ``baud`` on every port; None when each reads back equal, else why not."""
    for port in ports:
        port.baudrate = baud
        actual = read_speed(port)
        if actual is not None and actual != baud:
            return f"{port.port}: set {baud} baud, the kernel reports {actual}"
    return None


def check_data(link: Link, baud: int, rng: random.Random) -> CheckResult:
    """At ``baud``, random bytes written on ``link.tx`` come back byte-exact on ``link.rx``."""
    name = link.name("data")
    try:
        problem = set_baud({link.tx, link.rx}, baud)
    except (termios.error, OSError, ValueError, serial.SerialException) as exc:
        if is_unsupported(exc):
            return CheckResult(name, baud, Outcome.SKIP, UNSUPPORTED)
        return CheckResult(name, baud, Outcome.FAIL, f"cannot set {baud} baud: {exc}")
    if problem:
        return CheckResult(name, baud, Outcome.FAIL, problem)
    payload = rng.randbytes(payload_size(baud))
    problem = compare(payload, transfer(link, payload, baud))
    if problem:
        return CheckResult(name, baud, Outcome.FAIL, problem)
    return CheckResult(name, baud, Outcome.PASS, f"{len(payload)} bytes byte-exact")


def _framing_problem(link: Link, framing: Framing, baud: int, rng: random.Random) -> str | None:
    for port in {link.tx, link.rx}:
        actual = read_framing(port)
        if actual != framing:
            raise _NotTaken(f"{UNSUPPORTED[:-1]}: {port.port} keeps {actual.label})")
    mask = (1 << framing.bytesize) - 1
    payload = bytes(b & mask for b in rng.randbytes(payload_size(baud) // 4 + 8))
    return compare(payload, transfer(link, payload, baud))


def check_framing(link: Link, baud: int, framing: Framing, rng: random.Random) -> CheckResult:
    """``framing`` set on both ends reads back equal and data still passes; 8N1 is restored after.

    A device that refuses the setting, with an error or by keeping another
    setting without one, gives ``skip``: "not supported by this device".
    """
    name = link.name(f"framing {framing.label}")
    ports = {link.tx, link.rx}
    try:
        for port in ports:
            apply_framing(port, framing)
        problem = _framing_problem(link, framing, baud, rng)
    except _NotTaken as exc:
        return CheckResult(name, baud, Outcome.SKIP, str(exc))
    except (termios.error, OSError, ValueError, serial.SerialException) as exc:
        if is_unsupported(exc):
            return CheckResult(name, baud, Outcome.SKIP, UNSUPPORTED)
        return CheckResult(name, baud, Outcome.FAIL, f"cannot set {framing.label}: {exc}")
    finally:
        restore_framing(ports)
    if problem:
        return CheckResult(name, baud, Outcome.FAIL, problem)
    return CheckResult(name, baud, Outcome.PASS, "reads back equal, data byte-exact")


def _mark_breaks(port: serial.Serial) -> list[Any]:
    """Set PARMRK on ``port`` (breaks and errors marked in the data); return the old attributes."""
    attrs = termios.tcgetattr(port.fileno())
    old = list(attrs)
    attrs[0] = (attrs[0] | termios.PARMRK | termios.INPCK) & ~(
        termios.IGNBRK | termios.BRKINT | termios.IGNPAR | termios.ISTRIP)
    termios.tcsetattr(port.fileno(), termios.TCSANOW, attrs)
    return old


def wait_for_break(port: serial.Serial, seconds: float) -> tuple[bool, int]:
    """Read ``port`` (PARMRK set) until a break mark or ``seconds``; (break seen, data bytes read)."""
    decoder = MarkDecoder()
    deadline = time.monotonic() + seconds
    data = 0
    while time.monotonic() < deadline:
        for item in decoder.feed(port.read(4096)):
            if isinstance(item, BreakMark):
                return True, data
            if isinstance(item, bytes):
                data += len(item)
    return False, data


def check_break(link: Link, baud: int) -> CheckResult:
    """A break sent on ``link.tx`` arrives on ``link.rx`` as the PARMRK mark ``FF 00 00``."""
    name = link.name("break")
    old = _mark_breaks(link.rx)
    try:
        link.rx.reset_input_buffer()
        try:
            link.tx.send_break(BREAK_SECONDS)
        except (termios.error, OSError, serial.SerialException) as exc:
            if is_unsupported(exc):
                return CheckResult(name, baud, Outcome.SKIP, UNSUPPORTED)
            return CheckResult(name, baud, Outcome.FAIL, f"cannot send a break: {exc}")
        seen, data = wait_for_break(link.rx, BREAK_SECONDS + 0.75)
    finally:
        termios.tcsetattr(link.rx.fileno(), termios.TCSANOW, old)
    if seen:
        return CheckResult(name, baud, Outcome.PASS, "FF 00 00 received")
    if is_pseudo_terminal(link.tx) or is_pseudo_terminal(link.rx):
        return CheckResult(name, baud, Outcome.SKIP,
                           "skipped: cannot tell (a pseudo-terminal carries no break)")
    return CheckResult(name, baud, Outcome.FAIL, f"break sent, none detected ({data} data bytes instead)")


def _wait_line(read: Callable[[], bool], want: bool) -> bool:
    deadline = time.monotonic() + MODEM_WAIT_SECONDS
    while read() != want:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


def check_modem_line(name: str, drive: Callable[[bool], None], sense: Callable[[], bool]) -> CheckResult:
    """The output line set by ``drive`` is seen by ``sense``, low then high."""
    try:
        for level in (False, True):
            drive(level)
            if not _wait_line(sense, level):
                return CheckResult(name, None, Outcome.FAIL,
                                   f"set {'high' if level else 'low'}, the other end did not follow")
    except (termios.error, OSError, ValueError, serial.SerialException) as exc:
        if is_unsupported(exc):
            return CheckResult(name, None, Outcome.SKIP, UNSUPPORTED)
        return CheckResult(name, None, Outcome.FAIL, str(exc))
    return CheckResult(name, None, Outcome.PASS, "follows low and high")


def _driver(port: serial.Serial, line: str) -> Callable[[bool], None]:
    def drive(level: bool) -> None:
        setattr(port, line, level)
    return drive


def _sensor(port: serial.Serial, line: str) -> Callable[[], bool]:
    def sense() -> bool:
        return bool(getattr(port, line))
    return sense


def check_modem_lines(a: serial.Serial, b: serial.Serial) -> list[CheckResult]:
    """On a null-modem pair, RTS drives the other end's CTS and DTR its DSR, both ways."""
    results = []
    for first, second, label in ((a, b, "1->2"), (b, a, "2->1")):
        results.append(check_modem_line(f"RTS->CTS {label}", _driver(first, "rts"), _sensor(second, "cts")))
        results.append(check_modem_line(f"DTR->DSR {label}", _driver(first, "dtr"), _sensor(second, "dsr")))
    return results


def open_port(path: str, baud: int = DEFAULT_BAUDS[0]) -> serial.Serial:
    """Open ``path`` for the self-test, 8N1 with no flow control.

    Raises:
        UserError: the device does not exist (one line).
        RuntimeFailure: it exists but cannot be opened (busy, no permission).
    """
    if not os.path.exists(path):
        raise UserError(f"{path}: no such device (see: serial-bridge ports)")
    try:
        return serial.Serial(path, baud, timeout=0.05, write_timeout=5, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise RuntimeFailure(f"cannot open {path}: {exc}") from None


def links_for(ports: Sequence[serial.Serial]) -> list[Link]:
    """One link for a loopback port, two (each way) for a null-modem pair."""
    if len(ports) == 1:
        return [Link(ports[0], ports[0])]
    return [Link(ports[0], ports[1], "1->2"), Link(ports[1], ports[0], "2->1")]


def run_checks(ports: Sequence[serial.Serial], bauds: Sequence[int],
               rng: random.Random | None = None) -> list[CheckResult]:
    """Every check on open ports (one loopback port or a null-modem pair), in table order."""
    rng = rng or random.Random()
    results: list[CheckResult] = []
    links = links_for(ports)
    for baud in bauds:
        data = [check_data(link, baud, rng) for link in links]
        results.extend(data)
        if any(r.outcome is Outcome.SKIP for r in data):
            continue  # the baud rate itself is not supported: nothing else to check at it
        for framing in FRAMINGS:
            results.extend(check_framing(link, baud, framing, rng) for link in links)
        results.extend(check_break(link, baud) for link in links)
    if len(ports) == 2:
        results.extend(check_modem_lines(ports[0], ports[1]))
    else:
        results.append(CheckResult("modem lines", None, Outcome.SKIP,
                                   "skipped: needs two devices joined by a null-modem cable"))
    return results


def run_selftest(paths: Sequence[str], bauds: Sequence[int] = DEFAULT_BAUDS) -> list[CheckResult]:
    """Open one device (loopback) or two (null-modem pair) and run every check.

    Raises:
        UserError: a device is missing, or the same device is named twice.
        RuntimeFailure: a device cannot be opened.
    """
    if len(paths) == 2 and os.path.realpath(paths[0]) == os.path.realpath(paths[1]):
        raise UserError(f"{paths[0]} named twice: give one device for a loopback test")
    ports: list[serial.Serial] = []
    try:
        for path in paths:
            ports.append(open_port(path))
        return run_checks(ports, bauds)
    finally:
        for port in ports:
            port.close()
