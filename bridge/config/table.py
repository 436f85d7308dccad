"""Checking one TOML table's keys against a part of the key table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.config.keys import Key
from bridge.config.locate import Locations, Table
from bridge.config.problem import Problem
from bridge.config.values import Invalid, nearest


class TableChecker:
    """Checks the keys of tables of one file, collecting problems.

    Args:
        file: the file name that problems carry.
        where: line numbers of that file's keys.
    """

    def __init__(self, file: str, where: Locations) -> None:
        self.file = file
        self.where = where
        self.problems: list[Problem] = []

    def add(self, table: Table | None, port: str | None, key: str | None, message: str) -> None:
        """Record a problem at ``key`` of ``table`` (or at the table, or nowhere)."""
        if table is None:
            line = None
        elif key is None:
            line = self.where.table(table)
        else:
            line = self.where.key(table, key)
        self.problems.append(Problem(self.file, line, port, key, message))

    def check(self, data: Mapping[str, Any], allowed: Mapping[str, Key], table: Table,
              port: str | None, elsewhere: Mapping[str, str] | None = None,
              extra: tuple[str, ...] = ()) -> dict[str, Any]:
        """Check every key of ``data``; return the good ones, checked and normalised.

        Args:
            data: the table as tomllib gave it.
            allowed: the keys this table takes.
            table: where the table is, for line numbers.
            port: the port label for problems, or None.
            elsewhere: keys known but not allowed here, with the reason.
            extra: more key names to suggest (handled by the caller, so skipped here).
        """
        good: dict[str, Any] = {}
        for name, value in data.items():
            if name in extra:
                continue
            key = allowed.get(name)
            if key is None:
                self._unknown(table, port, name, allowed, elsewhere or {}, extra)
                continue
            try:
                good[name] = key.check(value)
            except Invalid as exc:
                for part in exc.parts:   # every problem of the value, each on its own line
                    line = None if part.item is None else self.where.sub_table(table, name, part.item)
                    if line is None:
                        self.add(table, port, name, str(part))
                    else:   # a [[port.alert]]-style table: its own line
                        self.problems.append(Problem(self.file, line, port, name, str(part)))
        return good

    def _unknown(self, table: Table, port: str | None, name: str, allowed: Mapping[str, Key],
                 elsewhere: Mapping[str, str], extra: tuple[str, ...]) -> None:
        if name in elsewhere:
            self.add(table, port, name, elsewhere[name])
            return
        hint = nearest(name, [*allowed, *extra])
        message = "unknown key" + (f" in [{table[0]}]" if port is None and table[0] else "")
        message += f"; did you mean '{hint}'?" if hint else ""
        self.add(table, port, name, message)
