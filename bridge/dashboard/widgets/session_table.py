"""The sessions (clients) of one port."""

from __future__ import annotations

import time

from textual.widgets import DataTable

from bridge.control.model import SessionInfo, human_age, human_bytes


class SessionTable(DataTable[str]):
    """One row per client session: id, peer, kind (with its terminal type and size, when
    the client told them), access, age, bytes both ways."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.add_columns("Id", "Peer", "Kind", "Access", "Since", "In", "Out")

    def show(self, sessions: tuple[SessionInfo, ...]) -> None:
        """Show these sessions, keeping the cursor on the same one where possible."""
        selected = self.selected_session
        self.clear()
        now = time.time()
        for s in sessions:
            kind = f"{s.kind}+2217" if s.rfc2217 else s.kind
            # What the client told of its terminal (TTYPE, NAWS or an SSH pty), when it did.
            if s.terminal:
                kind += f" {s.terminal}"
            if s.window is not None:
                kind += f" {s.window[0]}x{s.window[1]}"
            peer = f"{s.user}@{s.peer}" if s.user else s.peer
            self.add_row(str(s.id), peer, kind, s.access, human_age(s.connected_at, now),
                         human_bytes(s.bytes_in), human_bytes(s.bytes_out), key=str(s.id))
        if selected is not None and str(selected) in self.rows:
            self.move_cursor(row=self.get_row_index(str(selected)))

    @property
    def selected_session(self) -> int | None:
        """The session id under the cursor."""
        if not self.row_count:
            return None
        row_key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return int(row_key.value) if row_key.value is not None else None
