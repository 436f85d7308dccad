"""Value checkers and the line locator, on their own."""

from __future__ import annotations

import pytest

from bridge.config.locate import locate
from bridge.config.values import Invalid, split_listen, usb_selector


@pytest.mark.parametrize(("selector", "fields"), [
    ("usb:serial=A1B2C3", {"serial": "A1B2C3"}),
    ("usb:vid=0403,pid=6001,serial=X,interface=1",
     {"vid": "0403", "pid": "6001", "serial": "X", "interface": "1"}),
    ("usb:path=1-1.4", {"path": "1-1.4"}),
    ("usb: vid = 10C4 , pid = EA60", {"vid": "10C4", "pid": "EA60"}),
])
def test_usb_selector_parses_its_fields(selector: str, fields: dict[str, str]) -> None:
    """A well-formed usb: selector gives its fields as a dict."""
    assert usb_selector(selector) == fields


def test_usb_selector_rejects_a_trailing_comma() -> None:
    """An empty field after a comma is a syntax error."""
    with pytest.raises(Invalid, match="needs key=value pairs"):
        usb_selector("usb:serial=A,")


@pytest.mark.parametrize(("value", "split"), [
    (7001, (None, 7001)), ("7001", (None, 7001)), ("h:1", ("h", 1)),
    ("[::1]:7001", ("::1", 7001)), (":9", (None, 9)),
])
def test_split_listen(value: int | str, split: tuple[str | None, int]) -> None:
    """split_listen gives (host or None, port), stripping IPv6 brackets."""
    assert split_listen(value) == split


def test_locate_tracks_tables_keys_comments_and_quoted_headers() -> None:
    """Keys are placed in their table, including after commented and quoted headers."""
    text = ('top = 1\n[ bridge ]  # main\nbind = "x"\n[[port]] # first\nname = "a"\n'
            '[["port"]]\n"name" = "b"\nbaud.x = 1\n[port.sub]\nk = 1\n')
    found = locate(text)
    assert found.keys[("", None, "top")] == 1
    assert found.tables[("bridge", None)] == 2 and found.keys[("bridge", None, "bind")] == 3
    assert found.tables[("port", 0)] == 4 and found.keys[("port", 0, "name")] == 5
    assert found.tables[("port", 1)] == 6 and found.keys[("port", 1, "name")] == 7
    assert found.keys[("port", 1, "baud")] == 8
    assert found.keys[("port.sub", None, "k")] == 10


def test_locate_skips_multiline_values() -> None:
    """Lines inside multi-line strings and arrays are not taken for keys or headers."""
    text = "a = '''\nb = 1\n[x]\n'''\nc = [\n  [1],\n  'd = 2',\n]\ne = 3\n"
    found = locate(text)
    assert found.keys == {("", None, "a"): 1, ("", None, "c"): 5, ("", None, "e"): 9}
    assert found.tables == {}
