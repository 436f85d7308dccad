"""docs/configuration.md lists every key with its default, generated from the key table."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.config.doc import BEGIN, END, render_keys, show_default
from bridge.config.keys import BRIDGE_KEYS, PORT_KEYS
from bridge.config.load import parse_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _rows() -> dict[str, str]:
    """Key -> default cell of the tables in docs/configuration.md."""
    rows = {}
    for match in re.finditer(r"^\| `([a-z_]+)` \| ([^|]+) \|", DOC.read_text(encoding="utf-8"), re.M):
        rows[match.group(1)] = match.group(2).strip()
    return rows


def test_docs_list_every_key_with_its_default() -> None:
    """Each key of [bridge] and of a port has a row in the docs showing its default."""
    rows = _rows()
    for name, key in {**BRIDGE_KEYS, **PORT_KEYS}.items():
        assert rows.get(name) == show_default(key.default), name


def test_docs_key_section_is_up_to_date() -> None:
    """The generated section matches the key table (python -m bridge.config.doc rewrites it)."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(BEGIN): text.index(END) + len(END)]
    assert section == render_keys()


def test_docs_full_example_is_a_valid_config(tmp_path: Path) -> None:
    """The full example config of the docs passes the checks (its profiles_dir made to exist)."""
    text = DOC.read_text(encoding="utf-8")
    example = text.split("## A full example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "profiles").mkdir()
    config = parse_config(example, str(tmp_path / "bridge.toml"))
    assert len(config.ports) == 5


def test_profiles_doc_lists_every_shipped_profile() -> None:
    """docs/profiles.md's generated table is current and names every shipped profile."""
    from bridge.config import list_profiles
    from bridge.config.doc import PROFILES_BEGIN, PROFILES_END, render_profiles

    text = (DOC.parent / "profiles.md").read_text(encoding="utf-8")
    section = text[text.index(PROFILES_BEGIN): text.index(PROFILES_END) + len(PROFILES_END)]
    assert section == render_profiles()
    assert all(f"| `{name}` |" in section for name in list_profiles())


def test_doc_tool_rewrites_only_marked_sections(tmp_path: Path) -> None:
    """python -m bridge.config.doc refreshes a stale section and leaves the prose alone."""
    from bridge.config.doc import main

    path = tmp_path / "c.md"
    path.write_text(f"intro\n{BEGIN}\nstale\n{END}\noutro\n", encoding="utf-8")
    assert main([str(path)]) == 0
    assert path.read_text(encoding="utf-8") == f"intro\n{render_keys()}\noutro\n"
