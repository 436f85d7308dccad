"""Replays of what real clients send on connect, checked against the engine's answers.

The inetutils-telnet bytes were captured from Debian 12's ``telnet`` (inetutils
2.4) run on a pty (80x24, TERM=xterm) against a loopback listener that sent
the bridge's opening. The pyserial bytes were captured from pyserial 3.5's
``rfc2217://`` client (``serial_for_url(..., baudrate=115200)``, a write, then
``baudrate = 9600`` and ``dtr = False``) talking to this engine over loopback;
its opening is written out in full, as sent when the client speaks first
(``serial/rfc2217.py``, ``Serial.open``).
"""

from __future__ import annotations

import serial.rfc2217 as pyserial_rfc2217

from bridge.telnet import (
    DEFAULT_SERVER_POLICY,
    BaudRateRequested,
    Cmd,
    CommandReceived,
    ComPortCmd,
    ControlRequested,
    DataReceived,
    DataSizeRequested,
    Event,
    Opt,
    OptionEnabled,
    ParityRequested,
    PurgeRequested,
    Side,
    StopSizeRequested,
    TelnetConnection,
    TerminalTypeReceived,
    WindowSizeChanged,
)

BRIDGE_OPENING = bytes.fromhex("fffb01 fffb03 fffd03")  # WILL ECHO, WILL SGA, DO SGA

INETUTILS_ANSWER = bytes.fromhex(
    "fffd01 fffd03 fffb03 fffb18 fffb1f"  # DO ECHO, DO SGA, WILL SGA, WILL TTYPE, WILL NAWS
    "fffa1f 00500018 fff0"  # NAWS 80x24
)
INETUTILS_TTYPE = bytes.fromhex("fffa18 00 585445524d fff0")  # IS "XTERM"
INETUTILS_ENTER = b"ls\r\x00"  # "ls" and Enter in character mode
INETUTILS_SEND_BRK_AYT_IP = b"\xff\xf3\xff\xf6\xff\xf4"  # "send brk", "send ayt", "send ip"

BSD_PORT23_OPENING = bytes.fromhex(  # netkit/BSD telnet to port 23, from its telnet.c opening
    "fffd03 fffb18 fffb1f fffb20 fffb21 fffb22 fffb27 fffd05 fffb23"
)

PYSERIAL_OPENING = bytes.fromhex("fffd01 fffb03 fffd03 fffd2c fffb2c")
PYSERIAL_CONFIGURE = bytes.fromhex(
    "fffa2c 01 0001c200 fff0 fffa2c 02 08 fff0 fffa2c 03 01 fff0 fffa2c 04 01 fff0"
    "fffa2c 05 01 fff0 fffa2c 05 08 fff0 fffa2c 05 0b fff0 fffa2c 0c 01 fff0 fffa2c 0c 02 fff0"
)
PYSERIAL_WRITE = bytes.fromhex("68656c6c6f 0d0a ffff 20 61 0d 62 0d00")  # b"hello\r\n\xff a\rb\r\x00"


def _bridge_server() -> TelnetConnection:
    conn = TelnetConnection(server=True, policy=DEFAULT_SERVER_POLICY)
    conn.request_enable(Opt.ECHO, Side.US)
    conn.request_enable(Opt.SGA, Side.US)
    conn.request_enable(Opt.SGA, Side.HIM)
    assert conn.data_to_send() == BRIDGE_OPENING
    return conn


def test_inetutils_telnet_opening_is_agreed_and_its_window_size_read() -> None:
    """RFC 857/858/1073/1091: Debian's telnet accepts character mode, offers TTYPE and NAWS, sends 80x24."""
    conn = _bridge_server()
    conn.request_enable(Opt.TTYPE, Side.HIM)
    conn.request_enable(Opt.NAWS, Side.HIM)
    assert conn.data_to_send() == bytes.fromhex("fffd18 fffd1f")
    events = conn.receive_data(INETUTILS_ANSWER)
    assert events == [
        OptionEnabled(option=Opt.ECHO, side=Side.US),
        OptionEnabled(option=Opt.SGA, side=Side.US),
        OptionEnabled(option=Opt.SGA, side=Side.HIM),
        OptionEnabled(option=Opt.TTYPE, side=Side.HIM),
        OptionEnabled(option=Opt.NAWS, side=Side.HIM),
        WindowSizeChanged(width=80, height=24),
    ]
    assert conn.data_to_send() == b""  # every answer was an acknowledgment: nothing to say
    conn.request_terminal_type()
    assert conn.data_to_send() == b"\xff\xfa\x18\x01\xff\xf0"
    assert conn.receive_data(INETUTILS_TTYPE) == [TerminalTypeReceived(name="XTERM")]


def test_inetutils_telnet_keystrokes_and_commands_reach_the_caller() -> None:
    """RFC 854: Enter arrives as CR NUL (a bare CR) and "send brk/ayt/ip" as the three commands."""
    conn = _bridge_server()
    conn.receive_data(INETUTILS_ANSWER)
    assert conn.receive_data(INETUTILS_ENTER) == [DataReceived(data=b"ls\r")]
    assert conn.receive_data(INETUTILS_SEND_BRK_AYT_IP) == [
        CommandReceived(command=Cmd.BRK), CommandReceived(command=Cmd.AYT), CommandReceived(command=Cmd.IP)]
    assert conn.anomalies.total == 0


def test_bsd_telnet_port23_opening_gets_one_answer_per_option() -> None:
    """RFC 1143: every offer is accepted or refused exactly once; crossing requests are not answered."""
    conn = _bridge_server()
    conn.receive_data(BSD_PORT23_OPENING)
    assert conn.data_to_send() == bytes.fromhex(
        "fffd18 fffd1f fffe20 fffe21 fffe22 fffe27 fffb05 fffe23")
    conn.receive_data(bytes.fromhex("fffc20 fffc21 fffc22 fffc27 fffc23"))
    assert conn.data_to_send() == b""


def test_pyserial_rfc2217_opening_and_configuration_are_acknowledged() -> None:
    """RFC 2217: pyserial's client gets WILL/DO COM-PORT, then each SET request becomes an event."""
    conn = _bridge_server()
    events = conn.receive_data(PYSERIAL_OPENING)
    assert events == [
        OptionEnabled(option=Opt.ECHO, side=Side.US),
        OptionEnabled(option=Opt.SGA, side=Side.HIM),
        OptionEnabled(option=Opt.SGA, side=Side.US),
        OptionEnabled(option=Opt.COM_PORT, side=Side.US),
        OptionEnabled(option=Opt.COM_PORT, side=Side.HIM),
    ]
    assert conn.data_to_send() == bytes.fromhex("fffb2c fffd2c")
    expected: list[Event] = [
        BaudRateRequested(baud=115200), DataSizeRequested(size=8), ParityRequested(parity=1),
        StopSizeRequested(stopsize=1), ControlRequested(value=1), ControlRequested(value=8),
        ControlRequested(value=11), PurgeRequested(value=1), PurgeRequested(value=2),
    ]
    assert conn.receive_data(PYSERIAL_CONFIGURE) == expected
    conn.ack_baud_rate(115200)
    conn.ack_data_size(8)
    conn.ack_parity(1)
    conn.ack_stop_size(1)
    for value in (1, 8, 11):
        conn.ack_control(value)
    conn.ack_purge(1)
    conn.ack_purge(2)
    # pyserial compares each answer's value with what it asked for (TelnetSubnegotiation.check_answer)
    assert conn.data_to_send() == PYSERIAL_CONFIGURE.replace(b"\xfa\x2c\x01", b"\xfa\x2c\x65").replace(
        b"\xfa\x2c\x02", b"\xfa\x2c\x66").replace(b"\xfa\x2c\x03", b"\xfa\x2c\x67").replace(
        b"\xfa\x2c\x04", b"\xfa\x2c\x68").replace(b"\xfa\x2c\x05", b"\xfa\x2c\x69").replace(
        b"\xfa\x2c\x0c", b"\xfa\x2c\x70")


def test_pyserial_data_without_binary_is_delivered_as_sent_with_bad_eol_counted() -> None:
    """RFC 854: pyserial's client never asks for BINARY and sends a bare CR; it is kept and counted."""
    conn = _bridge_server()
    conn.receive_data(PYSERIAL_OPENING)
    assert conn.receive_data(PYSERIAL_WRITE) == [DataReceived(data=b"hello\r\n\xff a\rb\r")]
    assert conn.anomalies.bad_eol == 1


def test_pyserial_data_under_binary_is_delivered_exactly() -> None:
    """RFC 856: once the server asks for BINARY both ways, pyserial agrees and bytes pass untouched."""
    conn = _bridge_server()
    conn.receive_data(PYSERIAL_OPENING)
    conn.request_enable(Opt.BINARY, Side.US)
    conn.request_enable(Opt.BINARY, Side.HIM)
    conn.receive_data(bytes.fromhex("fffd00 fffb00"))  # pyserial's answer, as captured
    assert conn.our_binary and conn.peer_binary
    assert conn.receive_data(PYSERIAL_WRITE) == [DataReceived(data=b"hello\r\n\xff a\rb\r\x00")]


def test_our_codes_match_pyserials() -> None:
    """RFC 2217: the command codes and the +100 offset agree with pyserial's implementation."""
    for command in ComPortCmd:
        if command is ComPortCmd.SIGNATURE:
            continue  # pyserial implements no SIGNATURE
        name = command.name
        assert getattr(pyserial_rfc2217, name) == bytes((command,))
        assert getattr(pyserial_rfc2217, "SERVER_" + name) == bytes((command + 100,))
    assert pyserial_rfc2217.COM_PORT_OPTION == bytes((Opt.COM_PORT,))
    assert pyserial_rfc2217.IAC + pyserial_rfc2217.DO + pyserial_rfc2217.ECHO == PYSERIAL_OPENING[:3]
