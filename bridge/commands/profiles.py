"""``serial-bridge profiles``: the hardware profiles and what each sets.

Shipped profiles come first in precedence order below a ``profiles_dir``
(from ``--profiles-dir``, or ``[bridge]`` of ``--config``), which adds
profiles and replaces shipped ones of the same name.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = "list the hardware profiles and what each sets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the profiles command's options."""
    parser.add_argument("--config", "-c", metavar="FILE",
                        help="also list the profiles of this config's profiles_dir")
    parser.add_argument("--profiles-dir", metavar="DIR",
                        help="a folder of your own profiles (<name>.toml); overrides --config's")
    parser.add_argument("--json", action="store_true", help="print JSON, for scripts")


def _as_json(profiles: dict[str, Any]) -> str:
    out = {name: {"description": p.description, "source": p.source, "file": p.path,
                  "builtin": p.builtin, "settings": dict(p.values)}
           for name, p in profiles.items()}
    return json.dumps(out, indent=2)


def _as_text(profiles: dict[str, Any]) -> str:
    from bridge.config.values import show

    width = max((len(name) for name in profiles), default=0)
    lines = []
    for name, p in profiles.items():
        origin = "" if p.builtin else f"  [{p.path}]"
        lines.append(f"{name:<{width}}  {p.description}{origin}")
        sets = " ".join(f"{key}={show(value)}" for key, value in p.values.items())
        lines.append(f"{'':<{width}}  sets: {sets or '(nothing)'}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """List the profiles; exit 2 (after listing the good ones) when a profile file is bad."""
    from bridge.config import ConfigError
    from bridge.config.load import config_profiles_dir
    from bridge.config.profiles import load_profiles

    folder = args.profiles_dir
    try:
        if folder is None and args.config is not None:
            folder = config_profiles_dir(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    profiles, problems = load_profiles(folder)
    print(_as_json(profiles) if args.json else _as_text(profiles))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 2 if problems else 0
