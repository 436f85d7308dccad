"""History: the bounded ring of recent device output, tested directly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bridge.port.history import History


def test_keeps_the_last_capacity_bytes_oldest_first() -> None:
    """Appends past the capacity drop the oldest bytes, slicing the oldest chunk."""
    ring = History(10)
    for chunk in (b"abcd", b"efgh", b"ijkl"):
        ring.append(chunk)
    assert ring.snapshot() == b"cdefghijkl"
    assert len(ring) == 10


def test_a_chunk_larger_than_the_capacity_keeps_its_tail() -> None:
    ring = History(4)
    ring.append(b"0123456789")
    assert ring.snapshot() == b"6789"


def test_zero_capacity_keeps_nothing_and_clear_empties() -> None:
    assert History(0).snapshot() == b""
    ring = History(8)
    ring.append(b"data")
    ring.clear()
    assert ring.snapshot() == b"" and len(ring) == 0


@given(st.integers(0, 64), st.lists(st.binary(max_size=40), max_size=30))
def test_the_ring_is_the_tail_of_everything_appended(capacity: int, chunks: list[bytes]) -> None:
    """Whatever the chunks, the snapshot is the last ``capacity`` bytes of their concatenation."""
    ring = History(capacity)
    for chunk in chunks:
        ring.append(chunk)
    everything = b"".join(chunks)
    assert ring.snapshot() == (everything[-capacity:] if capacity else b"")
    assert len(ring) == len(ring.snapshot())
