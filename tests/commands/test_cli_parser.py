"""The command line imports only the command it runs, and still offers every command (issue 10)."""

from __future__ import annotations

import pytest

from bridge.cli import COMMANDS, main


def test_the_top_level_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`serial-bridge --help` loads every command to list it."""
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS), out


@pytest.mark.parametrize("argv", [["status", "--help"], ["--debug", "status", "--help"]])
def test_a_commands_help_after_the_global_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A command named after --debug is the one parsed."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: serial-bridge status ")


def test_an_unknown_command_is_one_error_listing_them_all(capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped command is refused with the list of every command, as before."""
    with pytest.raises(SystemExit) as exit_:
        main(["stauts"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'stauts'" in err and all(f"'{name}'" in err for name in COMMANDS), err
