"""The in-band break sequence (issue 4, break map): pure, no sockets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.port.inband import BREAK, InbandBreak


def run(chunks: list[bytes], seq: bytes = b"~~b") -> list[bytes | None]:
    """Feed chunks and join adjacent data runs, so results do not depend on chunking."""
    det = InbandBreak(seq)
    out: list[bytes | None] = []
    for chunk in chunks:
        for item in det.feed(chunk):
            if item is not None and out and out[-1] is not None:
                out[-1] = out[-1] + item
            else:
                out.append(item)
    return out


@pytest.mark.parametrize(("chunks", "expected"), [
    ([b"~~b"], [BREAK]),
    ([b"ls\r~~b"], [b"ls\r", BREAK]),
    ([b"ls\n~~bafter"], [b"ls\n", BREAK, b"after"]),
    ([b"a~~b"], [b"a~~b"]),                        # not at the start of a line
    ([b"~~x"], [b"~~x"]),                          # a mismatch passes on unchanged
    ([b"~", b"~", b"b"], [BREAK]),                 # split across reads
    ([b"ok\r~", b"~"], [b"ok\r"]),                 # held: still undecided
    ([b"\r~~b\r~~b"], [b"\r", BREAK, b"\r", BREAK]),
    ([b"plain text"], [b"plain text"]),
])
def test_break_sequence_at_line_start_becomes_a_break(chunks: list[bytes], expected: list[bytes | None]) -> None:
    """The sequence at the start of a line becomes a break; anywhere else it is data."""
    assert run(chunks) == expected


def test_held_bytes_pass_on_when_the_next_read_decides_against() -> None:
    """A held partial match is released as data when the next byte does not continue it."""
    det = InbandBreak(b"~~b")
    assert det.feed(b"~") == []
    assert det.feed(b"~q") == [b"~~q"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64).map(lambda b: b.replace(b"~", b"")), st.lists(st.integers(0, 64), max_size=6))
def test_data_without_the_first_byte_passes_unchanged_whatever_the_split(data: bytes, cuts: list[int]) -> None:
    """Input that never contains the sequence's first byte is passed on exactly, for any split."""
    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    joined = b"".join(x for x in run(chunks) if x is not None)
    assert joined == data
