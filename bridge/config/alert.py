"""``[[port.alert]]`` tables (issue 14): checked into frozen ``AlertConfig`` values.

An alert watches a port's device output line by line (``bridge.fleet.alerts``
does the matching). This module only checks the tables: every pattern is
compiled here, so ``serial-bridge check`` reports a bad regular expression
with the port and the alert it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bridge.config.values import NAME_RE, Invalid, every, nearest, show

ACTIONS = ("log", "exec")
PLACEHOLDERS = ("{port}", "{alert}", "{line}")
DEFAULT_COOLDOWN = 60.0   # seconds between two firings of one alert
DEFAULT_TIMEOUT = 10.0    # seconds an exec command may run before it is killed
MAX_PATTERN = 1000        # characters
_FIELDS = ("name", "pattern", "action", "command", "cooldown", "timeout")


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """One ``[[port.alert]]``: a pattern for device output lines and what to do on a match.

    Attributes:
        name: the alert's name, unique in its port ([A-Za-z0-9_.-]+).
        pattern: a Python regular expression, searched in each line (no end of line).
        action: "log" (one WARNING line) or "exec" (run ``command``).
        command: the program and its arguments, run without a shell;
            ``{port}``, ``{alert}`` and ``{line}`` are replaced in each argument.
        cooldown: seconds after a firing during which matches are counted but
            do not fire again.
        timeout: seconds an exec command may run before it is killed.
    """

    name: str
    pattern: str
    action: str = "log"
    command: tuple[str, ...] = ()
    cooldown: float = DEFAULT_COOLDOWN
    timeout: float = DEFAULT_TIMEOUT


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile an alert pattern.

    Raises:
        Invalid: not a valid Python regular expression, or one that matches
            the empty string (it would fire on every line).
    """
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise Invalid(f"pattern {show(pattern)} is not a valid regular expression: {exc}") from None
    if regex.search("") is not None:
        raise Invalid(f"pattern {show(pattern)} matches an empty line, so it would match every line")
    return regex


def _number(where: str, key: str, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise Invalid(f"{where}: {key} must be a number of seconds >= 0, got {show(value)}")
    return float(value)


def _command(where: str, action: str, value: Any) -> tuple[str, ...]:
    if action != "exec":
        if value is not None:
            raise Invalid(f'{where}: command is only for action = "exec"')
        return ()
    if value is None:
        raise Invalid(f'{where}: action = "exec" needs command = ["program", "arg", ...]')
    if (not isinstance(value, list) or not value
            or not all(isinstance(a, str) for a in value) or not value[0].strip()):
        raise Invalid(f'{where}: command must be a non-empty list of strings, got {show(value)}')
    return tuple(value)


def _one(index: int, table: Any) -> AlertConfig:
    """Check one alert table; every problem found is raised at once (``Invalid.parts``),
    each tagged with ``index`` so that the report gives this table's own line."""
    where = f"alert #{index + 1}"
    if not isinstance(table, dict):
        raise Invalid(f"{where} must be a table, written [[port.alert]]", item=index)
    problems: list[Invalid] = []

    def problem(message: str) -> None:
        problems.append(Invalid(message, item=index))
    name = table.get("name")
    if isinstance(name, str) and NAME_RE.fullmatch(name):
        where = f"alert '{name}'"
    else:
        problem(f"{where}: name must be letters, digits, '_', '.' or '-', got {show(name)}")
    for key in table:
        if key not in _FIELDS:
            hint = nearest(key, _FIELDS)
            problem(f"{where}: unknown key {show(key)}"
                    + (f"; did you mean {show(hint)}?" if hint else f" (keys: {', '.join(_FIELDS)})"))
    pattern = table.get("pattern")
    if pattern is None:
        problem(f"{where}: pattern is missing; every alert needs one")
    elif not isinstance(pattern, str) or not pattern:
        problem(f"{where}: pattern must be a non-empty string, got {show(pattern)}")
    elif len(pattern) > MAX_PATTERN:
        problem(f"{where}: pattern is longer than {MAX_PATTERN} characters")
    else:
        try:
            compile_pattern(pattern)
        except Invalid as exc:
            problem(f"{where}: {exc}")
    action = table.get("action", "log")
    if action not in ACTIONS:
        problem(f"{where}: action must be one of {' | '.join(ACTIONS)}, got {show(action)}")
    command: tuple[str, ...] = ()
    cooldown, timeout = DEFAULT_COOLDOWN, DEFAULT_TIMEOUT
    for check in ("command", "cooldown", "timeout"):
        try:
            if check == "command":
                command = _command(where, action, table.get("command")) if action in ACTIONS else ()
            elif check == "cooldown":
                cooldown = _number(where, "cooldown", table.get("cooldown"), DEFAULT_COOLDOWN)
            else:
                timeout = _number(where, "timeout", table.get("timeout"), DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT
        except Invalid as exc:
            problem(str(exc))
    every(problems)
    assert isinstance(name, str) and isinstance(pattern, str)
    return AlertConfig(name=name, pattern=pattern, action=action, command=command,
                       cooldown=cooldown, timeout=timeout)


def alerts(value: Any) -> tuple[AlertConfig, ...]:
    """Check the array of ``[[port.alert]]`` tables of a port.

    Raises:
        Invalid: naming the alert (by name, or #N) and what is wrong with it; every
            problem of every alert is in its ``parts``, each with the alert's index as ``item``.
    """
    if isinstance(value, tuple) and all(isinstance(a, AlertConfig) for a in value):
        return value  # already checked (a default, or a profile's value)
    if not isinstance(value, list):
        raise Invalid(f"must be [[port.alert]] tables, got {show(value)}")
    checked: list[AlertConfig] = []
    problems: list[Invalid] = []
    for index, table in enumerate(value):   # every alert checked, every problem reported
        try:
            checked.append(_one(index, table))
        except Invalid as exc:
            problems.append(exc)
    seen: set[str] = set()
    for index, table in enumerate(value):
        name = table.get("name") if isinstance(table, dict) else None
        if isinstance(name, str) and name in seen:
            problems.append(Invalid(f"two alerts are named {show(name)}; each alert of a port needs its own name",
                                    item=index))
        if isinstance(name, str):
            seen.add(name)
    every(problems)
    return tuple(checked)
