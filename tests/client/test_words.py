"""The escape key and command words shared by `connect` and the dashboard (bridge/control/console.py)."""

from __future__ import annotations

import pytest

from bridge.control.console import (
    COMMAND_WORDS,
    DEFAULT_ESCAPE,
    Command,
    escape_name,
    parse_command,
    parse_escape,
    parse_framing,
    textual_key,
)
from bridge.dashboard.keymap import LEAVE_KEY


@pytest.mark.parametrize(("text", "code"), [
    ("^]", 0x1D), ("ctrl-]", 0x1D), ("Ctrl+A", 0x01), ("^a", 0x01), ("0x1d", 0x1D), ("~", 0x7E),
    ("^?", 0x7F), ("^@", 0x00),
])
def test_escape_keys_are_read_in_every_usual_notation(text: str, code: int) -> None:
    assert parse_escape(text) == code


@pytest.mark.parametrize("text", ["", "ctrl-1", "0x80", "ab", "é"])
def test_a_bad_escape_key_is_one_line(text: str) -> None:
    with pytest.raises(ValueError, match="escape key") as info:
        parse_escape(text)
    assert "\n" not in str(info.value)


def test_escape_names_for_people_and_for_textual() -> None:
    assert escape_name(0x1D) == "Ctrl-]"
    assert escape_name(0x01) == "Ctrl-A"
    assert textual_key(0x1D) == "ctrl+right_square_bracket"
    assert textual_key(0x01) == "ctrl+a"


def test_the_dashboard_console_leaves_on_the_clients_escape_key() -> None:
    """Both halves share the key: the dashboard's leave key is textual's name of connect's default."""
    assert LEAVE_KEY == textual_key(DEFAULT_ESCAPE) == "ctrl+right_square_bracket"


def test_every_word_of_the_interface_is_known() -> None:
    """INTERFACE.md lists these words for the prompt."""
    names = {w.name for w in COMMAND_WORDS}
    assert names == {"break", "baud", "framing", "flow", "dtr", "rts", "ayt", "history", "log",
                     "send", "status", "help", "quit"}


@pytest.mark.parametrize(("line", "command"), [
    ("break", Command("break")),
    ("  baud 115200 ", Command("baud", ("115200",))),
    ("framing 7e1", Command("framing", ("7e1",))),
    ("flow RTSCTS", Command("flow", ("RTSCTS",))),
    ("dtr off", Command("dtr", ("off",))),
    ("log /tmp/my console.log", Command("log", ("/tmp/my console.log",))),
    ("send a file", Command("send", ("a file",))),
    ("st", Command("status")),
    ("QUIT", Command("quit")),
])
def test_prompt_lines_parse(line: str, command: Command) -> None:
    assert parse_command(line) == command


def test_an_empty_line_is_no_command() -> None:
    assert parse_command("   ") is None


@pytest.mark.parametrize(("line", "message"), [
    ("frobnicate", "unknown command 'frobnicate'; commands: break, baud N"),
    ("baud", "usage: baud N"),
    ("baud fast", "baud 'fast': a whole number"),
    ("baud 0", "baud '0'"),
    ("framing 9N1", "framing '9N1'"),
    ("flow maybe", "flow 'maybe': one of none, rtscts, xonxoff"),
    ("dtr 1", "dtr '1': on or off"),
    ("log", "usage: log FILE|off"),
    ("quit now", "usage: quit"),
    ("s", "unknown command 's'"),  # send or status: ambiguous
])
def test_bad_prompt_lines_get_one_line_of_help(line: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_command(line)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_framing_reads_and_writes_the_usual_short_form() -> None:
    framing = parse_framing("7E1.5")
    assert (framing.bytesize, framing.parity, framing.stopbits) == (7, "even", 1.5)
    assert str(framing) == "7E1.5"
    assert str(parse_framing("8n1")) == "8N1"
