"""RFC 2217 with several clients, watchers and a device that vanishes mid-request."""

from __future__ import annotations

import struct
import termios

import pytest
import serial

from bridge.telnet import Cmd, ComPortCmd, Opt, SERVER_OFFSET
from tests.integration.helpers import WAIT, connect
from tests.integration.support import IAC, MakePty, Start, assert_no_traceback, comport, read_for, started


def ack(cmd: ComPortCmd, value: bytes) -> bytes:
    """The server's answer to ``cmd`` carrying ``value``."""
    return IAC + bytes([Cmd.SB, Opt.COM_PORT, cmd + SERVER_OFFSET]) + value + IAC + bytes([Cmd.SE])


def test_one_client_leaving_does_not_revert_another_clients_settings(start_daemon: Start,
                                                                      make_pty: MakePty) -> None:
    """A sets 57600, B then sets 19200, A leaves: the device stays at B's 19200 while B is connected."""
    daemon, dev, port = started(start_daemon, make_pty, "baud = 9600")
    a = serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", baudrate=57600, timeout=WAIT)
    b = serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", baudrate=19200, timeout=WAIT)
    daemon.wait_log(r"settings now 19200")
    a.close()
    daemon.wait_log(r"con: client .* disconnected", count=1)
    with pytest.raises(TimeoutError):   # bounded: a restore shows within milliseconds
        daemon.wait_log(r"settings now .* \(by the operator\)", timeout=3.0)
    assert termios.tcgetattr(dev.master)[5] == termios.B19200
    b.close()
    daemon.stop()


def test_the_last_client_leaving_restores_the_configured_settings(start_daemon: Start, make_pty: MakePty) -> None:
    """A and B both change the baud rate; when both have left the device is back at the configured
    9600, announced as a restore (never as the operator's change)."""
    daemon, dev, port = started(start_daemon, make_pty, "baud = 9600")
    a = serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", baudrate=57600, timeout=WAIT)
    b = serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", baudrate=19200, timeout=WAIT)
    daemon.wait_log(r"settings now 19200")
    a.close()
    b.close()
    daemon.wait_log(r"con: client .* disconnected", count=2)
    daemon.wait_log(r"settings restored to the configured 9600")
    assert termios.tcgetattr(dev.master)[5] == termios.B9600
    assert not any("by the operator" in line for line in daemon.lines)
    assert_no_traceback(daemon)
    daemon.stop()


def test_a_watchers_baud_request_is_answered_with_the_rate_in_force(start_daemon: Start,
                                                                     make_pty: MakePty) -> None:
    """access = "first": a watcher's SET-BAUDRATE 57600 is answered 9600 and the device is unchanged."""
    daemon, dev, port = started(start_daemon, make_pty, 'access = "first"\nbaud = 9600')
    writer = connect(port)
    daemon.wait_log(r"con: client .* connected .*writer")
    with connect(port) as watcher:
        watcher.sendall(IAC + bytes([Cmd.WILL, Opt.COM_PORT]))
        read_for(watcher, IAC + bytes([Cmd.DO, Opt.COM_PORT]))
        watcher.sendall(comport(ComPortCmd.SET_BAUDRATE, struct.pack(">I", 57600)))
        read_for(watcher, ack(ComPortCmd.SET_BAUDRATE, struct.pack(">I", 9600)))
    assert termios.tcgetattr(dev.master)[5] == termios.B9600
    writer.close()
    assert_no_traceback(daemon)
    daemon.stop()


def test_a_settings_change_while_the_device_is_gone_is_answered(start_daemon: Start, make_pty: MakePty) -> None:
    """The device vanishes under an RFC 2217 client; its next SET-BAUDRATE is still answered and logs no traceback."""
    daemon, dev, port = started(start_daemon, make_pty)
    with connect(port) as sock:
        sock.sendall(IAC + bytes([Cmd.WILL, Opt.COM_PORT]))
        read_for(sock, IAC + bytes([Cmd.DO, Opt.COM_PORT]))
        dev.close()
        daemon.wait_log(r"con: device lost")
        sock.sendall(comport(ComPortCmd.SET_BAUDRATE, struct.pack(">I", 57600)))
        read_for(sock, IAC + bytes([Cmd.SB, Opt.COM_PORT, ComPortCmd.SET_BAUDRATE + SERVER_OFFSET]))
    assert_no_traceback(daemon)
    assert daemon.stop() == 0
