"""What README.md says a profile does, next to ``profile = "..."``, is what the profile sets (issue 13)."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.config.profiles import load_profiles

README = Path(__file__).resolve().parents[2] / "README.md"
PROFILE_LINE = re.compile(r'^profile = "(?P<name>[^"]+)"\s*#(?P<comment>.*)$', re.M)
FRAMING = re.compile(r"\b(?P<baud>\d{3,7}) (?P<bytesize>[5-8])(?P<parity>[NEOMS])(?P<stopbits>1\.5|1|2)\b")
BREAK_MS = re.compile(r"\bbreak (?P<ms>\d+) ms\b")
IP_ACTION = re.compile(r"\bIP -> (?P<action>Ctrl-C|break)\b")
PARITY = {"N": "none", "E": "even", "O": "odd", "M": "mark", "S": "space"}


def claims() -> list[tuple[str, str]]:
    """(profile name, README comment) for every commented ``profile = "..."`` line."""
    return [(m["name"], m["comment"]) for m in PROFILE_LINE.finditer(README.read_text())]


def test_readme_profile_comments_match_the_profiles() -> None:
    """Framing, break length and IP mapping claimed in README comments are what each profile sets."""
    profiles, problems = load_profiles()
    assert problems == []
    found = claims()
    assert found, "README no longer shows a profile line with a comment"
    for name, comment in found:
        assert name in profiles, f"README names an unknown profile {name!r}"
        values = profiles[name].values
        if m := FRAMING.search(comment):
            assert values.get("baud") == int(m["baud"]), (name, comment)
            assert values.get("bytesize") == int(m["bytesize"]), (name, comment)
            assert values.get("parity") == PARITY[m["parity"]], (name, comment)
            assert str(values.get("stopbits")) == m["stopbits"], (name, comment)
        if m := BREAK_MS.search(comment):
            assert values.get("break_ms") == int(m["ms"]), (name, comment)
        if m := IP_ACTION.search(comment):
            assert values.get("ip_action") == m["action"].lower(), (name, comment)
        elif "IP" in comment.split():
            raise AssertionError(f"README says something about IP for {name} the test cannot check: {comment}")
