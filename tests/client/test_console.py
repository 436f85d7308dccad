"""`serial-bridge connect` under a real pseudo-terminal against the real daemon on a pty device."""

from __future__ import annotations

import os
import re
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.client.helpers import ESC, Client, start_bridge
from tests.integration.helpers import WAIT, Daemon, PtyDevice

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]


def wait_for_text(path: Path, pattern: str, count: int) -> None:
    """Wait until a file has ``count`` matches of ``pattern``."""
    deadline = time.monotonic() + WAIT
    while len(re.findall(pattern, path.read_text())) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name}: {pattern!r} x{count} never seen: {path.read_text()!r}")
        time.sleep(0.05)


def device_speed(dev: PtyDevice) -> int:
    """The baud rate the device side is set to (Linux reports the slave's settings on the master)."""
    return int(termios.tcgetattr(dev.master)[5])


def test_typing_reaches_the_device_and_its_output_the_screen(start_daemon: Start, make_pty: MakePty,
                                                             tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"127.0.0.1:{port}"], tmp_path)
    try:
        client.expect(r"Connected to telnet://127\.0\.0\.1:\d+\. Escape key: Ctrl-\]")
        dev.write(b"Router login: ")
        client.expect("Router login: ")
        client.send("admin\r")
        assert dev.read_until(b"\r") == b"admin\r"
        client.send(b"\x03\x7f\xff")  # Ctrl-C, DEL and 0xFF pass as typed in raw mode
        assert dev.read(3) == b"\x03\x7f\xff"
        client.command("quit")
        assert client.wait_exit() == 0
        assert client.terminal_restored()
    finally:
        client.close()
        daemon.stop()


def test_the_escape_key_twice_sends_it_and_another_key_can_be_chosen(start_daemon: Start, make_pty: MakePty,
                                                                      tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"127.0.0.1:{port}", "--escape", "^a"], tmp_path)
    try:
        client.expect(r"Escape key: Ctrl-A")
        client.send(ESC + "x")  # Ctrl-] is an ordinary key now
        assert dev.read(2) == ESC.encode() + b"x"
        client.send("\x01")
        client.expect("serial-bridge> ")
        client.send("\x01")  # at an empty prompt: the key itself goes to the device
        assert dev.read(1) == b"\x01"
        client.send("y")
        assert dev.read(1) == b"y"
        client.send("\x01")
        client.expect("serial-bridge> ")
        client.send("\x03")  # Ctrl-C at the prompt: back to the session, nothing sent
        client.expect(r"\^C")
        client.send("z")
        assert dev.read(1) == b"z"
        client.send("\x01quit\r")
        assert client.wait_exit() == 0
        assert client.terminal_restored()
    finally:
        client.close()
        daemon.stop()


def test_help_status_ayt_and_unknown_commands(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.command("help")
        screen = client.expect(r"quit +close the connection and leave")
        for usage in ("break", "baud N", "framing 8N1", "flow none|rtscts|xonxoff", "dtr on|off", "rts on|off",
                      "ayt", "history", "log FILE|off", "send FILE", "status", "help"):
            assert usage.encode() in screen
        client.command("frobnicate")
        client.expect(r"\[unknown command 'frobnicate'; commands: break, baud N, .*quit\]")
        client.command("baud fast")
        client.expect(r"\[baud 'fast': a whole number of baud")
        client.command("ayt")
        client.expect(r"port rtr1.*up")
        client.command("status")  # takes RFC 2217 to read the line settings
        screen = client.expect(r"log: off")
        assert re.search(rb"connected to telnet://127\.0\.0\.1:\d+", screen)
        assert b"mode: character mode, echo: server" in screen
        assert re.search(rb"server's: .*ECHO.*SGA", screen)
        assert re.search(rb"ours: .*COM_PORT", screen)
        assert b"line: 9600 baud 8N1, flow none, DTR on, RTS on" in screen
        assert b"modem lines: CTS off, DSR off, RI off, CD off" in screen
        client.command("ayt")  # still answered: AYT is a question, not a notice
        client.expect(r"port rtr1.*up")
        client.send("k")  # the session goes on after each command
        assert dev.read(1) == b"k"
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_break_reaches_the_serial_line(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """IAC BRK, then RFC 2217's break (SET-CONTROL 5 then 6), each seen at the device in pyserial's spy:// log."""
    spy = tmp_path / "spy.log"
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path, device=f"spy://{{dev}}?file={spy}")
    client = Client([f"127.0.0.1:{port}", "--break-ms", "100"], tmp_path)
    try:
        client.expect("Escape key")
        client.command("break")
        client.expect(r"\[break sent \(IAC BRK\)\]")
        daemon.wait_log(r"rtr1: sending break")
        wait_for_text(spy, r"BRK\s+inactive", count=1)
        client.command("rts on")  # RFC 2217 comes into use
        client.expect(r"\[rts now on\]")
        client.command("break")
        client.expect(r"\[break sent \(100 ms, RFC 2217\)\]")
        wait_for_text(spy, r"BRK\s+inactive", count=2)
        assert len(re.findall(r"BRK\s+active", spy.read_text())) == 2
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_line_settings_change_the_device_and_report_the_answer(start_daemon: Start, make_pty: MakePty,
                                                              tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.command("baud 57600")
        client.expect(r"\[baud now 57600\]")
        assert device_speed(dev) == termios.B57600
        client.command("flow rtscts")
        client.expect(r"\[flow now (rtscts|none)\]")  # what the server answered
        client.command("dtr off")
        client.expect(r"\[dtr now off\]")
        client.command("rts on")
        client.expect(r"\[rts now on\]")
        client.command("framing 8N1")
        client.expect(r"\[framing now 8N1\]")
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_command_line_settings_apply_at_connect(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"127.0.0.1:{port}", "--baud", "38400", "--framing", "8N1", "--flow", "none",
                     "--dtr", "on", "--rts", "off"], tmp_path)
    try:
        client.expect(r"\[line set: baud 38400, framing 8N1, flow none, dtr on, rts off\]")
        assert device_speed(dev) == termios.B38400
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_log_appends_device_output_to_a_file(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    log = tmp_path / "console.log"
    stamped = tmp_path / "stamped.log"
    client = Client([f"127.0.0.1:{port}", "--log", str(stamped), "--log-timestamps"], tmp_path)
    try:
        client.expect("Escape key")
        dev.write(b"boot line\r\n")
        client.expect("boot line")
        client.command(f"log {log}")
        client.expect(rf"\[log {re.escape(str(stamped))} closed \(\d+ bytes\)\].*\[logging to ")
        dev.write(b"show version\r\nIOS \xff 15.2\r\n")
        client.expect("IOS")
        client.command("log off")
        client.expect(r"\[log .* closed \(\d+ bytes\)\]")
        dev.write(b"not logged\r\n")
        client.expect("not logged")
        client.command("log /nonexistent-dir/x.log")
        client.expect(r"\[log /nonexistent-dir/x\.log: No such file or directory\]")
        client.command("quit")
        assert client.wait_exit() == 0
        stamp = rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] "
        assert re.fullmatch(stamp + rb"show version\r\n" + stamp + rb"IOS \xff 15.2\r\n", log.read_bytes())
        assert re.search(rb"(^|\n)" + stamp + rb"boot line\r\n\Z", stamped.read_bytes())
    finally:
        client.close()
        daemon.stop()


def test_send_streams_a_file_byte_exact(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """64 KiB of random bytes (IAC and CR among them) reach the device exactly, at the line rate."""
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    payload = os.urandom(64 * 1024)
    path = tmp_path / "firmware.bin"
    path.write_bytes(payload)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(dev.read(len(payload), timeout=4 * WAIT)))
    client = Client([f"127.0.0.1:{port}", "--baud", "921600"], tmp_path)
    try:
        client.expect(r"\[line set: baud 921600\]")
        reader.start()
        client.command(f"send {path}")
        client.expect(r"firmware\.bin .*/65\.5 kB")  # rich's progress bar
        client.expect(rf"\[sent {re.escape(str(path))}: 65536 bytes in [\d.]+ s at 921600 baud\]", timeout=4 * WAIT)
        reader.join(4 * WAIT)
        assert got and got[0] == payload
        client.command("send /nonexistent")
        client.expect(r"\[send /nonexistent: No such file or directory\]")
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_ctrl_c_stops_a_send(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 100_000)  # at 9600 baud: 100 s
    client = Client([f"127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.command(f"send {path}")
        dev.read(1000)
        client.send("\x03")
        screen = client.expect(r"\[send .* stopped: (\d+) of 100000 bytes sent\]")
        sent = int(re.findall(rb"stopped: (\d+) of", screen)[-1])
        assert 1000 <= sent < 100_000
        client.send("after")
        assert dev.read_until(b"after").endswith(b"after")
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_a_port_by_name_and_its_history(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, dev, port, control = start_bridge(start_daemon, make_pty, tmp_path)
    dev.write(b"before anyone connected\r\n")
    client = Client(["rtr1", "--control", str(control)], tmp_path)
    try:
        client.expect(r"Connected to rtr1 \(telnet://127\.0\.0\.1:\d+\)")
        client.command("history")
        client.expect(r"\[history of rtr1: \d+ bytes\]\r\n+before anyone connected\r\n.*\[end of history of rtr1\]")
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_history_by_host_and_port_through_the_control_endpoint(start_daemon: Start, make_pty: MakePty,
                                                              tmp_path: Path) -> None:
    daemon, dev, port, control = start_bridge(start_daemon, make_pty, tmp_path)
    dev.write(b"older output\r\n")
    client = Client([f"127.0.0.1:{port}", "--control", str(control)], tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    plain = Client([f"127.0.0.1:{port}", "--control", str(tmp_path / "none.sock")], other)
    try:
        client.expect("Escape key")
        client.command("history")
        client.expect(r"older output\r\n.*\[end of history of rtr1\]")
        plain.expect("Escape key")
        plain.command("history")
        plain.expect(r"\[history needs the bridge's control endpoint: cannot reach the bridge at .*none\.sock")
        for c in (client, plain):
            c.command("quit")
            assert c.wait_exit() == 0
    finally:
        client.close()
        plain.close()
        daemon.stop()


@pytest.mark.parametrize("scheme", ["rfc2217", "telnet"])
def test_url_targets(start_daemon: Start, make_pty: MakePty, tmp_path: Path, scheme: str) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    client = Client([f"{scheme}://127.0.0.1:{port}"], tmp_path)
    try:
        client.expect(rf"Connected to {scheme}://127\.0\.0\.1:{port}")
        client.send("hi\r")
        assert dev.read_until(b"\r") == b"hi\r"
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_raw_tcp_has_no_telnet_and_says_so(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path, mode="raw")
    client = Client([f"tcp://127.0.0.1:{port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.send(b"\xff\r")
        assert dev.read(2) == b"\xff\r"
        dev.write(b"\xff\xfb\x01 raw\r\n")
        client.expect("raw")
        client.command("baud 9600")
        client.expect(r"\[baud: a raw TCP connection \(tcp://\) carries no RFC 2217\]")
        client.command("status")
        client.expect(r"mode: raw TCP")
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_output_is_held_while_the_prompt_is_open(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    """Device output arriving at an open prompt is logged at once and shown after the command's answer."""
    daemon, dev, port, _ = start_bridge(start_daemon, make_pty, tmp_path)
    log = tmp_path / "held.log"
    client = Client([f"127.0.0.1:{port}", "--log", str(log)], tmp_path)
    try:
        client.expect("Escape key")
        client.send(ESC)
        client.expect("serial-bridge> ")
        dev.write(b"HELD-OUTPUT\r\n")
        wait_for_text(log, "HELD-OUTPUT", count=1)  # it has reached the client
        client.send("help\r")
        screen = client.expect("HELD-OUTPUT")
        assert b"quit" in screen and screen.index(b"close the connection") < screen.index(b"HELD-OUTPUT")
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()


def test_a_raw_port_by_name_is_reached_as_raw_tcp(start_daemon: Start, make_pty: MakePty, tmp_path: Path) -> None:
    daemon, dev, port, control = start_bridge(start_daemon, make_pty, tmp_path, mode="raw")
    client = Client(["rtr1", "--control", str(control)], tmp_path)
    try:
        client.expect(rf"Connected to rtr1 \(tcp://127\.0\.0\.1:{port}\)")
        client.send(b"\xff\xfd\x01")  # IAC DO ECHO typed on a raw port is three data bytes
        assert dev.read(3) == b"\xff\xfd\x01"
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        daemon.stop()
