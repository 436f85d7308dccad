"""The access keys (issue 11) as `check` and `serve` read them: files, hashes, globs, allow lists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest

from bridge.access.passwords import hash_password
from bridge.config import ConfigError, load_config
from tests.access.certs import make_pki

PORTS = '''
[[port]]
name = "rtr1"
device = "/dev/null"
listen = 0

[[port]]
name = "lab-a"
device = "/dev/null"
listen = 0
'''


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "bridge.toml"
    path.write_text(text)
    try:
        load_config(path)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


def _check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "bridge.toml"
    path.write_text(text)
    return subprocess.run([sys.executable, "-m", "bridge", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_a_full_access_config_loads_with_paths_resolved(tmp_path: Path) -> None:
    """Every access key read into the model; paths are taken from the config's folder."""
    pki = make_pki(tmp_path)
    key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "alice.pub").write_text(key.export_public_key().decode())
    hashed = hash_password("pw", ln=10)
    path = tmp_path / "bridge.toml"
    path.write_text(f'''
[bridge]
ssh_listen = "127.0.0.1:0"
tls_cert = "cert.pem"
tls_key = "key.pem"
tls_client_ca = "ca.pem"
allow = ["127.0.0.1", "2001:db8::/32"]

[[user]]
name = "alice"
keys = "alice.pub"
password = "{hashed}"
ports = ["rtr1"]
watch = ["lab-*"]
''' + PORTS + 'tls = true\nallow = ["10.0.0.0/8"]\n')
    config = load_config(path)
    assert config.tls_cert == str(pki.cert) and config.tls_client_ca == str(pki.ca)
    assert config.ssh_host_key == str(tmp_path / "ssh_host_ed25519_key")
    assert config.ssh_port == 0 and config.ssh_host == "127.0.0.1"
    assert config.allow == ("127.0.0.1/32", "2001:db8::/32")
    assert config.port("rtr1").allow == ("127.0.0.1/32", "2001:db8::/32")   # [bridge]'s, as a default
    assert config.port("lab-a").allow == ("10.0.0.0/8",) and config.port("lab-a").tls
    (alice,) = config.users
    assert alice.name == "alice" and alice.password == hashed and len(alice.keys) == 1
    assert alice.ports == ("rtr1",) and alice.watch == ("lab-*",)


@pytest.mark.parametrize("body, expected", [
    ('[bridge]\nallow = ["192.0.2.7/24"]\n', "has host bits set; did you mean \"192.0.2.0/24\"?"),
    ('[bridge]\nallow = ["example.com"]\n', "is not an IPv4 or IPv6 address or network"),
    ('[bridge]\nallow = []\n', "leave it out to allow every address"),
    ('[[user]]\nname = "bob"\npassword = "hunter2"\n', 'made by "serial-bridge passwd"'),
    ('[[user]]\nname = "bob"\npassword = "scrypt$ln=40,r=8,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"\n',
     "parameters out of bounds"),
    ('[[user]]\nname = "bob"\nkeys = ["ssh-ed25519 AAAA garbage"]\n', "bad authorized_keys line"),
    ('[[user]]\nname = "bob"\nkeys = "nowhere.pub"\n', "file not found"),
    ('[[user]]\nname = "bob"\nkeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPfWWSqQj3H7MgOmqudQ8R3ab4JWcUyD2Lm8dD6Ogqp3 x"]\n'
     'ports = ["core-*"]\n', "'core-*' names no port"),
    ('[[user]]\nname = "bob"\n', "needs keys or password"),
    ('[[user]]\nname = "a:b"\npassword = "x"\n', "must be a name"),
    ('[user]\nname = "bob"\n', "write [[user]]"),
    ('[bridge]\ntls_cert = "cert.pem"\n', "tls_cert and tls_key go together"),
])
def test_bad_access_keys_are_one_clear_line_each(tmp_path: Path, body: str, expected: str) -> None:
    """A bad value names the key and says what it must be."""
    problems = _problems(tmp_path, body + PORTS)
    assert any(expected in p for p in problems), problems


def test_a_tls_port_needs_cert_and_key(tmp_path: Path) -> None:
    """tls = true without [bridge] tls_cert/tls_key is a problem naming the port."""
    problems = _problems(tmp_path, PORTS + "tls = true\n")
    assert any("lab-a has tls = true: [bridge] needs tls_cert and tls_key" in p for p in problems), problems


def test_a_private_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    """tls_key and ssh_host_key must not be readable by others: check says how to fix it."""
    pki = make_pki(tmp_path)
    os.chmod(pki.key, 0o644)
    host_key = tmp_path / "host_key"
    host_key.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    os.chmod(host_key, 0o604)
    result = _check(tmp_path, f'[bridge]\ntls_cert = "cert.pem"\ntls_key = "key.pem"\n'
                              f'ssh_listen = 0\nssh_host_key = "host_key"\n' + PORTS)
    assert result.returncode == 2
    assert f"key 'tls_key': {pki.key} is readable by others (mode 0644); make it private: chmod 600 {pki.key}" \
        in result.stderr
    assert f"key 'ssh_host_key': {host_key} is readable by others (mode 0604)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_certificate_that_does_not_match_its_key_is_refused(tmp_path: Path) -> None:
    """check loads the certificate and key as serve would."""
    pki = make_pki(tmp_path)
    result = _check(tmp_path, f'[bridge]\ntls_cert = "{pki.cert}"\ntls_key = "{pki.client_key}"\n' + PORTS)
    assert result.returncode == 2 and "cannot load certificate" in result.stderr, result.stderr


def test_check_accepts_a_good_access_config(tmp_path: Path) -> None:
    """The same config check passes is one serve starts."""
    make_pki(tmp_path)
    result = _check(tmp_path, '[bridge]\nssh_listen = 0\ntls_cert = "cert.pem"\ntls_key = "key.pem"\n'
                              '[[user]]\nname = "bob"\npassword = "' + hash_password("x", ln=10) + '"\n'
                              'ports = ["*"]\n' + PORTS)
    assert result.returncode == 0, result.stderr
    assert "OK, 2 ports" in result.stdout


def test_bridge_keys_of_other_issues_stay_in_bridge_not_in_user(tmp_path: Path) -> None:
    """[bridge] takes metrics and mdns (issue 14); a [[user]] does not (a merge once put them there)."""
    path = tmp_path / "bridge.toml"
    path.write_text('[bridge]\nmetrics = "127.0.0.1:0"\nmdns = false\n' + PORTS)
    assert load_config(path).metrics == "127.0.0.1:0"
    problems = _problems(tmp_path, '[[user]]\nname = "bob"\npassword = "x"\nmetrics = 9100\n' + PORTS)
    assert any("key 'metrics': unknown key" in p for p in problems), problems
