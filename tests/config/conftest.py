"""Helpers for the config tests: parse a config text and get its problems."""

from __future__ import annotations

import textwrap

import pytest

from bridge.config import BridgeConfig, ConfigError, Problem, parse_config


def parse(text: str, profiles_dir: str | None = None) -> BridgeConfig:
    """Parse a dedented config text named bridge.toml."""
    return parse_config(textwrap.dedent(text), "bridge.toml", profiles_dir)


def problems(text: str, profiles_dir: str | None = None) -> list[Problem]:
    """The problems a config text has; fails the test when it has none."""
    with pytest.raises(ConfigError) as info:
        parse(text, profiles_dir)
    return info.value.problems


def lines(text: str, profiles_dir: str | None = None) -> list[str]:
    """The problems of a config text as the printed lines."""
    return [str(p) for p in problems(text, profiles_dir)]
