"""Reading a config file into a ``BridgeConfig``, collecting every problem.

The file is parsed with tomllib; line numbers come from ``locate`` because
tomllib gives none. Each port's values are merged lowest first: built-in
defaults (``keys.PORT_KEYS``), ``[bridge]``, the port's profile, the port's
own keys. Problems are collected across the whole file (and the profile
files it uses) and raised together as one ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge.config import keys
from bridge.config.locate import Locations, Table, locate
from bridge.config.model import BridgeConfig, PortConfig
from bridge.config.problem import ConfigError, Problem, syntax_problem
from bridge.config.profiles import Profile, load_profiles
from bridge.config.table import TableChecker
from bridge.config.values import NAME_RE, WILDCARD_HOSTS, nearest, split_listen

_BRIDGE: Table = ("bridge", None)
NO_PORTS = ("no [[port]] tables: serve runs with no ports (its control endpoint, SSH and metrics "
            "up) until a reload (SIGHUP) adds some")
_BRIDGE_TAKES = {**keys.BRIDGE_KEYS, **keys.PORT_KEYS}
_LISTEN_KEYS = ("listen", "listen_readonly")
_BRIDGE_ONLY = {name: "only [bridge] takes it" for name in keys.BRIDGE_KEYS}
_BRIDGE_ONLY["bind"] = 'only [bridge] takes it; for one port, write listen = "host:port"'


def load_config(path: str | Path) -> BridgeConfig:
    """Read and check the config file at ``path``.

    Raises:
        ConfigError: listing every problem (a missing or unreadable file is one).
    """
    file = str(path)
    text = read_text(file)
    config = _Loader(text, file, Path(path).parent, None).run()
    return dataclasses.replace(config, source=Path(path))


def parse_config(text: str, source: str, profiles_dir: str | None = None) -> BridgeConfig:
    """Check a config given as text; ``source`` names it in messages.

    Args:
        text: the TOML text.
        source: the file name problems carry; relative paths in the config
            (``profiles_dir``) are taken from its folder.
        profiles_dir: a profiles folder that replaces ``[bridge]``'s ``profiles_dir``.

    Raises:
        ConfigError: listing every problem.
    """
    return _Loader(text, source, Path(source).parent, profiles_dir).run()


def read_text(file: str) -> str:
    """A config file's text, or a ``ConfigError`` with one clear line."""
    reasons = {FileNotFoundError: "no such file", IsADirectoryError: "is a directory, not a file",
               PermissionError: "permission denied"}
    try:
        raw = Path(file).read_bytes()
    except OSError as exc:
        reason = reasons.get(type(exc), f"cannot read: {exc.strerror or exc}")
        raise ConfigError([Problem(file, None, None, None, reason)]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([Problem(file, line, None, None, "not UTF-8 text")]) from None


class _Loader:
    """One pass over one config text."""

    def __init__(self, text: str, file: str, base: Path, profiles_dir: str | None) -> None:
        self.text = text
        self.file = file
        self.base = base
        self.profiles_dir_arg = profiles_dir
        self.where = Locations()
        self.checker = TableChecker(file, self.where)
        self.profiles: dict[str, Profile] = {}
        self.other_problems: list[Problem] = []
        self.users_raw: list[Any] = []

    def run(self) -> BridgeConfig:
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([syntax_problem(self.file, exc)]) from None
        self.where = locate(self.text)
        self.checker = TableChecker(self.file, self.where)
        bridge_raw, ports_raw = self._top(data)
        bridge_only, defaults = self._bridge(bridge_raw)
        profiles_dir = self._load_profiles(bridge_only)
        self._check_bridge_profile(defaults)
        merged = [self._port(i, raw, defaults) for i, raw in enumerate(ports_raw)]
        bind = bridge_only["bind"]
        self._duplicate_names(merged)
        self._duplicate_listens(merged, bind)
        # -- access from the network (issue 11) --
        from bridge.config.access import AccessChecker
        access = AccessChecker(self.checker, self.base)
        good = [values for _, values in merged if values]
        access_keys = access.bridge(bridge_only, [str(v.get("name")) for v in good if v.get("tls")])
        users = access.users(self.users_raw, [str(v.get("name")) for v in good])
        problems = self.other_problems + sorted(self.checker.problems, key=lambda p: p.line or 0)
        if problems:
            raise ConfigError(problems)
        ports = tuple(PortConfig(**values, bind=bind) for values in good)
        from bridge.config.extras import missing_extras   # UAT 7: check and serve say the same
        missing = missing_extras(bridge_only)
        notes = tuple(Problem(self.file, self.where.key(_BRIDGE, key), None, key, message)
                      for key, message in missing.items())
        if not ports:   # UAT 13: allowed (a service started before its consoles are set up), and said
            notes += (Problem(self.file, None, None, None, NO_PORTS),)
        return BridgeConfig(source=None, bind=bind, control=bridge_only["control"],
                            control_token=bridge_only["control_token"],
                            profiles_dir=profiles_dir, ports=ports, allow=defaults.get("allow"),
                            users=users,
                            metrics=None if "metrics" in missing else bridge_only.get("metrics"),
                            mdns=False if "mdns" in missing else bridge_only.get("mdns", False),
                            notes=notes, **access_keys)

    # -- top level and [bridge] ------------------------------------------------

    def _top(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        bridge_raw: dict[str, Any] = {}
        ports_raw: list[Any] = []
        for name, value in data.items():
            if name == "bridge" and isinstance(value, dict):
                bridge_raw = value
            elif name == "port" and isinstance(value, list):
                ports_raw = value
            elif name == "user" and isinstance(value, list):   # issue 11
                self.users_raw = value
            elif name == "user" and isinstance(value, dict):
                self._at_table(name, "write [[user]] (double brackets): users are an array of tables")
            elif name == "port" and isinstance(value, dict):
                self._at_table(name, "write [[port]] (double brackets): ports are an array of tables")
            elif name in ("bridge", "port"):
                self._at_table(name, f"must be a table, written [{name}]" if name == "bridge"
                               else "must be an array of tables, written [[port]]")
            elif isinstance(value, dict) or (
                    isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
                hint = nearest(name, ["bridge", "port"])
                spelled = {"bridge": "[bridge]", "port": "[[port]]", "user": "[[user]]"}.get(hint or "", "")
                self._at_table(name, "unknown table" + (f"; did you mean {spelled}?" if hint else
                                                        "; the tables are [bridge], [[port]] and [[user]]"))
            elif name in _BRIDGE_TAKES:
                self._at_table(name, "is outside any table; put it under [bridge] or a [[port]]")
            else:
                self._at_table(name, "unknown key outside any table")
        return bridge_raw, ports_raw

    def _at_table(self, name: str, message: str) -> None:
        line = (self.where.tables.get((name, None)) or self.where.tables.get((name, 0))
                or self.where.keys.get(("", None, name)))
        self.checker.problems.append(Problem(self.file, line, None, name, message))

    def _bridge(self, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        good = self.checker.check(raw, _BRIDGE_TAKES, _BRIDGE, None)
        bridge_only = {name: good.get(name, key.default) for name, key in keys.BRIDGE_KEYS.items()}
        self._check_control(bridge_only)
        defaults = {name: val for name, val in good.items() if name in keys.PORT_KEYS}
        return bridge_only, defaults

    def _check_control(self, bridge_only: dict[str, Any]) -> None:
        """The control endpoint, by the rule the daemon applies when it opens it."""
        from bridge.control.address import check_endpoint

        address = bridge_only["control"]
        if not address:
            return  # unset: the default Unix socket; "": no endpoint
        try:
            check_endpoint(address, bridge_only["control_token"])
        except ValueError as exc:
            self.checker.add(_BRIDGE, None, "control", str(exc))

    def _load_profiles(self, bridge_only: dict[str, Any]) -> str | None:
        folder: str | None = None
        if self.profiles_dir_arg is not None:
            folder = self.profiles_dir_arg
        elif bridge_only["profiles_dir"] is not None:
            folder = str(self.base / Path(bridge_only["profiles_dir"]).expanduser())
            if not Path(folder).is_dir():
                self.checker.add(_BRIDGE, None, "profiles_dir", f"directory not found: {folder}")
                folder = None
        self.profiles, problems = load_profiles(folder)
        self.other_problems.extend(problems)
        return folder

    def _unknown_profile(self, table: Table, port: str | None, name: str) -> None:
        hint = nearest(name, self.profiles)
        suffix = f"; did you mean '{hint}'?" if hint else "; see: serial-bridge profiles"
        self.checker.add(table, port, "profile", f"unknown profile '{name}'{suffix}")

    def _check_bridge_profile(self, defaults: dict[str, Any]) -> None:
        name = defaults.get("profile")
        if name is not None and name not in self.profiles:
            self._unknown_profile(_BRIDGE, None, name)
            del defaults["profile"]

    # -- ports -----------------------------------------------------------------

    def _port(self, index: int, raw: Any, defaults: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """Check and merge one [[port]]: its label, and its good values merged.

        A port with problems still gives its good values, so that duplicate
        listen addresses are found too; ``run`` raises before using them.
        """
        table: Table = ("port", index)
        label = f"#{index + 1}"
        if not isinstance(raw, dict):
            line = self.where.key(("", None), "port")
            self.checker.problems.append(
                Problem(self.file, line, label, None, "must be a table, written [[port]]"))
            return label, None
        name = raw.get("name")
        if isinstance(name, str) and NAME_RE.fullmatch(name):
            label = name
        own = self.checker.check(raw, keys.PORT_KEYS, table, label, elsewhere=_BRIDGE_ONLY)
        for key in keys.REQUIRED_KEYS:
            if key not in raw and key not in defaults:
                self.checker.add(table, label, key, "missing; every [[port]] needs it")
        profile: dict[str, Any] = {}
        if "profile" in own:
            if own["profile"] in self.profiles:
                profile = dict(self.profiles[own["profile"]].values)
            else:
                self._unknown_profile(table, label, own["profile"])
        elif "profile" in defaults:
            profile = dict(self.profiles[defaults["profile"]].values)
        return label, {**keys.PORT_DEFAULTS, **defaults, **profile, **own}

    def _duplicate_names(self, merged: list[tuple[str, dict[str, Any] | None]]) -> None:
        seen: dict[str, int] = {}
        for index, (label, _) in enumerate(merged):
            if label.startswith("#"):
                continue
            if label in seen:
                line = self.where.key(("port", seen[label]), "name")
                where = f" on line {line}" if line else ""
                self.checker.add(("port", index), label, "name",
                                 f"duplicate port name: another [[port]]{where} has it")
            else:
                seen[label] = index

    def _duplicate_listens(self, merged: list[tuple[str, dict[str, Any] | None]], bind: str) -> None:
        taken: list[tuple[str, int, int, str]] = []  # host, TCP port, port index, key
        for index, (label, values) in enumerate(merged):
            for key in _LISTEN_KEYS:
                if values is None or values.get(key) is None:
                    continue
                host, number = split_listen(values[key])
                host = bind if host is None else host
                clash = next((t for t in taken if number and t[1] == number and _overlap(t[0], host)),
                             None)
                if clash is not None:
                    owner = ("this port's" if clash[2] == index
                             else f"used by port '{merged[clash[2]][0]}' as")
                    self.checker.add(("port", index), label, key,
                                     f"address {_show(host, number)} is already {owner} '{clash[3]}'")
                taken.append((host, number, index, key))


def _overlap(one: str, other: str) -> bool:
    """Whether two listen hosts would fight over one TCP port."""
    return one == other or one in WILDCARD_HOSTS or other in WILDCARD_HOSTS


def _show(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def config_profiles_dir(path: str | Path) -> str | None:
    """The ``profiles_dir`` a config file names (resolved from its folder), or None.

    Only ``[bridge]`` is read, so a config with other problems still names
    its profiles.

    Raises:
        ConfigError: when the file cannot be read or parsed, or the key is bad.
    """
    file = str(path)
    text = read_text(file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([syntax_problem(file, exc)]) from None
    bridge = data.get("bridge")
    value = bridge.get("profiles_dir") if isinstance(bridge, dict) else None
    if value is None:
        return None
    try:
        checked = keys.BRIDGE_KEYS["profiles_dir"].check(value)
    except ValueError as exc:
        line = locate(text).key(_BRIDGE, "profiles_dir")
        raise ConfigError([Problem(file, line, None, "profiles_dir", str(exc))]) from None
    return str(Path(path).parent / Path(checked).expanduser())
