"""RFC 2217 through the real daemon, with pyserial's own rfc2217:// client as the oracle."""

from __future__ import annotations

import functools
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import serial

from bridge import __version__
from bridge.telnet import ComPortCmd, ComPortReply, Opt, Side
from tests.integration.helpers import WAIT, Daemon, PtyDevice, TelnetClient

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def config(dev: str, port: int, extra: str = "") -> str:
    return (f'[bridge]\ncontrol = ""\n[[port]]\nname = "com1"\ndevice = "{dev}"\n'
            f'listen = {port}\nlock_files = false\n{extra}\n')


def started(start_daemon: Start, make_pty: MakePty, extra: str = "") -> tuple[Daemon, PtyDevice, int]:
    """A daemon bridging one pty as port com1; returns it, the pty and the TCP port."""
    dev = make_pty()
    daemon = start_daemon(config(dev.path, 0, extra))
    daemon.wait_log(r"com1: device .* open")
    return daemon, dev, daemon.port_of("com1")


def device_speed(dev: PtyDevice) -> int:
    """The baud rate the device side is set to (Linux reports the slave's settings on the master)."""
    return int(termios.tcgetattr(dev.master)[5])


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def _speed_is(dev: PtyDevice, code: int) -> bool:
    return device_speed(dev) == code


def open_client(port: int, **kwargs: Any) -> serial.Serial:
    return serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", timeout=WAIT, **kwargs)


def test_pyserial_client_sets_baud_rate_seen_at_the_device(start_daemon: Start, make_pty: MakePty) -> None:
    """RFC 2217 SET-BAUDRATE from pyserial changes the device's termios, and data passes both ways."""
    daemon, dev, port = started(start_daemon, make_pty)
    client = open_client(port, baudrate=115200)
    wait_until(lambda: device_speed(dev) == termios.B115200, "device never at 115200")
    client.baudrate = 57600
    wait_until(lambda: device_speed(dev) == termios.B57600, "device never at 57600")
    client.write(b"hello device")
    assert dev.read(12) == b"hello device"
    dev.write(b"hello client \xff\r")
    assert client.read(15) == b"hello client \xff\r"
    client.close()
    daemon.stop()


def test_stop_bits_and_flow_control_reach_the_device(start_daemon: Start, make_pty: MakePty) -> None:
    """Two stop bits and hardware flow control requested by the client show in the device's cflag."""
    daemon, dev, port = started(start_daemon, make_pty)
    client = open_client(port, baudrate=9600, stopbits=serial.STOPBITS_TWO)
    wait_until(lambda: bool(termios.tcgetattr(dev.master)[2] & termios.CSTOPB), "CSTOPB never set")
    client.rtscts = True
    wait_until(lambda: bool(termios.tcgetattr(dev.master)[2] & termios.CRTSCTS), "CRTSCTS never set")
    client.close()
    daemon.stop()


def test_settings_return_to_the_configured_ones_when_the_client_leaves(start_daemon: Start,
                                                                      make_pty: MakePty) -> None:
    """With restore_settings (the default) the port goes back to its configured baud rate after the session."""
    daemon, dev, port = started(start_daemon, make_pty, "baud = 19200")
    wait_until(lambda: device_speed(dev) == termios.B19200, "configured rate not applied")
    client = open_client(port, baudrate=115200)
    wait_until(lambda: device_speed(dev) == termios.B115200, "client rate not applied")
    client.close()
    wait_until(lambda: device_speed(dev) == termios.B19200, "rate not restored")
    daemon.stop()


def test_dtr_and_rts_on_a_pty_are_answered_as_requested(start_daemon: Start, make_pty: MakePty) -> None:
    """A pty has no modem lines: DTR/RTS requests are answered with the state asked for, and data still flows."""
    daemon, dev, port = started(start_daemon, make_pty)
    client = open_client(port)
    for state in (False, True, False, True):
        client.dtr = state
        client.rts = state
    client.write(b"still here")
    assert dev.read(10) == b"still here"
    client.close()
    daemon.stop()


def _comport_client(port: int) -> TelnetClient:
    client = TelnetClient(port)
    client.conn.request_enable(Opt.COM_PORT, Side.US)
    client.flush()
    client.wait_for(lambda: client.conn.is_enabled(Opt.COM_PORT, Side.US))
    return client


def _reply(client: TelnetClient, command: ComPortCmd) -> bytes:
    def found() -> bool:
        return any(isinstance(e, ComPortReply) and e.command == command for e in client.events)
    client.wait_for(found)
    replies = [e for e in client.events if isinstance(e, ComPortReply) and e.command == command]
    client.events = [e for e in client.events if e not in replies]
    return replies[-1].value


def test_signature_names_the_bridge_version_and_port(start_daemon: Start, make_pty: MakePty) -> None:
    """SIGNATURE with no text is answered with `serial-bridge <version> <port>`."""
    daemon, dev, port = started(start_daemon, make_pty)
    client = _comport_client(port)
    client.conn.comport_request(ComPortCmd.SIGNATURE, b"")
    client.flush()
    assert _reply(client, ComPortCmd.SIGNATURE) == f"serial-bridge {__version__} com1".encode()
    client.close()
    daemon.stop()


def test_a_pty_refuses_seven_data_bits_and_the_answer_says_eight(start_daemon: Start,
                                                                 make_pty: MakePty) -> None:
    """SET-DATASIZE 7 on a pty (EINVAL) is answered with the size in force, 8, and the session goes on."""
    daemon, dev, port = started(start_daemon, make_pty)
    client = _comport_client(port)
    client.conn.comport_request(ComPortCmd.SET_DATASIZE, bytes([7]))
    client.flush()
    assert _reply(client, ComPortCmd.SET_DATASIZE) == bytes([8])
    client.conn.comport_request(ComPortCmd.SET_BAUDRATE, (0).to_bytes(4, "big"))
    client.flush()
    assert _reply(client, ComPortCmd.SET_BAUDRATE) == (9600).to_bytes(4, "big")
    client.send(b"ok")
    assert dev.read(2) == b"ok"
    client.close()
    daemon.stop()


def test_remote_settings_deny_answers_the_value_in_force(start_daemon: Start, make_pty: MakePty) -> None:
    """With remote_settings = "deny" a SET-BAUDRATE changes nothing and is answered with the configured rate."""
    daemon, dev, port = started(start_daemon, make_pty, 'remote_settings = "deny"')
    client = _comport_client(port)
    client.conn.comport_request(ComPortCmd.SET_BAUDRATE, (115200).to_bytes(4, "big"))
    client.flush()
    assert _reply(client, ComPortCmd.SET_BAUDRATE) == (9600).to_bytes(4, "big")
    assert device_speed(dev) == termios.B9600
    client.close()
    daemon.stop()


def test_other_clients_hear_of_a_settings_change(start_daemon: Start, make_pty: MakePty) -> None:
    """A baud change by one RFC 2217 client reaches a telnet user as a message; another RFC 2217
    client is sent no unsolicited answer (pyserial ignores them) and learns the rate when it asks."""
    daemon, dev, port = started(start_daemon, make_pty)
    watcher = _comport_client(port)
    human = TelnetClient(port)
    human.wait_for(lambda: human.conn.is_enabled(Opt.ECHO, Side.HIM))
    changer = _comport_client(port)
    changer.conn.comport_request(ComPortCmd.SET_BAUDRATE, (38400).to_bytes(4, "big"))
    changer.flush()
    assert _reply(changer, ComPortCmd.SET_BAUDRATE) == (38400).to_bytes(4, "big")
    assert b"38400 8N1" in human.read_until(b"38400 8N1]")
    watcher.pump(0.3)
    assert not [e for e in watcher.events if isinstance(e, ComPortReply) and e.command == ComPortCmd.SET_BAUDRATE]
    watcher.conn.comport_request(ComPortCmd.SET_BAUDRATE, (0).to_bytes(4, "big"))
    watcher.flush()
    assert _reply(watcher, ComPortCmd.SET_BAUDRATE) == (38400).to_bytes(4, "big")
    for c in (watcher, human, changer):
        c.close()
    daemon.stop()


def test_break_and_dtr_requests_reach_the_device_through_spy(start_daemon: Start, make_pty: MakePty,
                                                            tmp_path: Path) -> None:
    """pyserial's send_break and dtr through the bridge arrive at the device, as pyserial's spy:// records."""
    dev = make_pty()
    spy_log = tmp_path / "spy.log"
    daemon = start_daemon(config(f"spy://{dev.path}?file={spy_log}", 0))
    daemon.wait_log(r"com1: device .* open")
    port = daemon.port_of("com1")
    client = open_client(port)
    client.send_break(0.05)
    client.dtr = False
    client.write(b"x")
    dev.read(1)
    wait_until(lambda: "BRK" in spy_log.read_text(), "no break recorded at the device")
    text = spy_log.read_text()
    assert "BRK" in text
    client.close()
    daemon.stop()


def test_pyserial_data_is_8_bit_clean_both_ways(start_daemon: Start, make_pty: MakePty) -> None:
    """pyserial never asks for BINARY; the bridge does, so CR, NUL and 0xFF pass unchanged both ways."""
    daemon, dev, port = started(start_daemon, make_pty)
    client = open_client(port)
    tricky = b"a\rb\r\x00c\xff\xffd\r\n\r"
    client.write(tricky)
    assert dev.read(len(tricky)) == tricky
    dev.write(tricky)
    assert client.read(len(tricky)) == tricky
    client.timeout = 0.3
    assert client.read(10) == b""  # nothing extra (no CR NUL padding)
    client.close()
    daemon.stop()


def test_modem_line_reads_work_on_a_device_without_modem_lines(start_daemon: Start, make_pty: MakePty) -> None:
    """pyserial's cts/dsr/ri/cd answer (all off, as on unwired lines) instead of failing."""
    daemon, dev, port = started(start_daemon, make_pty)
    client = open_client(port)
    assert (client.cts, client.dsr, client.ri, client.cd) == (False, False, False, False)
    client.close()
    daemon.stop()


def test_data_stays_byte_exact_while_the_baud_rate_changes(start_daemon: Start, make_pty: MakePty) -> None:
    """Blocks of random data both ways, with a baud rate change between each, arrive unchanged."""
    import os

    daemon, dev, port = started(start_daemon, make_pty)
    client = open_client(port)
    for rate, code in ((19200, termios.B19200), (115200, termios.B115200), (4800, termios.B4800),
                       (57600, termios.B57600)):
        client.baudrate = rate
        wait_until(functools.partial(_speed_is, dev, code), f"device never at {rate}")
        up, down = os.urandom(4096), os.urandom(4096)
        client.write(up)
        assert dev.read(len(up)) == up
        dev.write(down)
        assert client.read(len(down)) == down
    client.close()
    daemon.stop()
