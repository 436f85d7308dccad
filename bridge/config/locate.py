"""Line numbers of TOML keys, found in the source text.

tomllib reports no positions, so this scans the text for table headers and
``key =`` lines, tracking which table each key belongs to. A table is named
by ``(header, index)``: ``("", None)`` for the top level, ``("bridge", None)``
for ``[bridge]``, ``("port", 2)`` for the third ``[[port]]``. The scan skips
the insides of multi-line strings and arrays; anything it cannot place (an
inline table, say) simply has no line, and messages then name no line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

Table = tuple[str, int | None]

_ARRAY_HEADER = re.compile(r"\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(#.*)?$")
_HEADER = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*([.=])(.*)$""")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


@dataclass
class Locations:
    """Where tables and keys are in a TOML text (1-based line numbers)."""

    tables: dict[Table, int] = field(default_factory=dict)
    keys: dict[tuple[str, int | None, str], int] = field(default_factory=dict)
    headers: list[tuple[str, bool, int]] = field(default_factory=list)  # (name, is_array, line)

    def key(self, table: Table, key: str) -> int | None:
        """Line of ``key`` in ``table``, or the table's header line, or None."""
        return self.keys.get((table[0], table[1], key), self.tables.get(table))

    def table(self, table: Table) -> int | None:
        """Line of a table's header, or None."""
        return self.tables.get(table)

    def sub_table(self, table: Table, name: str, index: int) -> int | None:
        """Line of the ``index``-th ``[[TABLE.NAME]]`` header inside ``table`` (e.g. the
        third ``[[port.alert]]`` of the second ``[[port]]``), or None (an inline array)."""
        start = self.tables.get(table)
        if start is None:
            return None
        full = f"{table[0]}.{name}" if table[0] else name
        seen = 0
        for header, is_array, line in self.headers:
            if line <= start:
                continue
            if header == table[0] or not header.startswith(table[0] + "."):
                return None   # the next table of the same kind, or another one: not found inside
            if header == full and is_array:
                if seen == index:
                    return line
                seen += 1
        return None


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        try:
            decoded = json.loads(name)  # TOML basic-string escapes are JSON's, nearly
        except ValueError:
            return name[1:-1]
        return decoded if isinstance(decoded, str) else name[1:-1]
    if len(name) >= 2 and name[0] == name[-1] == "'":
        return name[1:-1]
    return name


def _bracket_balance(value: str) -> int:
    """Open minus closed square brackets in a value, outside strings and comments."""
    bare = _STRING.sub("", value).split("#", 1)[0]
    return bare.count("[") - bare.count("]")


def _opens_multiline_string(value: str) -> str | None:
    """The triple quote a value opens and does not close on its line, if any."""
    for quote in ('"""', "'''"):
        if value.lstrip().startswith(quote) and value.count(quote) == 1:
            return quote
    return None


class _Scanner:
    def __init__(self) -> None:
        self.found = Locations()
        self.table: Table = ("", None)
        self.counts: dict[str, int] = {}
        self.in_string: str | None = None
        self.depth = 0

    def feed(self, number: int, line: str) -> None:
        if self.in_string is not None:
            if self.in_string in line:
                self.in_string = None
            return
        if self.depth > 0:
            self.depth = max(0, self.depth + _bracket_balance(line))
            return
        if self._header(number, line):
            return
        match = _KEY.match(line)
        if match is None:
            return
        name = _unquote(match.group(1))
        self.found.keys.setdefault((self.table[0], self.table[1], name), number)
        if match.group(2) == "=":
            value = match.group(3)
            self.in_string = _opens_multiline_string(value)
            if self.in_string is None and value.lstrip().startswith("["):
                self.depth = max(0, _bracket_balance(value))

    def _header(self, number: int, line: str) -> bool:
        array = _ARRAY_HEADER.match(line)
        plain = None if array else _HEADER.match(line)
        if array is None and plain is None:
            return False
        raw = (array or plain).group(1)  # type: ignore[union-attr]
        name = ".".join(_unquote(part) for part in raw.split("."))
        if array is not None:
            index = self.counts.get(name, 0)
            self.counts[name] = index + 1
            self.table = (name, index)
        else:
            self.table = (name, None)
        self.found.tables.setdefault(self.table, number)
        self.found.headers.append((name, array is not None, number))
        return True


def locate(text: str) -> Locations:
    """Scan a TOML text for the lines of its tables and keys."""
    scanner = _Scanner()
    for number, line in enumerate(text.splitlines(), start=1):
        scanner.feed(number, line)
    return scanner.found
