"""No ``b"\\xff" in data``: a one-byte bytes object tested for membership in bytes.

CPython 3.11's ``bytes.__contains__`` first tries its argument as an int index
and, for a bytes argument, raises and clears a TypeError (its message
formatted) before it searches: about 0.3 us a test, where the int
(``IAC_CODE in data``) is one memchr. On the keystroke path four such tests
cost as much as a Python frame each way (docs/performance.md, "One frame each
way"). This checks the whole package, so that the slow form does not come
back anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bridge

PACKAGE = Path(bridge.__file__).parent


def _one_byte_names(trees: dict[Path, ast.Module]) -> set[str]:
    """Names bound at module level, anywhere in the package, to a one-byte bytes literal."""
    names = set()
    for tree in trees.values():
        for node in tree.body:
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, bytes) and len(node.value.value) == 1):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _slow_tests(tree: ast.Module, names: set[str]) -> list[int]:
    """Lines where a one-byte bytes (a literal or one of ``names``) is the left side of ``in``."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            continue
        left = node.left
        literal = isinstance(left, ast.Constant) and isinstance(left.value, bytes) and len(left.value) == 1
        if literal or (isinstance(left, ast.Name) and left.id in names):
            lines.append(node.lineno)
    return lines


def test_no_one_byte_bytes_is_tested_for_membership() -> None:
    trees = {path: ast.parse(path.read_text(), filename=str(path)) for path in sorted(PACKAGE.rglob("*.py"))}
    names = _one_byte_names(trees)
    assert {"IAC_BYTE", "CR"} <= names   # the check sees the constants it is about
    found = [f"{path.relative_to(PACKAGE)}:{line}" for path, tree in trees.items()
             for line in _slow_tests(tree, names)]
    assert not found, f"use the int (IAC_CODE, CR_CODE, 0x0A ...) instead: {found}"


def test_the_check_finds_the_slow_form() -> None:
    """The check itself: it flags a literal and a named constant, not an int or a longer bytes."""
    source = "\n".join([
        'CR = b"\\r"',
        "LF = 10",
        "a = CR in d",
        'b = b"\\xff" not in d',
        "c = LF in d",
        'e = b"ab" in d',
        "f = 13 in d",
    ])
    tree = ast.parse(source)
    assert _slow_tests(tree, _one_byte_names({Path("x.py"): tree})) == [3, 4]
