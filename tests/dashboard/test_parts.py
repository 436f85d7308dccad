"""The dashboard's pure parts: key mapping, the port store, log text."""

from __future__ import annotations

import pytest

from bridge.control.model import PortInfo
from bridge.dashboard.keymap import key_bytes
from bridge.dashboard.messages import PortKey, PortView
from bridge.dashboard.store import PortStore
from bridge.dashboard.widgets.output_log import printable
from bridge.dashboard.widgets.port_table import state_text
from tests.control.helpers import async_test


@pytest.mark.parametrize(("key", "character", "app_mode", "expected"), [
    ("a", "a", False, b"a"),
    ("enter", "\r", False, b"\r"),
    ("backspace", "\x08", False, b"\x7f"),
    ("ctrl+c", "\x03", False, b"\x03"),
    ("ctrl+a", None, False, b"\x01"),
    ("up", None, False, b"\x1b[A"),
    ("left", None, True, b"\x1bOD"),
    ("f5", None, False, b"\x1b[15~"),
    ("delete", None, False, b"\x1b[3~"),
    ("ctrl+shift+up", None, False, None),
    ("\u00e9", "\u00e9", False, "\u00e9".encode()),
])
def test_keys_map_to_terminal_bytes(key: str, character: str | None, app_mode: bool,
                                    expected: bytes | None) -> None:
    """Each key gives the bytes an xterm would send (None for keys with no meaning)."""
    assert key_bytes(key, character, app_mode) == expected


def test_store_computes_rates_from_successive_counters() -> None:
    """Two counters events a second apart give bytes per second."""
    store = PortStore(["h"])
    store.set_ports(0, (PortInfo(name="p", rx_bytes=0),))
    store.apply_counters(0, {"time": 10.0, "ports": {"p": {"rx_bytes": 100, "tx_bytes": 0}}})
    store.apply_counters(0, {"time": 12.0, "ports": {"p": {"rx_bytes": 700, "tx_bytes": 50}}})
    view = store.view(PortKey(0, "p"))
    assert view is not None
    assert (view.rx_rate, view.tx_rate, view.info.rx_bytes) == (300.0, 25.0, 700)


def test_store_forgets_ports_that_went_away() -> None:
    """A fresh list without a port removes it from that source only."""
    store = PortStore(["a", "b"])
    store.set_ports(0, (PortInfo(name="x"), PortInfo(name="y")))
    store.set_ports(1, (PortInfo(name="x"),))
    store.set_ports(0, (PortInfo(name="y"),))
    assert [(v.key.source, v.key.name, v.host) for v in store.views()] == [(0, "y", "a"), (1, "x", "b")]


def test_log_text_drops_escape_sequences_and_normalises_newlines() -> None:
    """Output for the log loses colours and cursor moves, and CR LF becomes one newline."""
    assert printable(b"\x1b[1;31mERR\x1b[0m ok\r\nnext\rline\x07") == "ERR ok\nnext\nline"


@pytest.mark.parametrize(("state", "online", "text", "style"), [
    ("up", True, "up", "bold green"),
    ("waiting-for-device", True, "waiting", "bold red"),
    ("disabled", True, "disabled", "dim"),
    ("up", False, "offline", "bold magenta"),
])
def test_state_cell_is_coloured_by_state(state: str, online: bool, text: str, style: str) -> None:
    """The state column's text and colour follow the port's state and its bridge's reachability."""
    view = PortView(key=PortKey(0, "p"), host="h", info=PortInfo(name="p", state=state), online=online)
    cell = state_text(view)
    assert (cell.plain, str(cell.style)) == (text, style)


@async_test
async def test_session_table_shows_terminal_type_and_window() -> None:
    """A session's TTYPE and NAWS window follow its kind in the session table (issue 10)."""
    from textual.app import App, ComposeResult

    from bridge.control.model import SessionInfo
    from bridge.dashboard.widgets.session_table import SessionTable

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield SessionTable(id="t")

    async with One().run_test() as pilot:
        table = pilot.app.query_one(SessionTable)
        table.show((SessionInfo(id=1, peer="127.0.0.1:5", terminal="XTERM", window=(132, 43)),
                    SessionInfo(id=2, peer="127.0.0.1:6")))
        assert table.get_row("1")[2] == "telnet XTERM 132x43"
        assert table.get_row("2")[2] == "telnet"
