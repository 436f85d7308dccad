"""An RFC 2217 client's opening: its output is held until its opening requests are done.

pyserial (and esptool through it) opens an ``rfc2217://`` port with one COM-PORT request
at a time (baud rate, data size, parity, stop size, control, purges), each waiting for its
answer. Device output sent meanwhile lands in the client's socket ahead of the answers,
and a device faster than the client decodes (a pty, a USB CDC device) can put megabytes
there: the answer then comes after pyserial's 3 s wait. So the port holds an RFC 2217
client's output until ``COMPORT_QUIET`` passes with no request, the client sends data,
or ``COMPORT_OPENING`` has passed; a PURGE of the receive buffer drops what was held.

Real parts: the port on the lean loop with a pseudo-terminal for its device
(tests/port/test_direct_path.py's LivePort), a client that reads everything (so the port
reads the device), and a second client speaking RFC 2217 the way pyserial's opening does,
byte for byte on a socket.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bridge.port import telnetside
from tests.port.test_direct_path import WAIT, LivePort, recv_until

IAC, SB, SE, WILL, WONT, DO = 255, 250, 240, 251, 252, 253
TIMING_MARK, COM_PORT = 6, 44
SET_BAUDRATE, PURGE_DATA = 1, 12
FLOOD = 64 * 1024   # bytes of device output during the opening


@pytest.fixture(autouse=True)
def _long_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quiet wait long enough that a slow test machine never sees it end early;
    a test that needs it to end sets its own."""
    monkeypatch.setattr(telnetside, "COMPORT_QUIET", 60.0)


def _request(code: int, value: bytes) -> bytes:
    return bytes((IAC, SB, COM_PORT, code)) + value + bytes((IAC, SE))


def _answer(code: int) -> bytes:
    return bytes((IAC, SB, COM_PORT, code + 100))


def _wait(what: str, done: object) -> None:
    deadline = time.monotonic() + WAIT
    while not done():   # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@contextmanager
def _opening(port: LivePort) -> Iterator[socket.socket]:
    """A client that reads everything, and a second one past its TIMING-MARK answer with
    COM-PORT agreed, as pyserial is when it starts its requests."""
    with port.reading_client():
        client = port.client()
        try:
            recv_until(client, bytes((IAC, DO, TIMING_MARK)))
            client.sendall(bytes((IAC, WILL, COM_PORT, IAC, WONT, TIMING_MARK)))
            recv_until(client, bytes((IAC, DO, COM_PORT)))
            _wait("the second client never arrived", lambda: port.call(lambda: len(port.worker.sessions) == 2))
            yield client
        finally:
            client.close()


@contextmanager
def _held_again(port: LivePort, answer_mark: bool) -> Iterator[socket.socket]:
    """A second client that stays silent until the port welcomes it as a raw client,
    then agrees COM-PORT (answering the mark too, if ``answer_mark``), as pyserial
    in a busy process or behind a slow link does: yielded once its output is held again."""
    with port.reading_client():
        client = port.client()
        try:
            recv_until(client, bytes((IAC, DO, TIMING_MARK)))
            _wait("the silent client was never welcomed",
                  lambda: port.call(lambda: len(port.worker.sessions) == 2 and port.worker.sessions[1].welcomed))
            client.sendall(bytes((IAC, WILL, COM_PORT)) + (bytes((IAC, WONT, TIMING_MARK)) if answer_mark else b""))
            recv_until(client, bytes((IAC, DO, COM_PORT)))
            _wait("the output was not held again", lambda: port.call(lambda: not port.worker.sessions[1].welcomed))
            yield client
        finally:
            client.close()


def _flood(port: LivePort, data: bytes) -> None:
    """The device sends ``data``; wait until the port has read it all."""
    before = port.call(lambda: port.worker.rx_bytes)
    port.pty.write(data)
    _wait("the port never read the device's output",
          lambda: port.call(lambda: port.worker.rx_bytes) >= before + len(data))


def test_an_answer_in_the_opening_comes_before_device_output() -> None:
    """The device sends 64 KiB after the client's TIMING-MARK answer; the client's
    SET-BAUDRATE is answered with none of it ahead (before: all 64 KiB came first)."""
    with LivePort(mode="telnet") as port, _opening(port) as client:
        _flood(port, b"A" * FLOOD)
        client.sendall(_request(SET_BAUDRATE, (115200).to_bytes(4, "big")))
        got = recv_until(client, _answer(SET_BAUDRATE))
        assert b"A" not in got
        assert port.call(lambda: port.worker.sessions[1].pending_output) == FLOOD   # held, not lost


def test_output_held_in_the_opening_follows_it_and_a_purge_drops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Held output reaches the client once its opening is quiet; what a PURGE of the
    receive buffer (RFC 2217 value 1) found queued is gone, and later output is not."""
    with LivePort(mode="telnet") as port, _opening(port) as client:
        _flood(port, b"A" * FLOOD)
        client.sendall(_request(PURGE_DATA, b"\x01"))
        got = recv_until(client, _answer(PURGE_DATA))
        client.sendall(b"x")   # data: the opening is over
        _flood(port, b"B" * 100)
        got += recv_until(client, b"B" * 100)
        assert b"A" not in got
    monkeypatch.setattr(telnetside, "COMPORT_QUIET", 0.5)
    with LivePort(mode="telnet") as port, _opening(port) as client:
        _flood(port, b"C" * FLOOD)
        got = b""
        deadline = time.monotonic() + WAIT
        while got.count(b"C") < FLOOD:
            assert time.monotonic() < deadline, f"{got.count(b'C')} of {FLOOD} bytes arrived"
            got += recv_until(client, b"C")


def test_data_from_the_client_ends_its_opening() -> None:
    """An RFC 2217 client that sends data (esptool's SYNC) gets output at once, however
    long the quiet wait."""
    with LivePort(mode="telnet") as port, _opening(port) as client:
        client.sendall(_request(SET_BAUDRATE, (115200).to_bytes(4, "big")))
        recv_until(client, _answer(SET_BAUDRATE))
        assert not port.call(lambda: port.worker.sessions[1].welcomed)
        client.sendall(b"sync")
        assert port.pty.read_until(b"sync", WAIT).endswith(b"sync")
        _wait("data did not end the opening", lambda: port.call(lambda: port.worker.sessions[1].welcomed))
        _flood(port, b"D" * 100)
        recv_until(client, b"D" * 100)


def test_requests_never_hold_output_past_the_opening_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that keeps sending requests (a loop polling the baud rate) gets its
    output once ``COMPORT_OPENING`` has passed; requests after that hold nothing."""
    monkeypatch.setattr(telnetside, "COMPORT_OPENING", 0.3)
    with LivePort(mode="telnet") as port, _opening(port) as client:
        deadline = time.monotonic() + WAIT
        while not port.call(lambda: port.worker.sessions[1].welcomed):
            assert time.monotonic() < deadline, "the opening never ended"
            client.sendall(_request(SET_BAUDRATE, bytes(4)))   # a query: the baud rate in force
            recv_until(client, _answer(SET_BAUDRATE))
        _flood(port, b"E" * 100)
        client.sendall(_request(SET_BAUDRATE, bytes(4)))
        got = recv_until(client, b"E" * 100)
        assert port.call(lambda: port.worker.sessions[1].welcomed)
        assert b"E" * 100 in got


def test_a_client_welcomed_as_silent_that_starts_rfc2217_is_held_through_its_requests() -> None:
    """pyserial in a busy process: its first bytes come after the port has welcomed it as
    a silent client. Once it agrees COM-PORT its output is held again, so its
    SET-BAUDRATE is answered ahead of the device's output, which follows."""
    with LivePort(mode="telnet") as port, _held_again(port, answer_mark=True) as client:
        port.pty.write(b"F" * 1000)
        _wait("the port never read the device", lambda: port.call(lambda: port.worker.sessions[1].pending_output) == 1000)
        client.sendall(_request(SET_BAUDRATE, (115200).to_bytes(4, "big")))
        got = recv_until(client, _answer(SET_BAUDRATE))
        assert b"F" not in got
        client.sendall(b"x")   # data: the opening is over
        recv_until(client, b"F" * 1000)


def test_a_purge_of_the_transmit_buffer_ends_the_opening(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyserial's opening ends with PURGE-DATA 1 then 2: the first drops what was held,
    output after it stays held until the second is answered, then follows it at once
    (before: it waited for the quiet wait, too short for a slow link and too long here)."""
    monkeypatch.setattr(telnetside, "COMPORT_OPENING", 60.0)   # only the purge can end it
    with LivePort(mode="telnet") as port, _opening(port) as client:
        _flood(port, b"A" * FLOOD)
        client.sendall(_request(PURGE_DATA, b"\x01"))
        got = recv_until(client, _answer(PURGE_DATA))
        _flood(port, b"B" * 100)
        assert not port.call(lambda: port.worker.sessions[1].welcomed)
        client.sendall(_request(PURGE_DATA, b"\x02"))
        got += recv_until(client, b"B" * 100)
        assert b"A" not in got
        assert got.index(_answer(PURGE_DATA) + b"\x02") < got.index(b"B")
        assert port.call(lambda: port.worker.sessions[1].welcomed)


def test_the_quiet_wait_grows_with_the_clients_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client whose TIMING-MARK answer takes 0.8 s (a link with that round trip, or a
    slow process) sends its next request 0.5 s after it: its output is still held,
    so the answer comes before the device's output (before: the 0.2 s quiet wait had
    ended and 64 KiB came first)."""
    monkeypatch.setattr(telnetside, "COMPORT_QUIET", 0.2)
    with LivePort(mode="telnet") as port, port.reading_client():
        client = port.client()
        try:
            recv_until(client, bytes((IAC, DO, TIMING_MARK)))
            client.sendall(bytes((IAC, WILL, COM_PORT)))   # Telnet spoken: the port waits for the mark
            time.sleep(0.8)
            client.sendall(bytes((IAC, WONT, TIMING_MARK)))
            recv_until(client, bytes((IAC, DO, COM_PORT)))
            _flood(port, b"G" * FLOOD)
            time.sleep(0.5)
            client.sendall(_request(SET_BAUDRATE, (115200).to_bytes(4, "big")))
            got = recv_until(client, _answer(SET_BAUDRATE))
            assert b"G" not in got
        finally:
            client.close()


def test_a_client_held_again_is_held_until_its_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client welcomed as silent was sent output before it turned out to speak
    RFC 2217 (a link with more than 150 ms of delay each way): it decodes that
    before it asks anything, however long, so its output stays held until its
    first request, and no quiet wait before it ends the hold (before: it ended
    after the quiet wait and the device's output came ahead of the answer)."""
    monkeypatch.setattr(telnetside, "COMPORT_QUIET", 0.1)
    with LivePort(mode="telnet") as port, _held_again(port, answer_mark=False) as client:
        _flood(port, b"H" * FLOOD)
        time.sleep(1.0)   # decoding what came before; the quiet wait is 0.1 s plus the time since the mark
        client.sendall(_request(SET_BAUDRATE, (115200).to_bytes(4, "big")))
        got = recv_until(client, _answer(SET_BAUDRATE))
        assert b"H" not in got


def test_a_client_whose_mark_answer_and_comport_come_in_one_read_gets_no_welcome() -> None:
    """pyserial's reader thread can answer the port's offers (WONT TTYPE, WONT NAWS,
    WONT TIMING-MARK) before its main thread sends WILL COM-PORT, in one segment: the
    client is an RFC 2217 client in its opening, so no banner and no output ahead of
    its answers (before: the mark's answer welcomed it as a Telnet client and the
    device's output, banner first, went ahead of every answer)."""
    with LivePort(mode="telnet") as port, port.reading_client():
        client = port.client()
        try:
            recv_until(client, bytes((IAC, DO, TIMING_MARK)))
            client.sendall(bytes((IAC, WONT, 24, IAC, WONT, 31, IAC, WONT, TIMING_MARK, IAC, WILL, COM_PORT)))
            recv_until(client, bytes((IAC, DO, COM_PORT)))
            _wait("the second client never arrived", lambda: port.call(lambda: len(port.worker.sessions) == 2))
            _flood(port, b"J" * FLOOD)
            client.sendall(_request(SET_BAUDRATE, (115200).to_bytes(4, "big")))
            got = recv_until(client, _answer(SET_BAUDRATE))
            assert b"J" not in got
            assert b"serial-bridge" not in got
        finally:
            client.close()


def test_a_client_whose_mark_answer_comes_before_its_comport_is_held_again() -> None:
    """The same with WILL COM-PORT in a later segment, after the port has welcomed the
    client as a Telnet client: its output is held again until its requests are done,
    so its answer comes before the device's output (before: no hold, and under a
    flood pyserial's open timed out)."""
    with LivePort(mode="telnet") as port, port.reading_client():
        client = port.client()
        try:
            recv_until(client, bytes((IAC, DO, TIMING_MARK)))
            client.sendall(bytes((IAC, WONT, TIMING_MARK)))
            _wait("the client was never welcomed",
                  lambda: port.call(lambda: len(port.worker.sessions) == 2 and port.worker.sessions[1].welcomed))
            client.sendall(bytes((IAC, WILL, COM_PORT)))
            recv_until(client, bytes((IAC, DO, COM_PORT)))
            _wait("the output was not held again", lambda: port.call(lambda: not port.worker.sessions[1].welcomed))
            _flood(port, b"K" * FLOOD)
            client.sendall(_request(SET_BAUDRATE, (115200).to_bytes(4, "big")))
            got = recv_until(client, _answer(SET_BAUDRATE))
            assert b"K" not in got
        finally:
            client.close()


def test_output_held_in_the_opening_is_kept_past_the_slow_client_bound() -> None:
    """While a device that is not paused (another client reads) sends 1 MiB during an
    RFC 2217 client's opening, the client's held output is kept whole: it is not a
    slow client, and it gets all of it once its opening ends (before: the 256 KiB
    slow-client bound dropped the oldest 768 KiB, silently on an RFC 2217 stream)."""
    size = 1024 * 1024
    with LivePort(mode="telnet") as port, _opening(port) as client:
        _flood(port, b"L" * size)
        client.sendall(b"x")   # data: the opening is over
        got = b""
        deadline = time.monotonic() + WAIT
        while got.count(b"L") < size:
            assert time.monotonic() < deadline, f"{got.count(b'L')} of {size} bytes arrived"
            got += recv_until(client, b"L")
        assert port.call(lambda: port.worker.sessions[1].dropped) == 0


def test_a_client_whose_comport_follows_its_mark_answer_closely_gets_no_welcome(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """WILL COM-PORT a moment after the mark's answer, within ``MARK_GRACE`` (here made
    long, so that a slow machine cannot stretch the moment past it): the client is known
    as an RFC 2217 client before any welcome, so the device's output of that moment
    comes after its answers (before: the answer welcomed it at once and that output
    went ahead of them)."""
    monkeypatch.setattr(telnetside, "MARK_GRACE", 1.0)
    with LivePort(mode="telnet") as port, port.reading_client():
        client = port.client()
        try:
            got = recv_until(client, bytes((IAC, DO, TIMING_MARK)))
            _wait("the second client never arrived", lambda: port.call(lambda: len(port.worker.sessions) == 2))
            client.sendall(bytes((IAC, WONT, TIMING_MARK)))
            time.sleep(0.1)   # the answer is read; the device's output follows it
            _flood(port, b"M" * FLOOD)
            client.sendall(bytes((IAC, WILL, COM_PORT)))
            got += recv_until(client, bytes((IAC, DO, COM_PORT)))
            client.sendall(_request(SET_BAUDRATE, (115200).to_bytes(4, "big")))
            got += recv_until(client, _answer(SET_BAUDRATE))
            assert b"M" not in got
        finally:
            client.close()


def test_the_bound_runs_from_the_receive_purge(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyserial drains what it read before its PURGE of the receive buffer byte by byte
    (seconds, for a few hundred KB) before it sends its last request: the opening's
    bound is at least ``COMPORT_OPENING`` from that purge, so output after the purge
    still waits for the last answer (before: the bound from the mark ran out while
    pyserial drained, and the output went ahead of that answer, which timed out)."""
    monkeypatch.setattr(telnetside, "COMPORT_OPENING", 2.0)
    with LivePort(mode="telnet") as port, _opening(port) as client:
        time.sleep(1.5)
        client.sendall(_request(PURGE_DATA, b"\x01"))
        recv_until(client, _answer(PURGE_DATA))
        time.sleep(1.0)   # draining: past the bound from the mark, well within the one from the purge
        _flood(port, b"N" * FLOOD)
        client.sendall(_request(PURGE_DATA, b"\x02"))
        last = _answer(PURGE_DATA) + b"\x02"
        got = recv_until(client, last)
        assert b"N" not in got[:got.index(last)]


def test_a_client_held_again_has_time_to_decode_what_it_was_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client welcomed as silent was sent 400 KiB before it started RFC 2217:
    pyserial decodes about 0.2 MB/s, so the opening's bound grows by the time that
    takes (2 s here), and a request after the plain bound (1 s here) is still answered
    ahead of the device's output (before: the bound ran out while it decoded, and
    under a flood pyserial's open timed out)."""
    monkeypatch.setattr(telnetside, "COMPORT_OPENING", 1.0)
    monkeypatch.setattr(telnetside, "COMPORT_STEPS", 0)
    sent = 400 * 1024
    with LivePort(mode="telnet") as port, port.reading_client():
        client = port.client()
        try:
            recv_until(client, bytes((IAC, DO, TIMING_MARK)))
            _wait("the silent client was never welcomed",
                  lambda: port.call(lambda: len(port.worker.sessions) == 2 and port.worker.sessions[1].welcomed))
            _flood(port, b"P" * sent)
            _wait("the output never went out", lambda: port.call(lambda: port.worker.sessions[1].bytes_out) >= sent)
            client.sendall(bytes((IAC, WILL, COM_PORT)))
            _wait("the output was not held again", lambda: port.call(lambda: not port.worker.sessions[1].welcomed))
            time.sleep(1.5)   # decoding: past the plain bound, within the one that counts it
            _flood(port, b"Q" * FLOOD)
            client.sendall(_request(SET_BAUDRATE, (115200).to_bytes(4, "big")))
            answer = _answer(SET_BAUDRATE)
            got = recv_until(client, answer)
            assert b"Q" not in got[:got.index(answer)]
        finally:
            client.close()
