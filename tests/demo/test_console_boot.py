"""The simulated board's boot, countdown and breaks, on a fake clock (no pty, no asyncio)."""

from __future__ import annotations

import math

import pytest

from bridge.demo.console import BoardConsole, Phase
from tests.demo.helpers import (
    LOGIN_PROMPT,
    SHELL_PROMPT,
    UBOOT_PROMPT,
    at_countdown,
    booted,
    logged_in,
    make_console,
    run_timeline,
    timeline,
)

ISSUE = (b"\r\nDemo Linux 1.0 demo-board ttyS0 (simulated by serial-bridge)\r\n"
         b"Log in with  login: root  password: bridge\r\n\r\n")


def test_power_on_prints_the_spl_banner_at_once_and_waits_for_the_first_deadline() -> None:
    """power_on prints the first-stage loader's lines and nothing more until 0.3 board seconds."""
    console = make_console()
    first = console.power_on(10.0)
    assert first == (b"\r\nU-Boot SPL 2024.01 (Jan 08 2024 - 12:00:00 +0000)\r\n"
                     b"DRAM: 512 MiB\r\nTrying to boot from MMC1\r\n")
    assert console.phase is Phase.BOOTING
    assert console.next_deadline() == pytest.approx(10.3)
    assert console.tick(10.29) == b""


def test_countdown_prints_one_number_a_second_on_the_autoboot_line() -> None:
    """The autoboot line reads "Hit any key to stop autoboot: 3 2 1 0", a number each second."""
    console = make_console()
    console.power_on(0.0)
    steps = timeline(console)
    times = {text: at for at, text in steps}
    banner = next(text for text in times if text.endswith(b"Hit any key to stop autoboot: 3"))
    assert b"Model: serial-bridge Demo Board (demo-board)\r\n" in banner
    assert b"DRAM:  512 MiB\r\n" in banner
    assert times[banner] == pytest.approx(0.3)
    assert times[b" 2"] == pytest.approx(1.3)
    assert times[b" 1"] == pytest.approx(2.3)
    end = next(text for text in times if text.startswith(b" 0\r\n"))
    assert end.startswith(b" 0\r\nswitch to partitions #0, OK\r\n")
    assert times[end] == pytest.approx(3.3)


def test_boot_ends_at_the_login_prompt_below_the_credentials() -> None:
    """The boot runs the kernel messages and ends with the issue text naming the credentials."""
    console = make_console()
    out = console.power_on(0.0)
    rest, end = run_timeline(console, 0.0)
    out += rest
    assert b"Hit any key to stop autoboot: 3 2 1 0\r\n" in out
    assert b"Starting kernel ...\r\n" in out
    assert b"[    0.415320] printk: console [ttyS0] enabled\r\n" in out
    assert out.endswith(b"Starting network: OK\r\n" + ISSUE + LOGIN_PROMPT)
    assert out.count(LOGIN_PROMPT) == 1
    assert console.phase is Phase.LOGIN
    assert console.next_deadline() is None
    assert end == pytest.approx(5.2)


def test_time_scale_multiplies_every_delay_of_the_boot() -> None:
    """At time_scale 0.01 every deadline of the boot comes 100 times sooner, with the same output."""
    slow, fast = make_console(1.0), make_console(0.01)
    slow.power_on(0.0)
    fast.power_on(0.0)
    slow_steps, fast_steps = timeline(slow), timeline(fast)
    assert [text for _, text in fast_steps] == [text for _, text in slow_steps]
    assert [at for at, _ in fast_steps] == pytest.approx([at / 100 for at, _ in slow_steps])


def test_a_late_tick_prints_every_step_that_is_due_in_order() -> None:
    """A tick long after power on prints the rest of the boot in one piece, in order."""
    stepwise = make_console()
    stepwise.power_on(0.0)
    expected, _ = run_timeline(stepwise, 0.0)
    late = make_console()
    late.power_on(0.0)
    assert late.tick(1000.0) == expected
    assert late.next_deadline() is None


def test_input_before_power_on_and_while_booting_is_dropped() -> None:
    """Bytes typed while the board is off or printing kernel messages get no echo and no effect."""
    console = make_console()
    assert console.receive_data(b"root\r", 0.0) == b""
    assert console.receive_break(0.0) == b""
    console.power_on(0.0)
    assert console.receive_data(b"root\r", 0.1) == b""
    assert console.next_deadline() == pytest.approx(0.3)


def test_a_key_during_the_countdown_stops_autoboot_at_the_firmware_prompt() -> None:
    """Any key during the countdown ends the count at 0 and shows the "=> " prompt, as U-Boot does."""
    console, now = at_countdown()
    assert console.receive_data(b"x", now + 0.5) == b" 0\r\n" + UBOOT_PROMPT
    assert console.phase is Phase.UBOOT
    assert console.next_deadline() is None


def test_cr_lf_during_the_countdown_counts_as_one_key() -> None:
    """CR LF during the countdown stops autoboot; the LF does not also reach the firmware prompt."""
    console, now = at_countdown()
    assert console.receive_data(b"\r\n", now) == b" 0\r\n" + UBOOT_PROMPT


def test_a_break_during_the_countdown_says_autoboot_interrupted() -> None:
    """A break during the countdown prints "autoboot interrupted" and drops to the firmware prompt."""
    console, now = at_countdown()
    console.tick(now + 1.0)  # " 2"
    assert console.receive_break(now + 1.5) == b"\r\nautoboot interrupted\r\n" + UBOOT_PROMPT
    assert console.phase is Phase.UBOOT
    assert console.next_deadline() is None


def test_a_break_that_comes_after_the_countdown_ended_does_not_stop_the_boot() -> None:
    """A break whose time is past the end of the count prints the due output first and the boot goes on."""
    console, now = at_countdown()
    out = console.receive_break(now + 3.05)
    assert out.startswith(b" 2 1 0\r\nswitch to partitions #0, OK\r\n")
    assert out.endswith(b"Retrieving file: /boot/zImage\r\n[break received]\r\n")
    assert console.phase is Phase.BOOTING
    rest, _ = run_timeline(console, now + 3.05)
    assert rest.endswith(LOGIN_PROMPT)


def test_a_break_while_the_kernel_boots_prints_a_notice_line() -> None:
    """A break between kernel messages prints "[break received]" on its own line and the boot goes on."""
    console, now = at_countdown()
    console.tick(now + 3.0)
    assert console.receive_break(now + 3.1) == b"[break received]\r\n"
    rest, _ = run_timeline(console, now + 3.1)
    assert rest.endswith(LOGIN_PROMPT)


def test_a_break_at_the_shell_prints_a_notice_and_a_fresh_prompt() -> None:
    """A break at the shell drops the half-typed line, prints "[break received]" and the prompt."""
    console, now = logged_in()
    console.receive_data(b"ech", now)
    assert console.receive_break(now) == b"\r\n[break received]\r\n" + SHELL_PROMPT
    assert console.receive_data(b"whoami\r", now) == b"whoami\r\nroot\r\n" + SHELL_PROMPT


def test_a_break_at_the_login_prompt_prints_a_notice_and_the_login_prompt() -> None:
    """A break at the login prompt prints "[break received]" and asks for the login again."""
    console, now = booted()
    assert console.receive_break(now) == b"\r\n[break received]\r\n" + LOGIN_PROMPT
    assert console.phase is Phase.LOGIN


def test_a_break_at_the_password_prompt_goes_back_to_the_login_prompt() -> None:
    """A break while the password is typed abandons the login."""
    console, now = booted()
    console.receive_data(b"root\rbri", now)
    assert console.receive_break(now) == b"\r\n[break received]\r\n" + LOGIN_PROMPT
    assert console.receive_data(b"dge\r", now) == b"dge\r\nPassword: "


def test_a_break_at_the_firmware_prompt_prints_a_notice_and_the_prompt() -> None:
    """A break at "=> " prints "[break received]" and the firmware prompt again."""
    console, now = at_countdown()
    console.receive_data(b" ", now)
    assert console.receive_break(now) == b"\r\n[break received]\r\n" + UBOOT_PROMPT


def test_power_on_again_restarts_the_boot_from_any_phase() -> None:
    """power_on at the shell starts the boot over, and typed bytes are dropped again."""
    console, now = logged_in()
    again = console.power_on(now)
    assert again.startswith(b"\r\nU-Boot SPL 2024.01")
    assert console.phase is Phase.BOOTING
    assert console.receive_data(b"whoami\r", now) == b""


@pytest.mark.parametrize("name", ["", "two words", "-lead", "trail-", "a" * 64, "x_y"])
def test_a_name_that_is_not_a_host_name_is_refused(name: str) -> None:
    """A board name must be a host name: letters, digits and inner hyphens, at most 63."""
    with pytest.raises(ValueError, match="host name"):
        BoardConsole(name)


@pytest.mark.parametrize("scale", [0.0, -1.0, math.nan, math.inf])
def test_a_time_scale_that_is_not_positive_and_finite_is_refused(scale: float) -> None:
    """A time scale of zero, below zero, NaN or infinity is refused with one clear message."""
    with pytest.raises(ValueError, match="time scale must be a positive number"):
        BoardConsole("demo-board", scale)


def test_the_name_appears_in_the_prompts_and_the_model_line() -> None:
    """A board named "rtr7" says so in the firmware banner and at the login prompt."""
    console = BoardConsole("rtr7", 1.0, lambda: 0.0)
    out = console.power_on(0.0) + run_timeline(console, 0.0)[0]
    assert b"Model: serial-bridge Demo Board (rtr7)\r\n" in out
    assert out.endswith(b"rtr7 login: ")
