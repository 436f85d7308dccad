"""Recorded ``list_ports`` entries and the /dev/serial links that went with them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bridge.device.adapters import Adapter, entries_from_records, list_adapters

DATA = Path(__file__).resolve().parent.parent / "data" / "list_ports"


def load(name: str) -> dict[str, Any]:
    """The recorded JSON document ``tests/data/list_ports/<name>.json``."""
    with open(DATA / f"{name}.json", encoding="utf-8") as fh:
        document: dict[str, Any] = json.load(fh)
    return document


def make_dev_root(tmp: Path, links: dict[str, str]) -> Path:
    """Recreate the recorded /dev/serial symlinks under ``tmp/dev``."""
    dev = tmp / "dev"
    for relative, target in links.items():
        link = dev / "serial" / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)
    return dev


def recorded_adapters(tmp: Path, name: str = "lab") -> list[Adapter]:
    """The adapters of a recording, with its by-id/by-path links rebuilt under ``tmp``."""
    document = load(name)
    dev = make_dev_root(tmp, document.get("links", {}))
    return list_adapters(entries_from_records(document["entries"]), dev_root=str(dev))
