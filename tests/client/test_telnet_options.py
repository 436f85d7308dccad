"""NAWS, TTYPE, character and line mode, IAC BRK: `connect` against a small Telnet server on the engine."""

from __future__ import annotations

from pathlib import Path

from bridge.telnet import (
    Cmd,
    CommandReceived,
    Opt,
    OptionPolicy,
    Side,
    TerminalTypeReceived,
    WindowSizeChanged,
)
from tests.client.helpers import Client, TelnetServer


def test_naws_at_start_and_after_a_resize_and_ttype_from_term(tmp_path: Path) -> None:
    server = TelnetServer([("will", Opt.ECHO), ("will", Opt.SGA), ("do", Opt.NAWS), ("do", Opt.TTYPE)])
    client = Client([f"127.0.0.1:{server.port}"], tmp_path, size=(30, 100), env={"TERM": "vt220"})
    try:
        client.expect("Escape key")
        server.wait_for(lambda: WindowSizeChanged(width=100, height=30) in server.events, "no NAWS at start")
        client.child.setwinsize(50, 132)
        server.wait_for(lambda: WindowSizeChanged(width=132, height=50) in server.events, "no NAWS after a resize")
        server.wait_for(lambda: server.conn.is_enabled(Opt.TTYPE, Side.HIM), "TTYPE not agreed")
        server.call(lambda conn: conn.request_terminal_type())
        server.wait_for(lambda: TerminalTypeReceived(name="VT220") in server.events, "no TTYPE IS")
        client.command("quit")
        assert client.wait_exit() == 0
        assert client.terminal_restored()
    finally:
        client.close()
        server.close()


def test_character_mode_sends_each_key_and_does_not_echo(tmp_path: Path) -> None:
    server = TelnetServer([("will", Opt.ECHO), ("will", Opt.SGA)])
    client = Client([f"127.0.0.1:{server.port}"], tmp_path)
    try:
        client.expect("Escape key")
        server.wait_for(lambda: server.conn.is_enabled(Opt.ECHO, Side.US), "ECHO not agreed")
        client.send("ab")
        server.wait_for(lambda: server.data == b"ab", "keys not sent one by one")
        server.call(lambda conn: conn.send_data(b"<echo:ab>"))
        screen = client.expect("<echo:ab>")
        assert b"ab<echo" not in screen  # the client did not echo locally
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        server.close()


def test_local_line_mode_when_the_server_refuses_echo_and_sga(tmp_path: Path) -> None:
    """RFC 858: with neither ECHO nor SGA, the client edits and echoes a line and sends it with CR LF."""
    policy = OptionPolicy(us=frozenset(), him=frozenset())
    server = TelnetServer([], policy=policy)
    client = Client([f"127.0.0.1:{server.port}"], tmp_path)
    try:
        client.expect("Escape key")
        client.send("shw\x7fow ver")
        client.expect("shw\b \bow ver")  # echoed and edited locally
        assert server.data == b""  # nothing sent before Enter
        client.send("\r")
        server.wait_for(lambda: server.data == b"show ver\r\n", "line not sent")
        client.send("ping\x03")  # Ctrl-C: the half line is dropped, Interrupt Process sent
        server.wait_for(lambda: CommandReceived(command=Cmd.IP) in server.events, "no IAC IP")
        assert server.data == b"show ver\r\n"
        client.command("status")
        client.expect("mode: local line mode, echo: local")
        client.command("baud 9600")
        client.expect(r"\[baud: the server does not speak RFC 2217 \(COM-PORT-OPTION refused\)\]")
        client.command("break")
        client.expect(r"\[break sent \(IAC BRK\)\]")
        server.wait_for(lambda: CommandReceived(command=Cmd.BRK) in server.events, "no IAC BRK")
        client.command("quit")
        assert client.wait_exit() == 0
        assert client.terminal_restored()
    finally:
        client.close()
        server.close()


def test_rfc2217_target_says_when_the_server_refuses_it(tmp_path: Path) -> None:
    server = TelnetServer([("will", Opt.ECHO), ("will", Opt.SGA)])
    client = Client([f"rfc2217://127.0.0.1:{server.port}"], tmp_path)
    try:
        client.expect(r"\[the server does not speak RFC 2217 \(COM-PORT-OPTION refused\)\]")
        client.command("quit")
        assert client.wait_exit() == 0
    finally:
        client.close()
        server.close()
