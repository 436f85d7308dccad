"""Configuration: TOML and hardware profiles read into frozen dataclasses.

Read only at load and reload (DESIGN.md). The public API:

- ``load_config(path)`` / ``parse_config(text, source, profiles_dir=None)``
  give a ``BridgeConfig`` or raise ``ConfigError`` listing every ``Problem``;
- ``port_differences(old, new)`` names the fields of a port that changed;
- ``list_profiles(profiles_dir=None)`` gives the hardware profiles by name.
"""

from __future__ import annotations

from bridge.config.load import load_config, parse_config
from bridge.config.model import BridgeConfig, PortConfig, port_differences
from bridge.config.problem import ConfigError, Problem
from bridge.config.profiles import Profile, list_profiles

__all__ = [
    "BridgeConfig",
    "ConfigError",
    "PortConfig",
    "Problem",
    "Profile",
    "list_profiles",
    "load_config",
    "parse_config",
    "port_differences",
]
