"""The control protocol's pure parts: request checking, settings, addresses."""

from __future__ import annotations

import os

import pytest

from bridge.control import schema
from bridge.control.address import (
    TcpAddress,
    UnixAddress,
    client_control_address,
    default_control_address,
    parse_address,
)
from bridge.control.model import PortInfo, human_age, settings_short


def test_decode_request_splits_op_and_args() -> None:
    """A good request line decodes into id, op and its arguments."""
    req = schema.decode_request(b'{"v":1,"id":3,"op":"kick","port":"a","session":2}')
    assert req == schema.Request(id=3, op="kick", args={"port": "a", "session": 2})


def test_bool_is_not_an_integer_id() -> None:
    """JSON true is not accepted where an integer is required."""
    with pytest.raises(schema.ProtocolError, match='integer "id"'):
        schema.decode_request(b'{"v":1,"id":true,"op":"list"}')


def test_encode_is_one_line() -> None:
    """An encoded message is compact JSON ending in exactly one newline."""
    line = schema.encode(schema.error_reply(4, "first line\nsecond line"))
    assert line == b'{"v":1,"id":4,"ok":false,"error":"first line","code":"bad-request"}\n'


@pytest.mark.parametrize(("words", "expected"), [
    (["baud=115200"], {"baud": 115200}),
    (["parity=EVEN", "stopbits=1.5"], {"parity": "even", "stopbits": 1.5}),
    (["stopbits=2", "bytesize=7", "flow=rtscts"], {"stopbits": 2, "bytesize": 7, "flow": "rtscts"}),
])
def test_setting_words_parse_into_checked_changes(words: list[str], expected: dict[str, object]) -> None:
    """KEY=VALUE words become typed, checked settings."""
    assert schema.parse_setting_words(words) == expected


@pytest.mark.parametrize(("words", "error"), [
    (["baud=fast"], "baud: 'fast' is not a number"),
    (["baud=0"], "baud: must be a positive integer, got 0"),
    (["baud=20000001"], "baud: must be at most 20000000, got 20000001"),
    (["bytesize=9"], "bytesize: must be an integer from 5 to 8, got 9"),
    (["stopbits=3"], "stopbits: must be 1, 1.5 or 2, got 3.0"),
    (["flow=magic"], 'flow: must be one of none | rtscts | xonxoff | dsrdtr, got "magic"'),
    ([], "settings must be a non-empty object"),
])
def test_bad_setting_words_name_the_key(words: list[str], error: str) -> None:
    """A bad setting gives one line that names the key."""
    with pytest.raises(ValueError, match="^" + error.replace(".", r"\.")):
        schema.parse_setting_words(words)


def test_check_settings_refuses_bool_baud() -> None:
    """true is not a baud rate."""
    with pytest.raises(ValueError, match="baud: must be a positive integer, got true"):
        schema.check_settings({"baud": True})


@pytest.mark.parametrize(("text", "address"), [
    ("/run/x/control.sock", UnixAddress("/run/x/control.sock")),
    ("control.sock", UnixAddress("control.sock")),
    ("127.0.0.1:7100", TcpAddress("127.0.0.1", 7100)),
    ("[::1]:7100", TcpAddress("::1", 7100)),
    ("localhost:9", TcpAddress("localhost", 9)),
])
def test_addresses_parse(text: str, address: object) -> None:
    """Paths are Unix sockets, HOST:PORT is TCP."""
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["", "host", "host:port", "h:70000", ":80"])
def test_bad_addresses_are_refused(text: str) -> None:
    """Anything else is a one-line ValueError."""
    with pytest.raises(ValueError):
        parse_address(text)


def test_loopback_detection() -> None:
    """Only loopback hosts count as loopback."""
    assert TcpAddress("127.0.0.2", 1).is_loopback and TcpAddress("::1", 1).is_loopback
    assert not TcpAddress("0.0.0.0", 1).is_loopback and not TcpAddress("example.org", 1).is_loopback


def test_default_address_uses_the_runtime_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """Without root, the default socket lives under $XDG_RUNTIME_DIR, else under /tmp per user."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert default_control_address() == f"{tmp_path}/serial-bridge/control.sock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert default_control_address() == f"/tmp/serial-bridge-{os.getuid()}/control.sock"


def test_client_address_prefers_an_existing_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """A client finds the user's socket when it exists and no system one does."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    sock = f"{tmp_path}/serial-bridge/control.sock"
    os.makedirs(os.path.dirname(sock))
    open(sock, "w").close()
    monkeypatch.setattr("bridge.control.address.SYSTEM_PATH", f"{tmp_path}/nothing.sock")
    assert client_control_address() == sock


def test_port_info_reads_json_and_ignores_unknown_fields() -> None:
    """PortInfo takes what it knows, defaults the rest, and formats settings."""
    info = PortInfo.from_json({"name": "a", "state": "up", "future": 1,
                               "settings": {"baud": 19200, "bytesize": 7, "parity": "odd",
                                            "stopbits": 2, "flow": "xonxoff"},
                               "sessions": [{"id": 1, "peer": "p", "extra": True}]})
    assert info.settings_short == "19200 7O2 xonxoff"
    assert info.sessions[0].peer == "p"
    assert settings_short({}) == "? ??1"


def test_human_age_is_short() -> None:
    """Ages read as now, seconds, minutes, hours, days."""
    assert [human_age(t, 100_000.0) for t in (None, 100_000.0, 99_958.0, 99_700.0, 90_000.0, 0.0)] == \
        ["-", "now", "42s", "5m", "2h", "1d"]


def test_client_address_finds_a_running_demo(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """With no daemon's socket, a client finds the demo's demo.sock (issue 13); a daemon's comes first."""
    from bridge.control.address import demo_control_address

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr("bridge.control.address.SYSTEM_PATH", f"{tmp_path}/nothing.sock")
    demo = demo_control_address()
    assert demo == f"{tmp_path}/serial-bridge/demo.sock"
    os.makedirs(os.path.dirname(demo))
    open(demo, "w").close()
    assert client_control_address() == demo
    daemon = f"{tmp_path}/serial-bridge/control.sock"
    open(daemon, "w").close()
    assert client_control_address() == daemon
