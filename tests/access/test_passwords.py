"""scrypt$ password hashes: made, verified, and malformed ones never match."""

from __future__ import annotations

import pytest

from bridge.access.passwords import hash_password, parse_hash, verify_password


def test_a_hash_verifies_its_password_only() -> None:
    """The right password matches; another does not; two hashes of one password differ (salt)."""
    one, two = hash_password("s3cret", ln=10), hash_password("s3cret", ln=10)
    assert one.startswith("scrypt$ln=10,r=8,p=1$") and one != two
    assert verify_password("s3cret", one) and verify_password("s3cret", two)
    assert not verify_password("s3cret ", one)
    assert str(parse_hash(one)) == one


@pytest.mark.parametrize("bad", ["", "scrypt", "bcrypt$x$y$z", "scrypt$ln=14$AAAA$AAAA",
                                 "scrypt$ln=14,r=8,p=1$@@@$AAAA", "scrypt$ln=99,r=8,p=1$AAAAAAAAAAA$" + "A" * 43])
def test_malformed_hashes_are_refused_and_never_match(bad: str) -> None:
    """parse_hash says what is wrong; verify_password is False rather than raising."""
    with pytest.raises(ValueError):
        parse_hash(bad)
    assert not verify_password("anything", bad)
