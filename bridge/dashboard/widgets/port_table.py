"""The ports table of the main screen."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from bridge.control.model import human_age, human_bytes
from bridge.dashboard.messages import PortKey, PortView

STATE_STYLES = {
    "up": "bold green",
    "starting": "yellow",
    "waiting-for-device": "bold red",
    "disabled": "dim",
    "stopped": "dim",
    "failed": "bold red",
}
COLUMNS = ("Port", "Device", "State", "Settings", "Cl", "Rx/s", "Tx/s", "Last", "Listen")


def state_text(view: PortView) -> Text:
    """The port's state, coloured; ``offline`` when its bridge is unreachable."""
    if not view.online:
        return Text("offline", style="bold magenta")
    state = view.info.state
    short = "waiting" if state == "waiting-for-device" else state
    return Text(short, style=STATE_STYLES.get(state, ""))


def listen_text(listen: str) -> str:
    """Where the port listens, short: ``127.0.0.1:7001``; ``*:7001`` for every address."""
    host, _, port = listen.rpartition(":")
    if host in ("0.0.0.0", "[::]", "::"):
        return f"*:{port}"
    return listen


def name_text(view: PortView) -> Text | str:
    """The port's name, marked with a yellow ``!`` once one of its alerts has matched."""
    if view.info.last_alert is None:
        return view.info.name
    return Text.assemble(view.info.name, (" !", "bold yellow"))


def rate_text(rate: float) -> str:
    """A byte rate, short."""
    return "-" if rate <= 0 else human_bytes(rate).replace(" ", "").replace("iB", "")


class PortTable(DataTable[object]):
    """One row per port; with several bridges, a host column groups them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._multi_host: bool | None = None
        self._columns: list[ColumnKey] = []

    def show(self, views: list[PortView], multi_host: bool) -> None:
        """Show these ports: cells are updated in place while the rows stay the same
        (so the cursor and scroll stay put), else the rows are rebuilt."""
        if self._multi_host != multi_host:
            self._multi_host = multi_host
            self.clear(columns=True)
            self._columns = self.add_columns(*(("Host",) if multi_host else ()), *COLUMNS)
        rows = _rows(views, multi_host, time.time())
        keys = [key for key, _ in rows]
        if keys == [k.value for k in self.rows]:
            for key, cells in rows:
                for column, cell in zip(self._columns, cells):
                    self.update_cell(key, column, cell, update_width=True)
            return
        selected = self.selected_key
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if selected is not None and selected.row_key in keys:
            self.move_cursor(row=keys.index(selected.row_key))

    @property
    def selected_key(self) -> PortKey | None:
        """The port under the cursor."""
        if not self.row_count:
            return None
        try:
            row_key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - no valid cursor yet
            return None
        if row_key.value is None:
            return None
        source, _, name = row_key.value.partition("/")
        return PortKey(int(source), name)


def _rows(views: list[PortView], multi_host: bool, now: float) -> list[tuple[str, list[object]]]:
    rows: list[tuple[str, list[object]]] = []
    previous_host = None
    for view in views:
        cells: list[object] = []
        if multi_host:
            cells.append(view.host if view.host != previous_host else "")
            previous_host = view.host
        info = view.info
        cells += [name_text(view), info.device, state_text(view), info.settings_short,
                  str(len(info.sessions)), rate_text(view.rx_rate), rate_text(view.tx_rate),
                  human_age(info.last_activity, now), listen_text(info.listen)]
        rows.append((view.key.row_key, cells))
    return rows
