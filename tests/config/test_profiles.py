"""Hardware profiles: every shipped one is valid; profiles_dir adds, overrides and is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import ConfigError, list_profiles
from bridge.config.keys import NOT_IN_PROFILE, PORT_KEYS
from bridge.config.profiles import builtin_dir
from tests.config.conftest import lines, parse

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "hw_profiles"
SHIPPED = sorted(p.stem for p in SHIPPED_DIR.glob("*.toml"))

# The equipment the profiles must cover (issue 6, item 8), by profile name.
REQUIRED = ["cisco-console", "cisco-rommon", "juniper-junos", "arista-eos", "aruba-cx",
            "mikrotik-routerboard", "fortinet-fortigate", "paloalto-panos", "raspberry-pi-uart",
            "uboot-linux-sbc", "esp32", "esp8266", "arduino-uno", "arduino-mega", "stm32-nucleo",
            "generic-9600", "generic-115200"]


def test_shipped_profiles_cover_the_required_equipment() -> None:
    """At least 15 profiles ship, including one for each kind of equipment asked for."""
    assert len(SHIPPED) >= 15
    assert set(REQUIRED) <= set(SHIPPED)


def test_list_profiles_finds_the_shipped_files() -> None:
    """list_profiles reads exactly the files of hw_profiles/ (from the package or the checkout)."""
    found = list_profiles()
    assert sorted(found) == SHIPPED
    assert all(p.builtin for p in found.values())
    assert sorted(f.name[:-5] for f in builtin_dir().iterdir() if f.name.endswith(".toml")) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_is_valid_and_cites_its_source(name: str) -> None:
    """Each shipped profile loads without problems, sets line settings and says where its facts are from."""
    profile = list_profiles()[name]
    text = (SHIPPED_DIR / f"{name}.toml").read_text(encoding="utf-8")
    assert text.startswith("# ") and "Facts:" in text.split("\ndescription", 1)[0]
    assert profile.description and "\n" not in profile.description
    assert profile.source
    assert {"baud", "bytesize", "parity", "stopbits", "flow"} <= set(profile.values)
    assert not set(profile.values) & NOT_IN_PROFILE


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_works_in_a_port(name: str) -> None:
    """A port using each shipped profile loads and takes the profile's values."""
    config = parse(f'[[port]]\nname = "p"\ndevice = "loop://"\nlisten = 7001\nprofile = "{name}"\n')
    port = config.ports[0]
    for key, value in list_profiles()[name].values.items():
        assert getattr(port, key) == value


@pytest.mark.parametrize("name", ["esp32", "esp8266", "arduino-uno", "arduino-mega"])
def test_boards_are_not_reset_by_a_connect(name: str) -> None:
    """Boards with a DTR/RTS reset circuit keep DTR on close (no HUPCL) and set DTR/RTS on open."""
    values = list_profiles()[name].values
    assert values["hupcl"] is False
    assert values["dtr_on_close"] == "keep" and values["rts_on_close"] == "keep"
    expected = "off" if name.startswith("arduino") else "on"
    assert values["dtr_on_open"] == expected and values["rts_on_open"] == expected


def test_profiles_dir_adds_and_overrides(tmp_path: Path) -> None:
    """A user profile adds a name, and one named like a shipped profile replaces it whole."""
    (tmp_path / "mine.toml").write_text('description = "my board"\nbaud = 230400\n')
    (tmp_path / "cisco-console.toml").write_text('description = "site Cisco"\nbaud = 19200\n')
    (tmp_path / "README.md").write_text("not a profile")
    found = list_profiles(tmp_path)
    assert found["mine"].values == {"baud": 230400} and not found["mine"].builtin
    assert dict(found["cisco-console"].values) == {"baud": 19200}
    assert found["cisco-console"].path == str(tmp_path / "cisco-console.toml")
    assert "README" not in found and "generic-9600" in found


def test_bad_profile_names_its_file_and_key(tmp_path: Path) -> None:
    """Every problem of a profile file names that file, its line and the key."""
    path = tmp_path / "bad.toml"
    path.write_text('description = "bad"\nbaud = "fast"\ndevice = "/dev/x"\nstopbit = 1\nbind = "::"\n')
    with pytest.raises(ConfigError) as info:
        list_profiles(tmp_path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:2: key 'baud': must be a positive integer, got \"fast\"",
        f"{path}:3: key 'device': 'device' belongs to a port, not to a profile",
        f"{path}:4: key 'stopbit': unknown key; did you mean 'stopbits'?",
        f"{path}:5: key 'bind': only [bridge] takes it, not a profile",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("baud = 9600\n", ": key 'description': missing; every profile needs a one-line description"),
    ('description = "a\\nb"\n', ":1: key 'description': must be a single line"),
    ('description = "x"\nsource = 3\n', ":2: key 'source': must be a string, got 3"),
    ("description = \n", ":1: TOML syntax error: invalid value (column 15)"),
])
def test_profile_description_source_and_syntax(tmp_path: Path, text: str, expected: str) -> None:
    """A profile needs a one-line description; source is text; TOML errors keep their line."""
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        list_profiles(tmp_path)
    assert [str(p) for p in info.value.problems] == [f"{path}{expected}"]


def test_bad_user_profile_is_reported_by_the_config_that_uses_its_folder(tmp_path: Path) -> None:
    """A config whose profiles_dir holds a bad profile is not valid, and the problem names the profile file."""
    (tmp_path / "lab.toml").write_text('description = "lab"\nparity = "evn"\n')
    text = '[[port]]\nname = "a"\ndevice = "loop://"\nlisten = 7001\nprofile = "lab"\n'
    assert lines(text, profiles_dir=str(tmp_path)) == [
        f"{tmp_path / 'lab.toml'}:2: key 'parity': must be one of none | even | odd | mark | space, "
        'got "evn"; did you mean "even"?']


def test_missing_profiles_dir_in_config_is_reported_at_its_key(tmp_path: Path) -> None:
    """A profiles_dir that does not exist is a problem at that key of [bridge]."""
    text = '[bridge]\nprofiles_dir = "nowhere"\n'
    assert lines(text) == ["bridge.toml:2: key 'profiles_dir': directory not found: nowhere"]


def test_profile_keys_come_from_the_key_table() -> None:
    """A profile may set every port key except the per-port ones."""
    from bridge.config.keys import PROFILE_KEYS

    assert set(PROFILE_KEYS) == set(PORT_KEYS) - NOT_IN_PROFILE
    assert {"name", "device", "listen", "listen_readonly", "profile", "required",
            "enabled", "allow", "tls"} == NOT_IN_PROFILE
