"""What a module imports, read from its source: the one reader behind every layering test
(tests/telnet, tests/port, tests/client, tests/dashboard, tests/test_packaging)."""

from __future__ import annotations

import ast
from pathlib import Path


def imports_of(path: Path, package: str | None = None) -> list[str]:
    """The modules one file imports, in source order: ``import a.b`` gives ``a.b``,
    ``from a.b import c`` gives ``a.b``. A relative import gives ``package`` when one is
    named (the file's own package), and is left out otherwise."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0 and package is not None:
            names.append(package)
    return names


def imports_under(folder: Path) -> set[str]:
    """Every module the Python files under ``folder`` import (absolute imports)."""
    return {name for path in folder.rglob("*.py") for name in imports_of(path)}
