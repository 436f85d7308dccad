"""The attach console: keys to the device, output through the terminal emulator."""

from __future__ import annotations

from bridge.dashboard.screens.console import ConsoleScreen
from bridge.dashboard.screens.main import MainScreen
from tests.control.helpers import async_test
from tests.dashboard.helpers import dashboard, until


@async_test
async def test_console_renders_full_screen_output_and_sends_keys() -> None:
    """a attaches; cursor addressing lands where it says; typed keys reach the session in order."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        session = target.attached[0]
        session.on_output(b"\x1b[2J\x1b[5;10H\x1b[7mMain menu\x1b[0m\x1b[24;1Hlast line")
        await until(pilot, lambda: screen.terminal.display_lines()[4][9:18] == "Main menu")
        lines = screen.terminal.display_lines()
        assert lines[23].rstrip() == "last line"
        assert screen.terminal.screen_model.buffer[4][9].reverse
        await pilot.press("l", "s", "enter", "ctrl+c", "up", "ctrl+p", "ctrl+q")
        await until(pilot, lambda: b"".join(session.written) == b"ls\r\x03\x1b[A\x10\x11")
        assert isinstance(app.screen, ConsoleScreen)


@async_test
async def test_console_cursor_keys_follow_application_mode() -> None:
    """After the device asks for application cursor keys, arrows are sent as ESC O A."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
        target.attached[0].on_output(b"\x1b[?1h")
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        await until(pilot, lambda: screen.terminal.application_cursor)
        await pilot.press("up")
        await until(pilot, lambda: target.attached[0].written == [b"\x1bOA"])


@async_test
async def test_console_break_key_and_leave_key() -> None:
    """F2 sends a break through the attached session; Ctrl-] detaches and goes back."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("down", "a")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
        session = target.attached[0]
        assert session.port == "sw1"
        await pilot.press("f2")
        await until(pilot, lambda: session.breaks == 1)
        await pilot.press("ctrl+right_square_bracket")
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and session.closed)
        assert session.written == []


@async_test
async def test_console_closes_when_the_bridge_ends_the_session() -> None:
    """When the bridge closes the attached session, the console says why and goes back."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
        target.attached[0].on_close("kicked by the operator")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert ("warning", "", "console of rtr1 closed: kicked by the operator") in app.notices


@async_test
async def test_console_that_cannot_attach_says_why_and_closes() -> None:
    """A refused attach (here: an unknown port) closes the console with one line."""
    async with dashboard() as (app, pilot, (target,)):
        del target.ports["rtr1"]  # the table still shows it; the bridge no longer has it
        await pilot.press("a")
        await until(pilot, lambda: any(n[2] == "cannot attach to rtr1: no such port 'rtr1'"
                                       for n in app.notices))
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
