"""The client's pure parts: targets, the line editor, the device log, RFC 2217 answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.client.lineedit import LineEditor
from bridge.client.logfile import DeviceLog
from bridge.client.remote import same_host
from bridge.client.rfc2217 import LineView
from bridge.client.target import PortName, Target, matching_port, parse_target, target_from_port
from bridge.telnet import ComPortCmd


@pytest.mark.parametrize(("text", "expected"), [
    ("host:7001", Target("telnet", "host", 7001)),
    ("telnet://10.0.0.1:23", Target("telnet", "10.0.0.1", 23)),
    ("rfc2217://localhost:7001?logging=debug", Target("rfc2217", "localhost", 7001)),
    ("tcp://[::1]:7002", Target("tcp", "::1", 7002)),
    ("[::1]:7003", Target("telnet", "::1", 7003)),
    ("rtr1", PortName("rtr1")),
    ("lab-sw.2", PortName("lab-sw.2")),
])
def test_targets(text: str, expected: Target | PortName) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("ftp://host:21", "unknown scheme 'ftp'"),
    ("host:0", "the port must be 1..65535"),
    ("host:http", "the port must be 1..65535"),
    ("::1:7001", "write an IPv6 address in brackets"),
    ("tcp://host", "expected HOST:PORT"),
    ("a port", "expected HOST:PORT, a URL"),
])
def test_bad_targets_are_one_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_target(text)


def test_a_port_of_the_control_api_becomes_a_target() -> None:
    assert target_from_port({"name": "r", "listen": "127.0.0.1:7001", "mode": "telnet"}, None) == \
        Target("telnet", "127.0.0.1", 7001, "r")
    assert target_from_port({"name": "r", "listen": "0.0.0.0:7001", "mode": "raw"}, "bridge.lan") == \
        Target("tcp", "bridge.lan", 7001, "r")
    assert target_from_port({"name": "r", "listen": "[::]:7001"}, None) == Target("telnet", "::1", 7001, "r")
    with pytest.raises(ValueError, match="no TCP listener"):
        target_from_port({"name": "r", "listen": ""}, None)


def test_the_port_listening_on_a_targets_tcp_port_is_found() -> None:
    ports = [{"name": "a", "listen": "127.0.0.1:7001"}, {"name": "b", "listen": "0.0.0.0:7002"}]
    assert matching_port(ports, Target("telnet", "x", 7002)) == ports[1]
    assert matching_port(ports, Target("telnet", "x", 7003)) is None


def test_line_editor_edits_and_ends_lines() -> None:
    editor = LineEditor()
    edit = editor.feed(b"baux\x7fd 9600\rrest")
    assert edit.line == b"baud 9600"
    assert edit.echo == b"baux\b \bd 9600\r\n"
    assert edit.rest == b"rest"
    assert editor.feed(b"\n").line is None  # the LF of a CR LF Enter is not a second line
    edit = editor.feed(b"one two\x17\x15x\x03")
    assert edit.cancelled and edit.line is None
    assert editor.feed(b"\x04").cancelled  # Ctrl-D on an empty line
    edit = editor.feed(b"st\x1b[Aat\x1bOPus\r")  # cursor up and F1 are swallowed, even split across reads
    assert edit.line == b"status" and edit.echo == b"status\r\n"
    editor.feed(b"a\x1b[")
    assert editor.feed(b"1;5Db\r").line == b"ab"


def test_device_log_appends_bytes_as_received(tmp_path: Path) -> None:
    path = tmp_path / "dev.log"
    path.write_bytes(b"old\n")
    log = DeviceLog(str(path))
    log.write(b"a\r\nb\xff")
    log.close()
    assert path.read_bytes() == b"old\na\r\nb\xff"


def test_device_log_stamps_each_line_once(tmp_path: Path) -> None:
    path = tmp_path / "dev.log"
    log = DeviceLog(str(path), timestamps=True)
    for piece in (b"first li", b"ne\r\nsecond\r\n", b"\r\nthird"):
        log.write(piece)
    log.close()
    stamp = rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] "
    assert re.fullmatch(stamp + rb"first line\r\n" + stamp + rb"second\r\n" + stamp + rb"\r\n" + stamp + rb"third",
                        path.read_bytes())


def test_line_view_reads_rfc2217_answers() -> None:
    view = LineView()
    assert view.framing == "???"
    view.update(ComPortCmd.SET_BAUDRATE, (115200).to_bytes(4, "big"))
    view.update(ComPortCmd.SET_DATASIZE, b"\x07")
    view.update(ComPortCmd.SET_PARITY, b"\x03")
    view.update(ComPortCmd.SET_STOPSIZE, b"\x03")
    view.update(ComPortCmd.SET_CONTROL, b"\x03")
    view.update(ComPortCmd.SET_CONTROL, b"\x09")
    view.update(ComPortCmd.SET_CONTROL, b"\x0b")
    view.update(ComPortCmd.NOTIFY_MODEMSTATE, b"\x90")
    view.update(ComPortCmd.SET_PARITY, b"")  # malformed: ignored
    assert (view.baud, view.framing, view.flow, view.dtr, view.rts) == (115200, "7E1.5", "rtscts", False, True)
    assert view.modem_text() == "CTS on, DSR off, RI off, CD on"
    assert view.char_bits() == 11


def test_history_asks_only_a_bridge_on_the_targets_host() -> None:
    assert same_host("127.0.0.1", "/run/serial-bridge/control.sock")
    assert same_host("localhost", "/tmp/x/control.sock")
    assert not same_host("bridge.lab", "/run/serial-bridge/control.sock")
    assert same_host("bridge.lab", "bridge.lab:7100")
    assert same_host("::1", "127.0.0.1:7100")
    assert not same_host("10.0.0.5", "127.0.0.1:7100")
