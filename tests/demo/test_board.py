"""The simulated board on a real pseudo-terminal, driven through the slave path as a bridge would."""

from __future__ import annotations

import asyncio
import os
import termios
from collections.abc import Awaitable, Callable

import pytest

from bridge.demo import Phase, SimulatedBoard
from tests.demo.helpers import LOGIN_PROMPT, SHELL_PROMPT, UBOOT_PROMPT, Terminal

FAST = 0.01


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run one async scenario in a fresh event loop, bounded in time."""
    async def bounded() -> None:
        async with asyncio.timeout(20):
            await scenario()
    asyncio.run(bounded())


async def log_in(term: Terminal) -> None:
    """From the login prompt to the shell prompt."""
    await term.write(b"root\r")
    assert await term.read_until(b"Password: ") == b"root\r\nPassword: "
    await term.write(b"bridge\r")
    await term.read_until(SHELL_PROMPT)


def test_the_device_is_a_raw_pty_at_115200_baud() -> None:
    """The slave path is a tty in raw mode (no echo, no canonical input, no output processing) at 115200."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=FAST) as board:
            assert board.path.startswith("/dev/pts/")
            fd = os.open(board.path, os.O_RDWR | os.O_NOCTTY)
            try:
                iflag, oflag, _, lflag, ispeed, ospeed, _ = termios.tcgetattr(fd)
            finally:
                os.close(fd)
            assert (ispeed, ospeed) == (termios.B115200, termios.B115200)
            assert lflag & (termios.ECHO | termios.ICANON | termios.ISIG) == 0
            assert oflag & termios.OPOST == 0
            assert iflag & (termios.ICRNL | termios.IXON) == 0
    run(scenario)


def test_the_board_boots_to_the_login_prompt_on_the_pty() -> None:
    """Reading the slave gives the firmware banner, the countdown, the kernel and the login prompt."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=FAST) as board:
            term = Terminal(board.path)
            boot = await term.read_until(LOGIN_PROMPT)
            term.close()
            assert boot.startswith(b"\r\nU-Boot SPL 2024.01")
            assert b"login: root  password: bridge\r\n" in boot
            assert b"Hit any key to stop autoboot: 3 2 1 0\r\n" in boot
            assert board.phase is Phase.LOGIN
    run(scenario)


def test_a_login_and_a_command_over_the_pty_give_exact_lines() -> None:
    """Typed bytes written to the slave are echoed by the board and answered, byte for byte."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=FAST) as board:
            term = Terminal(board.path)
            await term.read_until(LOGIN_PROMPT)
            await log_in(term)
            await term.write(b"uname -a\r\n")
            answer = await term.read_until(SHELL_PROMPT)
            await term.write(b"echo over the pty\r\x00")
            echo = await term.read_until(SHELL_PROMPT)
            term.close()
            assert answer == (b"uname -a\r\nLinux demo-board 6.1.0-demo #1 SMP PREEMPT "
                              b"Mon Jan  8 12:00:00 UTC 2024 armv7l GNU/Linux\r\n" + SHELL_PROMPT)
            assert echo == b"echo over the pty\r\nover the pty\r\n" + SHELL_PROMPT
    run(scenario)


def test_receive_break_at_the_shell_prints_a_notice_on_the_pty() -> None:
    """A break handed to the board (a pty cannot carry one) shows "[break received]" and a prompt."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=FAST) as board:
            term = Terminal(board.path)
            await term.read_until(LOGIN_PROMPT)
            await log_in(term)
            board.receive_break()
            notice = await term.read_until(SHELL_PROMPT)
            term.close()
            assert notice == b"\r\n[break received]\r\n" + SHELL_PROMPT
    run(scenario)


def test_receive_break_during_the_countdown_stops_autoboot() -> None:
    """A break while the countdown runs prints "autoboot interrupted" and the firmware prompt."""
    async def scenario() -> None:
        # at full speed the countdown lasts three seconds, so the break surely lands in it
        async with SimulatedBoard(time_scale=1.0) as board:
            term = Terminal(board.path)
            await term.read_until(b"Hit any key to stop autoboot: 3")
            assert board.phase is Phase.AUTOBOOT
            board.receive_break()
            after = await term.read_until(UBOOT_PROMPT)
            await term.write(b"printenv\r")
            env = await term.read_until(UBOOT_PROMPT)
            term.close()
            assert after == b"\r\nautoboot interrupted\r\n" + UBOOT_PROMPT
            assert env.startswith(b"printenv\r\narch=arm\r\n")
            assert b"\r\nbaudrate=115200\r\n" in env  # the firmware prompt answered
    run(scenario)


def test_a_key_typed_during_the_countdown_stops_autoboot() -> None:
    """A key written to the slave during the countdown ends it at the firmware prompt."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=1.0) as board:
            term = Terminal(board.path)
            await term.read_until(b"Hit any key to stop autoboot: 3")
            await term.write(b"\r")
            after = await term.read_until(UBOOT_PROMPT)
            term.close()
            assert after == b" 0\r\n" + UBOOT_PROMPT
    run(scenario)


def test_closing_and_reopening_the_device_keeps_the_board_and_what_it_printed() -> None:
    """The board holds the slave open: output printed while nobody has the device open waits for the next reader."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=FAST) as board:
            first = Terminal(board.path)
            await first.read_until(LOGIN_PROMPT)
            await log_in(first)
            await first.write(b"whoami\r")
            first.close()
            second = Terminal(board.path)
            late = await second.read_until(SHELL_PROMPT)
            await second.write(b"echo again\r")
            again = await second.read_until(SHELL_PROMPT)
            second.close()
            assert late == b"whoami\r\nroot\r\n" + SHELL_PROMPT
            assert again == b"echo again\r\nagain\r\n" + SHELL_PROMPT
    run(scenario)


def test_output_held_back_while_the_pty_is_full_arrives_whole_and_in_order() -> None:
    """Echoes of 100 KiB typed while nobody reads are kept, then all delivered: 256 echoes, then bells."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=FAST) as board:
            term = Terminal(board.path)
            await term.read_until(LOGIN_PROMPT)
            term.pause()
            size = 100 * 1024  # more than a pty holds (about 68 KiB on Linux)
            await term.write(b"a" * size)
            term.resume()
            out = await term.read_count(size)
            term.close()
            assert out == b"a" * 256 + b"\x07" * (size - 256)
            assert board.dropped == 0
    run(scenario)


def test_reset_starts_the_boot_again() -> None:
    """reset() at the shell prints the firmware banner again, and the boot ends at the login prompt."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=FAST) as board:
            term = Terminal(board.path)
            await term.read_until(LOGIN_PROMPT)
            await log_in(term)
            board.reset()
            again = await term.read_until(LOGIN_PROMPT)
            term.close()
            assert again.startswith(b"\r\nU-Boot SPL 2024.01")
            assert b"Starting kernel ...\r\n" in again
    run(scenario)


def test_reboot_typed_at_the_shell_boots_again_on_the_pty() -> None:
    """reboot prints the shutdown, then the boot runs again on its timer to the login prompt."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=FAST) as board:
            term = Terminal(board.path)
            await term.read_until(LOGIN_PROMPT)
            await log_in(term)
            await term.write(b"reboot\r")
            again = await term.read_until(LOGIN_PROMPT)
            term.close()
            assert again.startswith(b"reboot\r\nThe system is going down NOW!\r\n")
            assert b"reboot: Restarting system\r\n\r\nU-Boot SPL 2024.01" in again
    run(scenario)


def test_stop_closes_the_pty_and_can_be_called_twice() -> None:
    """After stop the device path no longer opens, and a second stop or close is harmless."""
    async def scenario() -> None:
        board = SimulatedBoard(time_scale=FAST)
        board.start()
        path = board.path
        await board.stop()
        await board.stop()
        board.close()
        assert not board.running
        with pytest.raises(OSError):
            os.close(os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
    run(scenario)


def test_a_reader_sees_the_pty_end_when_the_board_stops() -> None:
    """A terminal open on the device gets end-of-file (EIO) once the board stops."""
    async def scenario() -> None:
        board = SimulatedBoard(time_scale=FAST)
        board.start()
        term = Terminal(board.path)
        await term.read_until(LOGIN_PROMPT)
        board.close()
        with pytest.raises(AssertionError, match="the pty closed"):
            await term.read_until(b"never printed")
        term.close()
    run(scenario)


def test_misuse_gives_one_clear_error() -> None:
    """path, receive_break and reset before start, and a second start, raise RuntimeError."""
    async def scenario() -> None:
        board = SimulatedBoard(time_scale=FAST)
        with pytest.raises(RuntimeError, match="not started"):
            _ = board.path
        with pytest.raises(RuntimeError, match="not started"):
            board.receive_break()
        with pytest.raises(RuntimeError, match="not started"):
            board.reset()
        board.start()
        with pytest.raises(RuntimeError, match="already started"):
            board.start()
        await board.stop()
    run(scenario)


def test_start_outside_an_event_loop_is_refused() -> None:
    """start() needs a running event loop and says so."""
    with pytest.raises(RuntimeError, match="no running event loop"):
        SimulatedBoard().start()


def test_bad_constructor_arguments_are_refused() -> None:
    """A bad name or time scale is refused before any pty is opened."""
    with pytest.raises(ValueError, match="host name"):
        SimulatedBoard(name="no spaces please")
    with pytest.raises(ValueError, match="time scale"):
        SimulatedBoard(time_scale=0)


def test_the_name_reaches_the_prompts_on_the_pty() -> None:
    """A board named "lab-3" boots to "lab-3 login: "."""
    async def scenario() -> None:
        async with SimulatedBoard(FAST, "lab-3") as board:
            term = Terminal(board.path)
            boot = await term.read_until(b"lab-3 login: ")
            term.close()
            assert b"Model: serial-bridge Demo Board (lab-3)\r\n" in boot
            assert board.name == "lab-3"
    run(scenario)


def test_wait_for_phase_returns_once_the_board_is_at_the_login_prompt() -> None:
    """wait_for_phase(LOGIN) returns after the boot, and an Enter then gets the issue and login prompt."""
    async def scenario() -> None:
        async with SimulatedBoard(time_scale=FAST) as board:
            await board.wait_for_phase(Phase.LOGIN)
            await board.wait_for_phase(Phase.LOGIN)  # already there: at once
            term = Terminal(board.path)
            await term.write(b"\r")
            boot = await term.read_until(LOGIN_PROMPT)  # printed before the device was opened
            again = await term.read_until(LOGIN_PROMPT)
            term.close()
            assert boot.startswith(b"\r\nU-Boot SPL")
            assert again == (b"\r\n\r\nDemo Linux 1.0 demo-board ttyS0 (simulated by serial-bridge)\r\n"
                             b"Log in with  login: root  password: bridge\r\n\r\n" + LOGIN_PROMPT)
    run(scenario)


def test_wait_for_phase_fails_when_the_board_stops() -> None:
    """A task waiting for a phase gets RuntimeError when the board stops instead."""
    async def scenario() -> None:
        board = SimulatedBoard(time_scale=1.0)
        board.start()
        waiting = asyncio.create_task(board.wait_for_phase(Phase.SHELL))
        await board.wait_for_phase(Phase.AUTOBOOT)
        await board.stop()
        with pytest.raises(RuntimeError, match="stopped"):
            await waiting
    run(scenario)
