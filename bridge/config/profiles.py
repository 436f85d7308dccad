"""Hardware profiles: TOML files of port keys for a kind of equipment.

A profile ``<name>.toml`` holds any port key except those that name one
port's identity and wiring (``keys.NOT_IN_PROFILE``), plus ``description``
(one line, required) and ``source`` (where its facts come from, optional).
The shipped profiles live in the package ``bridge._hw_profiles`` (the
repository's ``hw_profiles/``); a ``profiles_dir`` adds profiles and
replaces shipped ones of the same name, whole.
"""

from __future__ import annotations

import functools
import importlib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bridge.config import keys, values
from bridge.config.locate import locate
from bridge.config.problem import ConfigError, Problem, syntax_problem
from bridge.config.table import TableChecker

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PACKAGE = "bridge._hw_profiles"
_TOP: tuple[str, None] = ("", None)
_PROFILE_KEYS = {name: keys.PORT_KEYS[name] for name in keys.PROFILE_KEYS}
_NOT_HERE = {name: f"'{name}' belongs to a port, not to a profile" for name in keys.NOT_IN_PROFILE}
_NOT_HERE.update({name: "only [bridge] takes it, not a profile" for name in keys.BRIDGE_KEYS})
_META = ("description", "source")


@dataclass(frozen=True, slots=True)
class Profile:
    """One hardware profile.

    Attributes:
        name: the file's stem, as a port's ``profile`` names it.
        description: one line saying what equipment it is for.
        source: where its facts come from, or None.
        path: the file it was read from.
        builtin: True for a shipped profile, False for one from profiles_dir.
        values: the port keys it sets, checked, in key-table order.
    """

    name: str
    description: str
    source: str | None
    path: str
    builtin: bool
    values: Mapping[str, Any] = field(default_factory=dict, hash=False)


def builtin_dir() -> Traversable:
    """Where the shipped profiles are: the installed package, else the checkout's hw_profiles/.

    The package's folder itself when it is one on disk (an ordinary or
    editable install); importlib.resources only for other installs (a zip),
    as it weighs about 1 MB of the daemon's memory (issue 10: 64 ports under 32 MB).
    """
    try:
        package = importlib.import_module(PACKAGE)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "hw_profiles"
    folders = [Path(entry) for entry in getattr(package, "__path__", ())]
    if len(folders) == 1 and folders[0].is_dir():
        return folders[0]
    from importlib import resources

    return resources.files(package)


def _meta(data: dict[str, Any], checker: TableChecker) -> tuple[str, str | None]:
    """Check and return (description, source) of a profile table."""
    description = ""
    if "description" not in data:
        checker.add(_TOP, None, "description", "missing; every profile needs a one-line description")
    else:
        try:
            description = values.text(empty=False)(data["description"])
        except values.Invalid as exc:
            checker.add(_TOP, None, "description", str(exc))
    source = None
    if "source" in data:
        try:
            source = values.text(single_line=False)(data["source"])
        except values.Invalid as exc:
            checker.add(_TOP, None, "source", str(exc))
    return description, source


def parse_profile(name: str, text: str, file: str, builtin: bool) -> tuple[Profile, list[Problem]]:
    """Read one profile's text; the profile keeps its good keys even when some are bad."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Profile(name, "", None, file, builtin), [syntax_problem(file, exc)]
    checker = TableChecker(file, locate(text))
    if not values.NAME_RE.fullmatch(name):
        checker.add(None, None, None, "a profile's file name must be letters, digits, '_', '.' "
                                      "or '-', followed by .toml")
    description, source = _meta(data, checker)
    good = checker.check(data, _PROFILE_KEYS, _TOP, None, elsewhere=_NOT_HERE, extra=_META)
    ordered = {k: good[k] for k in keys.PROFILE_KEYS if k in good}
    profile = Profile(name, description, source, file, builtin, MappingProxyType(ordered))
    return profile, checker.problems


def _files(folder: Traversable) -> Iterable[Traversable]:
    return sorted((f for f in folder.iterdir() if f.name.endswith(".toml") and f.is_file()),
                  key=lambda f: f.name)


def _read_folder(folder: Traversable, builtin: bool) -> tuple[dict[str, Profile], list[Problem]]:
    found: dict[str, Profile] = {}
    problems: list[Problem] = []
    for entry in _files(folder):
        file = str(entry)
        try:
            text = entry.read_bytes().decode("utf-8")
        except OSError as exc:
            problems.append(Problem(file, None, None, None, f"cannot read: {exc.strerror or exc}"))
            continue
        except UnicodeDecodeError:
            problems.append(Problem(file, None, None, None, "not UTF-8 text"))
            continue
        profile, bad = parse_profile(entry.name[: -len(".toml")], text, file, builtin)
        found[profile.name] = profile
        problems.extend(bad)
    return found, problems


@functools.lru_cache(maxsize=1)
def _shipped() -> tuple[dict[str, Profile], tuple[Problem, ...]]:
    """The shipped profiles, read once: they are package data and do not change."""
    found, problems = _read_folder(builtin_dir(), builtin=True)
    return found, tuple(problems)


def load_profiles(profiles_dir: str | Path | None = None) -> tuple[dict[str, Profile], list[Problem]]:
    """All profiles, shipped then ``profiles_dir``'s (read afresh), and every problem in their files."""
    shipped, shipped_problems = _shipped()
    found, problems = dict(shipped), list(shipped_problems)
    if profiles_dir is not None:
        folder = Path(profiles_dir)
        if not folder.is_dir():
            problems.append(Problem(str(folder), None, None, None, "profiles directory not found"))
        else:
            mine, bad = _read_folder(folder, builtin=False)
            found.update(mine)
            problems.extend(bad)
    return dict(sorted(found.items())), problems


def list_profiles(profiles_dir: str | Path | None = None) -> dict[str, Profile]:
    """All profiles by name, sorted; those of ``profiles_dir`` add to and override the shipped ones.

    Raises:
        ConfigError: when any profile file is bad, naming its file and key.
    """
    found, problems = load_profiles(profiles_dir)
    if problems:
        raise ConfigError(problems)
    return found
