"""The simulated board's login, shell, line editing and firmware prompt, on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.demo.console import Phase
from bridge.demo.text import format_uptime
from tests.demo.helpers import (
    LOGIN_PROMPT,
    SHELL_PROMPT,
    UBOOT_PROMPT,
    WALL,
    at_countdown,
    booted,
    logged_in,
    run_timeline,
)

ISSUE = (b"\r\nDemo Linux 1.0 demo-board ttyS0 (simulated by serial-bridge)\r\n"
         b"Log in with  login: root  password: bridge\r\n\r\n")
WELCOME = (b"\r\nWelcome to the demo-board, a board simulated by serial-bridge.\r\n"
           b"Type 'help' for the commands.\r\n")
UNAME_A = b"Linux demo-board 6.1.0-demo #1 SMP PREEMPT Mon Jan  8 12:00:00 UTC 2024 armv7l GNU/Linux"


# -- login ------------------------------------------------------------------

def test_login_with_the_stated_credentials_reaches_the_shell_prompt() -> None:
    """root / bridge at the login prompt gives the welcome text and the root prompt."""
    console, now = booted()
    assert console.receive_data(b"root\r", now) == b"root\r\nPassword: "
    assert console.receive_data(b"bridge\r", now) == WELCOME + SHELL_PROMPT
    assert console.phase is Phase.SHELL


def test_the_password_is_not_echoed_but_backspace_still_edits_it() -> None:
    """Password keys print nothing; a backspace in the password erases silently."""
    console, now = booted()
    console.receive_data(b"root\r", now)
    assert console.receive_data(b"bridgX", now) == b""
    assert console.receive_data(b"\x7fe", now) == b""
    assert console.receive_data(b"\r", now) == WELCOME + SHELL_PROMPT


def test_a_wrong_password_says_login_incorrect_and_asks_again() -> None:
    """A wrong password prints "Login incorrect" and the login prompt."""
    console, now = booted()
    console.receive_data(b"root\r", now)
    assert console.receive_data(b"guess\r", now) == b"\r\nLogin incorrect\r\n" + LOGIN_PROMPT
    assert console.phase is Phase.LOGIN


def test_an_unknown_user_is_asked_for_a_password_then_refused() -> None:
    """An unknown user gets a password prompt too, and "Login incorrect" even with the right password."""
    console, now = booted()
    assert console.receive_data(b"admin\r", now) == b"admin\r\nPassword: "
    assert console.receive_data(b"bridge\r", now) == b"\r\nLogin incorrect\r\n" + LOGIN_PROMPT


def test_an_empty_login_shows_the_credentials_again() -> None:
    """Enter at the login prompt reprints the issue text (with the credentials) and the prompt."""
    console, now = booted()
    assert console.receive_data(b"\r", now) == b"\r\n" + ISSUE + LOGIN_PROMPT


def test_ctrl_c_at_the_password_prompt_goes_back_to_the_login_prompt() -> None:
    """Ctrl-C while typing the password prints ^C and asks for the login again."""
    console, now = booted()
    console.receive_data(b"root\rbrid", now)
    assert console.receive_data(b"\x03", now) == b"^C\r\n" + LOGIN_PROMPT
    assert console.receive_data(b"x", now) == b"x"  # echo is back on


# -- shell commands -----------------------------------------------------------

@pytest.mark.parametrize(("typed", "answer"), [
    (b"uname", b"Linux\r\n"),
    (b"uname -a", UNAME_A + b"\r\n"),
    (b"uname -n -r", b"demo-board 6.1.0-demo\r\n"),
    (b"uname -mrs", b"Linux 6.1.0-demo armv7l\r\n"),
    (b"uname -x", b"uname: invalid option -- 'x'\r\nTry 'uname --help' for more information.\r\n"),
    (b"uname foo", b"uname: extra operand 'foo'\r\nTry 'uname --help' for more information.\r\n"),
    (b"echo hello   world", b"hello world\r\n"),
    (b"echo 'two  spaces' \"and quotes\"", b"two  spaces and quotes\r\n"),
    (b"echo", b"\r\n"),
    (b"echo 'open", b"-sh: syntax error: unterminated quoted string\r\n"),
    (b"date", b"Tue Nov 14 22:13:20 UTC 2023\r\n"),
    (b"whoami", b"root\r\n"),
    (b"frobnicate --now", b"-sh: frobnicate: command not found\r\n"),
    (b"", b""),
    (b"   ", b""),
])
def test_a_shell_command_prints_its_answer_and_a_new_prompt(typed: bytes, answer: bytes) -> None:
    """Each command line is echoed, answered with exact lines, and followed by the prompt."""
    console, now = logged_in()
    assert console.receive_data(typed + b"\r", now) == typed + b"\r\n" + answer + SHELL_PROMPT


def test_help_lists_every_command() -> None:
    """help prints one line per command, and the keys."""
    console, now = logged_in()
    out = console.receive_data(b"help\r", now)
    assert out.startswith(b"help\r\nCommands on this simulated board:\r\n")
    for line in (b"  uname [-asnrvmo] system information", b"  uptime ", b"  echo [TEXT...]",
                 b"  date ", b"  whoami ", b"  reboot ", b"  exit, logout ", b"  help "):
        assert b"\r\n" + line in out
    assert out.endswith(b"\r\n" + SHELL_PROMPT)


def test_uptime_counts_board_seconds_since_power_on() -> None:
    """uptime reports the time of day and the board seconds since power on, scaled by time_scale."""
    console, now = logged_in(time_scale=0.01)
    out = console.receive_data(b"uptime\r", 1.25)  # 125 board seconds
    assert out == (b"uptime\r\n 22:13:20 up 2 min,  1 user,  load average: 0.00, 0.00, 0.00\r\n"
                   + SHELL_PROMPT)


@pytest.mark.parametrize(("seconds", "up"), [
    (59, "up 0 min,"),
    (3599, "up 59 min,"),
    (3600, "up  1:00,"),
    (86399, "up 23:59,"),
    (86400 + 65, "up 1 day, 1 min,"),
    (2 * 86400 + 3660, "up 2 days,  1:01,"),
])
def test_uptime_formats_minutes_hours_and_days_like_procps(seconds: float, up: str) -> None:
    """Under an hour "N min", under a day "H:MM", then "D day(s)," before either."""
    assert f" 22:13:20 {up}  1 user" in format_uptime(WALL, seconds)


@pytest.mark.parametrize("command", [b"exit", b"logout"])
def test_exit_and_logout_go_back_to_the_login_prompt(command: bytes) -> None:
    """exit and logout print "logout", the issue text and the login prompt."""
    console, now = logged_in()
    out = console.receive_data(command + b"\r", now)
    assert out == command + b"\r\nlogout\r\n" + ISSUE + LOGIN_PROMPT
    assert console.phase is Phase.LOGIN
    assert console.receive_data(b"root\r", now) == b"root\r\nPassword: "


def test_ctrl_d_on_an_empty_line_logs_out_and_is_ignored_after_text() -> None:
    """Ctrl-D logs out only on an empty line, as a login shell does."""
    console, now = logged_in()
    assert console.receive_data(b"ab\x04", now) == b"ab"
    assert console.receive_data(b"\x15\x04", now) == b"\b\b  \b\blogout\r\n" + ISSUE + LOGIN_PROMPT


def test_reboot_prints_the_shutdown_then_the_whole_boot_again() -> None:
    """reboot prints the shutdown lines, then the firmware banner, countdown and kernel, to the login prompt."""
    console, now = logged_in()
    first = console.receive_data(b"reboot\r", now + 42.5)
    assert first == (b"reboot\r\nThe system is going down NOW!\r\nSent SIGTERM to all processes\r\n"
                     b"Sent SIGKILL to all processes\r\nRequesting system reboot\r\n")
    assert console.receive_data(b"whoami\r", now + 42.6) == b""
    rest, _ = run_timeline(console, now + 42.6)
    assert rest.startswith(b"[   47.700000] reboot: Restarting system\r\n\r\nU-Boot SPL 2024.01")
    assert b"Hit any key to stop autoboot: 3 2 1 0\r\n" in rest
    assert rest.endswith(ISSUE + LOGIN_PROMPT)


def test_uptime_starts_again_after_a_reboot() -> None:
    """After a reboot, uptime counts from the new power on."""
    console, now = logged_in()
    console.receive_data(b"reboot\r", now + 600.0)
    _, now = run_timeline(console, now + 600.0)
    console.receive_data(b"root\rbridge\r", now)
    out = console.receive_data(b"uptime\r", now)
    assert b" up 0 min," in out


# -- line editing -----------------------------------------------------------

@pytest.mark.parametrize("enter", [b"\r", b"\n", b"\r\n", b"\r\x00"])
def test_cr_lf_crlf_and_cr_nul_are_each_one_enter(enter: bytes) -> None:
    """Each end of line runs the command once; no empty second command follows."""
    console, now = logged_in()
    assert console.receive_data(b"whoami" + enter, now) == b"whoami\r\nroot\r\n" + SHELL_PROMPT


@pytest.mark.parametrize("second", [b"\n", b"\x00"])
def test_a_cr_pair_split_across_two_reads_is_still_one_enter(second: bytes) -> None:
    """The LF or NUL after a CR is swallowed even when it comes in the next read."""
    console, now = logged_in()
    console.receive_data(b"whoami\r", now)
    assert console.receive_data(second, now) == b""
    assert console.receive_data(b"\r", now) == b"\r\n" + SHELL_PROMPT


@pytest.mark.parametrize("pair", [b"\r\r", b"\n\n", b"\n\r"])
def test_two_line_ends_that_are_not_a_pair_are_two_enters(pair: bytes) -> None:
    """CR CR, LF LF and LF CR are two Enters each."""
    console, now = logged_in()
    assert console.receive_data(pair, now) == (b"\r\n" + SHELL_PROMPT) * 2


@pytest.mark.parametrize("backspace", [b"\x08", b"\x7f"])
def test_backspace_and_delete_erase_the_last_character(backspace: bytes) -> None:
    """Backspace (0x08) and DEL (0x7f) erase one character, shown as BS SP BS."""
    console, now = logged_in()
    out = console.receive_data(b"whoamx" + backspace + b"i\r", now)
    assert out == b"whoamx\b \bi\r\nroot\r\n" + SHELL_PROMPT


def test_backspace_on_an_empty_line_prints_nothing() -> None:
    """There is nothing to erase at the start of the line, so nothing is printed."""
    console, now = logged_in()
    assert console.receive_data(b"\x7f\x08", now) == b""


def test_ctrl_c_prints_caret_c_and_a_new_prompt_and_drops_the_line() -> None:
    """Ctrl-C prints ^C, a new prompt, and forgets what was typed."""
    console, now = logged_in()
    assert console.receive_data(b"echo hi\x03", now) == b"echo hi^C\r\n" + SHELL_PROMPT
    assert console.receive_data(b"\r", now) == b"\r\n" + SHELL_PROMPT


def test_ctrl_u_erases_the_whole_line() -> None:
    """Ctrl-U erases every typed character on screen and in the line."""
    console, now = logged_in()
    assert console.receive_data(b"abc\x15", now) == b"abc\b\b\b   \b\b\b"
    assert console.receive_data(b"whoami\r", now) == b"whoami\r\nroot\r\n" + SHELL_PROMPT


def test_arrow_keys_and_other_escape_sequences_are_skipped() -> None:
    """Cursor keys (ESC [ A, ESC O B) and Alt-x are neither echoed nor kept in the line."""
    console, now = logged_in()
    out = console.receive_data(b"who\x1b[A\x1bOBam\x1b[1;5C\x1bxi\r", now)
    assert out == b"whoami\r\nroot\r\n" + SHELL_PROMPT


def test_control_bytes_and_bytes_above_ascii_are_ignored() -> None:
    """Tab, Ctrl-A and non-ASCII bytes are neither echoed nor kept."""
    console, now = logged_in()
    assert console.receive_data(b"who\t\x01\xc3\xa9ami\r", now) == b"whoami\r\nroot\r\n" + SHELL_PROMPT


def test_a_line_longer_than_the_limit_rings_the_bell() -> None:
    """Past 256 characters each further key rings the bell and is not kept."""
    console, now = logged_in()
    out = console.receive_data(b"a" * 260, now)
    assert out == b"a" * 256 + b"\x07" * 4
    assert console.receive_data(b"\r", now) == b"\r\n-sh: " + b"a" * 256 + b": command not found\r\n" + SHELL_PROMPT


# -- the firmware prompt ----------------------------------------------------

def test_firmware_help_lists_its_commands() -> None:
    """help at "=> " lists boot, help, printenv, reset and version."""
    console, now = at_countdown()
    console.receive_data(b" ", now)
    out = console.receive_data(b"help\r", now)
    for command in (b"boot ", b"help ", b"printenv ", b"reset ", b"version "):
        assert b"\r\n" + command in out
    assert out.endswith(b"\r\n" + UBOOT_PROMPT)


def test_firmware_printenv_prints_the_variables_and_the_size() -> None:
    """printenv prints name=value lines, including the baud rate and the boot delay, then the size."""
    console, now = at_countdown()
    console.receive_data(b" ", now)
    out = console.receive_data(b"printenv\r", now)
    assert b"\r\nbaudrate=115200\r\n" in out
    assert b"\r\nbootdelay=3\r\n" in out
    assert out.endswith(b"\r\n\r\nEnvironment size: 195/65532 bytes\r\n" + UBOOT_PROMPT)


def test_firmware_version_prints_the_firmware_and_toolchain() -> None:
    """version prints the U-Boot version line and the compiler."""
    console, now = at_countdown()
    console.receive_data(b" ", now)
    out = console.receive_data(b"version\r", now)
    assert out.startswith(b"version\r\n\r\nU-Boot 2024.01 (Jan 08 2024 - 12:00:00 +0000) serial-bridge demo\r\n")
    assert out.endswith(b"arm-linux-gnueabihf-gcc (GCC) 12.2.0\r\nGNU ld (GNU Binutils) 2.40\r\n" + UBOOT_PROMPT)


def test_an_unknown_firmware_command_says_to_try_help() -> None:
    """An unknown command at "=> " prints U-Boot's hint."""
    console, now = at_countdown()
    console.receive_data(b" ", now)
    out = console.receive_data(b"bootm 0x42000000\r", now)
    assert out == b"bootm 0x42000000\r\nUnknown command 'bootm' - try 'help'\r\n" + UBOOT_PROMPT


def test_firmware_boot_runs_the_kernel_to_the_login_prompt_without_a_countdown() -> None:
    """boot at "=> " loads the kernel at once and ends at the login prompt."""
    console, now = at_countdown()
    console.receive_data(b" ", now)
    first = console.receive_data(b"boot\r", now)
    assert first == b"boot\r\nswitch to partitions #0, OK\r\nmmc0 is current device\r\n" \
        b"Scanning mmc 0:1...\r\nFound /boot/extlinux/extlinux.conf\r\nRetrieving file: /boot/zImage\r\n"
    rest, _ = run_timeline(console, now)
    assert b"autoboot" not in rest
    assert rest.endswith(ISSUE + LOGIN_PROMPT)


def test_firmware_reset_starts_the_boot_over_with_a_countdown() -> None:
    """reset at "=> " prints "resetting ..." and after half a second the boot starts again."""
    console, now = at_countdown()
    console.receive_data(b" ", now)
    assert console.receive_data(b"reset\r", now) == b"reset\r\nresetting ...\r\n"
    assert console.next_deadline() == pytest.approx(now + 0.5)
    rest, _ = run_timeline(console, now)
    assert rest.startswith(b"\r\nU-Boot SPL 2024.01")
    assert b"Hit any key to stop autoboot: 3 2 1 0\r\n" in rest


def test_ctrl_c_at_the_firmware_prompt_prints_caret_c_and_the_prompt() -> None:
    """Ctrl-C at "=> " drops the line and prints a new prompt."""
    console, now = at_countdown()
    console.receive_data(b" ", now)
    assert console.receive_data(b"pri\x03", now) == b"pri^C\r\n" + UBOOT_PROMPT


# -- properties -------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_any_chunking_of_typed_bytes_prints_the_same(data: bytes, cuts: list[int]) -> None:
    """Typed bytes split into reads anywhere give the same output as one read, and never raise."""
    whole, now = logged_in()
    expected = whole.receive_data(data, now)
    chunked, now = logged_in()
    out = bytearray()
    start = 0
    for cut in sorted({min(cut, len(data)) for cut in cuts} | {len(data)}):
        out += chunked.receive_data(data[start:cut], now)
        start = cut
    assert bytes(out) == expected
    assert chunked.phase is whole.phase


@settings(max_examples=100, deadline=None)
@given(events=st.lists(st.one_of(st.binary(max_size=20), st.none()), max_size=30),
       gaps=st.lists(st.floats(0, 2), min_size=30, max_size=30))
def test_random_keys_and_breaks_at_random_times_never_raise(
        events: list[bytes | None], gaps: list[float]) -> None:
    """Any sequence of typed bytes (None: a break) from power on leaves the console working."""
    console, _ = at_countdown()
    now = 0.0
    for event, gap in zip(events, gaps):
        now += gap
        if event is None:
            console.receive_break(now)
        else:
            console.receive_data(event, now)
    run_timeline(console, now)
    assert console.phase in (Phase.UBOOT, Phase.LOGIN, Phase.PASSWORD, Phase.SHELL)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_output_is_ascii_and_every_lf_follows_a_cr(data: bytes) -> None:
    """Whatever is typed, the board prints only ASCII, and never a bare LF (lines end in CR LF)."""
    console, now = logged_in()
    out = console.receive_data(data, now) + console.receive_break(now)
    out += run_timeline(console, now)[0]
    assert out.isascii()
    assert out.count(b"\n") == out.count(b"\r\n")
