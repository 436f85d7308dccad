"""`serial-bridge passwd`: from a pipe, and from a terminal with getpass (pexpect)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pexpect

from bridge.access.passwords import verify_password


def test_passwd_reads_stdin_when_it_is_not_a_terminal() -> None:
    """Piped: the first line is the password; stdout is the hash alone."""
    result = subprocess.run([sys.executable, "-m", "bridge", "passwd", "--cost", "10"], input="hunter2\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    hashed = result.stdout.strip()
    assert hashed.startswith("scrypt$ln=10,") and verify_password("hunter2", hashed)


def test_passwd_refuses_an_empty_password_in_one_line() -> None:
    """Nothing on stdin: one clear line, exit 2, no hash."""
    result = subprocess.run([sys.executable, "-m", "bridge", "passwd"], input="", capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == "serial-bridge: error: empty password; nothing written"


def test_passwd_asks_twice_on_a_terminal_without_echo() -> None:
    """On a terminal: asked twice, not echoed; two different entries write nothing."""
    assert shutil.which(sys.executable)
    child = pexpect.spawn(sys.executable, ["-m", "bridge", "passwd", "--cost", "10"], timeout=30)
    child.expect("Password: ")
    child.sendline("s3cret")
    child.expect("Again: ")
    child.sendline("s3cret")
    child.expect(r"scrypt\$\S+")
    after = child.after
    assert isinstance(after, bytes)
    hashed = after.decode()
    child.expect(pexpect.EOF)
    assert b"s3cret" not in (child.before or b"")
    assert verify_password("s3cret", hashed)
    child = pexpect.spawn(sys.executable, ["-m", "bridge", "passwd", "--cost", "10"], timeout=30)
    child.expect("Password: ")
    child.sendline("one")
    child.expect("Again: ")
    child.sendline("two")
    child.expect("the two passwords differ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
