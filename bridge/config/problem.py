"""Configuration problems: each one line naming file, line, port and key."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass

from bridge.errors import UserError


# Control characters (a quoted TOML key may hold a newline) are shown escaped.
_ONE_LINE = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a config or profile file.

    ``port`` is the port's name, or ``#N`` (its position) when it has no
    valid name. Printed as one line, for example
    ``bridge.toml:12: port 'rtr1': key 'baud': must be a positive integer, got "fast"``.
    """

    file: str
    line: int | None
    port: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        parts = [self.file if self.line is None else f"{self.file}:{self.line}"]
        if self.port is not None:
            parts.append(f"port {self.port}" if self.port.startswith("#") else f"port '{self.port}'")
        if self.key is not None:
            parts.append(f"key '{self.key}'")
        parts.append(self.message)
        return ": ".join(parts).translate(_ONE_LINE)


class ConfigError(UserError):
    """A configuration that cannot be used; ``problems`` lists everything wrong.

    ``str()`` gives one line per problem.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def syntax_problem(file: str, exc: tomllib.TOMLDecodeError) -> Problem:
    """The one problem tomllib reports, with its line when it gives one."""
    message = str(exc)
    line = None
    match = _AT_LINE.search(message)
    if match:
        line = int(match.group(1))
        message = message[: match.start()] + f" (column {match.group(2)})"
    elif _AT_END.search(message):
        message = _AT_END.sub("", message) + " (at end of file)"
    text = message[:1].lower() + message[1:]
    return Problem(file, line, None, None, f"TOML syntax error: {text}")
