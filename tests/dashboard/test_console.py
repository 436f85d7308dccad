"""The attach console: keys to the device, output through the terminal emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Label

from bridge.control.console import COMMAND_WORDS
from bridge.dashboard.screens.console import ConsoleScreen
from bridge.dashboard.screens.detail import DetailScreen
from bridge.dashboard.screens.main import MainScreen
from tests.control.fake_target import FakeAttached, FakeTarget
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
    """F2 sends a break through the attached session; Ctrl-] then `quit` detaches and goes back."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("down", "a")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
        session = target.attached[0]
        assert session.port == "sw1"
        await pilot.press("f2")
        await until(pilot, lambda: session.breaks == 1)
        await pilot.press("ctrl+right_square_bracket", *"quit", "enter")
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


# --- the escape prompt (the command words of `serial-bridge connect`) ----------------------

async def _attached(app: Any, pilot: Any, target: FakeTarget) -> tuple[ConsoleScreen, FakeAttached]:
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
    screen = app.screen
    assert isinstance(screen, ConsoleScreen)
    return screen, target.attached[0]


async def _run(pilot: Any, screen: ConsoleScreen, line: str, answer: Callable[[str], bool]) -> None:
    """Ctrl-], the line, Enter; then wait for an answer line that ``answer`` accepts."""
    await pilot.press("ctrl+right_square_bracket", *line, "enter")
    await until(pilot, lambda: any(answer(a) for a in screen.answers))


@async_test
async def test_escape_key_opens_the_prompt_and_its_keys_stay_out_of_the_device() -> None:
    """Ctrl-] shows the prompt line with the focus; what is typed there is not sent; Esc goes back."""
    async with dashboard() as (app, pilot, (target,)):
        screen, session = await _attached(app, pilot, target)
        await pilot.press("x", "ctrl+right_square_bracket")
        await until(pilot, lambda: screen.prompt_open and screen.prompt_input.has_focus)
        assert str(screen.query_one("#prompt-label", Label).render()) == "serial-bridge> "
        await pilot.press(*"baud", "escape")
        await until(pilot, lambda: not screen.prompt_open and screen.terminal.has_focus)
        await pilot.press("y")
        await until(pilot, lambda: b"".join(session.written) == b"xy")
        assert target.calls[-1][0] == "attach"   # `baud` was never run


@async_test
async def test_escape_key_twice_sends_it_to_the_device() -> None:
    """Ctrl-] Ctrl-] sends GS (0x1d) to the device, as connect does, and the console stays."""
    async with dashboard() as (app, pilot, (target,)):
        screen, session = await _attached(app, pilot, target)
        await pilot.press("ctrl+right_square_bracket", "ctrl+right_square_bracket", "z")
        await until(pilot, lambda: b"".join(session.written) == b"\x1dz")
        assert isinstance(app.screen, ConsoleScreen) and not screen.prompt_open


@async_test
async def test_an_unknown_word_is_one_line_of_help_and_the_console_goes_on() -> None:
    """An unknown word, or a bad argument, is one line; nothing raises, the session stays."""
    async with dashboard() as (app, pilot, (target,)):
        screen, session = await _attached(app, pilot, target)
        await _run(pilot, screen, "frobnicate", lambda a: a.startswith("unknown command 'frobnicate'"))
        line = next(a for a in screen.answers if a.startswith("unknown command"))
        assert "\n" not in line and "break" in line and "quit" in line
        await _run(pilot, screen, "baud fast", lambda a: a.startswith("baud 'fast'"))
        await _run(pilot, screen, "framing", lambda a: a == "usage: framing 8N1")
        assert not any(n[0] == "error" for n in app.notices)
        await pilot.press("k")
        await until(pilot, lambda: session.written == [b"k"])
        assert isinstance(app.screen, ConsoleScreen)


@async_test
async def test_prompt_line_settings_go_through_set() -> None:
    """baud, framing and flow are `set` requests; the answer is the settings in force."""
    async with dashboard() as (app, pilot, (target,)):
        screen, _ = await _attached(app, pilot, target)
        await _run(pilot, screen, "baud 19200", lambda a: a == "rtr1: line set: 19200 8N1")
        await _run(pilot, screen, "framing 7e2", lambda a: a == "rtr1: line set: 19200 7E2")
        await _run(pilot, screen, "fl rtscts", lambda a: a == "rtr1: line set: 19200 7E2 rtscts")
        sets = [c for c in target.calls if c[0] == "set"]
        assert sets == [("set", "rtr1", "[('baud', 19200)]"),
                        ("set", "rtr1", "[('bytesize', 7), ('parity', 'even'), ('stopbits', 2)]"),
                        ("set", "rtr1", "[('flow', 'rtscts')]")]
        await _run(pilot, screen, "framing 8M1", lambda a: "mark parity is not supported" in a)


@async_test
async def test_prompt_break_help_and_what_is_not_here() -> None:
    """break goes through the session; help lists every word; dtr, rts, ayt and send say where they are."""
    async with dashboard() as (app, pilot, (target,)):
        screen, session = await _attached(app, pilot, target)
        await _run(pilot, screen, "break", lambda a: a == "rtr1: break sent")
        assert session.breaks == 1
        await _run(pilot, screen, "help", lambda a: "twice sends Ctrl-] itself" in a)
        for word in COMMAND_WORDS:
            assert any(a.strip().startswith(word.usage) for a in screen.answers), word.name
        await _run(pilot, screen, "dtr off", lambda a: a.startswith("dtr: not available in the dashboard"))
        await _run(pilot, screen, "rts on", lambda a: a.startswith("rts: not available in the dashboard"))
        await _run(pilot, screen, "ayt", lambda a: a.startswith("ayt:") and "serial-bridge connect" in a)
        await _run(pilot, screen, "send /etc/hostname",
                   lambda a: a.startswith("send:") and "serial-bridge connect" in a)
        assert session.written == [] and session.breaks == 1


@async_test
async def test_prompt_history_and_status() -> None:
    """history shows the port's recent output (and leaves no tail behind); status is one line."""
    async with dashboard() as (app, pilot, (target,)):
        screen, _ = await _attached(app, pilot, target)
        target.histories["rtr1"] = b"\x1b[1mboot ok\x1b[0m\r\nRouter>"
        await _run(pilot, screen, "history", lambda a: a == "end of history of rtr1")
        answers = list(screen.answers)
        start = answers.index("history of rtr1: 24 bytes")
        assert answers[start + 1:start + 3] == ["boot ok", "Router>"]
        assert target.tails.get("rtr1", []) == []
        await _run(pilot, screen, "st", lambda a: a.startswith("rtr1: up, 9600 8N1,"))
        status = next(a for a in screen.answers if a.startswith("rtr1: up"))
        assert status.endswith(f"this console: session {screen.session} (writer)")


@async_test
async def test_prompt_history_keeps_the_detail_screens_tail() -> None:
    """From the detail screen, history does not end the tail the detail screen's output needs."""
    async with dashboard() as (app, pilot, (target,)):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.tailing)
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen.session)
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        await _run(pilot, screen, "history", lambda a: a == "end of history of rtr1")
        assert len(target.tails["rtr1"]) == 1
        await pilot.press("ctrl+right_square_bracket", *"quit", "enter")
        await until(pilot, lambda: app.screen is detail)
        target.output("rtr1", b"\r\nstill tailed\r\n")
        await until(pilot, lambda: "still tailed" in detail.output.lines)


@async_test
async def test_prompt_log_appends_device_output_to_a_file(tmp_path: Path) -> None:
    """log FILE appends what the session receives, bytes as received; log off stops."""
    path = tmp_path / "console.log"
    path.write_bytes(b"before\n")
    async with dashboard() as (app, pilot, (target,)):
        screen, session = await _attached(app, pilot, target)
        await _run(pilot, screen, f"log {path}", lambda a: a == f"logging rtr1 to {path}")
        session.on_output(b"\x1b[1mRouter>\x00\xff")
        await until(pilot, lambda: path.read_bytes() == b"before\n\x1b[1mRouter>\x00\xff")
        await _run(pilot, screen, "log off", lambda a: a == f"log {path} closed")
        session.on_output(b"after")
        await until(pilot, lambda: "after" in screen.terminal.display_lines()[0])
        assert path.read_bytes() == b"before\n\x1b[1mRouter>\x00\xff"
        await _run(pilot, screen, f"log {tmp_path}/no/such/dir/x.log",
                   lambda a: a == f"log {tmp_path}/no/such/dir/x.log: No such file or directory")


@async_test
async def test_answers_make_way_for_the_next_key_to_the_device() -> None:
    """The answers stay shown after the prompt closes, until a key goes to the device."""
    async with dashboard() as (app, pilot, (target,)):
        screen, session = await _attached(app, pilot, target)
        pane = screen.query_one("#prompt-pane")
        await _run(pilot, screen, "help", lambda a: "twice sends" in a)
        await until(pilot, lambda: pane.display and pane.has_class("-answers") and not screen.prompt_open)
        await pilot.press("w")
        await until(pilot, lambda: not pane.has_class("-answers") and session.written == [b"w"])


@async_test
async def test_prompt_line_is_edited_and_quit_leaves() -> None:
    """The prompt line takes Backspace; a unique prefix is the word: `qu` leaves at once."""
    async with dashboard() as (app, pilot, (target,)):
        screen, session = await _attached(app, pilot, target)
        await pilot.press("ctrl+right_square_bracket", *"qx", "backspace", "u")
        await until(pilot, lambda: screen.prompt_input.value == "qu")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and session.closed)
        assert session.written == []


@async_test
async def test_keys_typed_at_full_speed_around_the_prompt_keep_their_place() -> None:
    """Keys fed with no wait between them: those before Ctrl-] and after Enter reach the device in
    order, those between are the prompt line (here `break`), none is lost or sent twice."""
    async with dashboard() as (app, pilot, (target,)):
        screen, session = await _attached(app, pilot, target)
        keys = [*"ab", "ctrl+right_square_bracket", *"break", "enter", *"cd",
                "ctrl+right_square_bracket", "ctrl+right_square_bracket", *"ef"]
        for key in keys:
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await until(pilot, lambda: b"".join(session.written) == b"abcd\x1def" and session.breaks == 1)
        assert "rtr1: break sent" in screen.answers and not screen.prompt_open
