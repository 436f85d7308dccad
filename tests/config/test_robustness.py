"""Whatever the file holds, loading gives a config or a ConfigError: never another exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config import ConfigError, parse_config
from bridge.config.keys import BRIDGE_KEYS, PORT_KEYS
from bridge.config.locate import locate

KEY_NAMES = [*PORT_KEYS, *BRIDGE_KEYS, "bogus", "ports", "port", '"a\\nb"', "a.b", '"x y"']
TOML_VALUES = st.one_of(
    st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
    .map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(['"loop://"', '"usb:vid=0403"', '"[::1]:7001"', "[1, 2]", "{a = 1}",
                     '"cisco-console"', "7001", '"none"', '"""\nx\n"""']),
)
LINES = st.one_of(
    st.tuples(st.sampled_from(KEY_NAMES), TOML_VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.sampled_from(["[bridge]", "[[port]]", "[port]", "[other]", "# comment", "", "[[port]] # c"]),
)


def _load(text: str) -> None:
    try:
        parse_config(text, "fuzz.toml")
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert "\n" not in str(problem)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=25))
def test_structured_random_configs_load_or_give_one_line_problems(lines: list[str]) -> None:
    """Random sequences of tables and key = value lines never raise anything but ConfigError."""
    _load("\n".join(lines) + "\n")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_loader(text: str) -> None:
    """Arbitrary text gives a config or a ConfigError whose problems are single lines."""
    _load(text)
    locate(text)
