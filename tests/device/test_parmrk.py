"""The PARMRK mark decoder: exact items for exact bytes, for any split."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.device.parmrk import BREAK, BreakMark, ErrorMark, Item, MarkDecoder

Event = bytes | BreakMark | ErrorMark


def _merge(items: list[Item]) -> list[Item]:
    """Join adjacent data runs, so that results of different splits compare."""
    out: list[Item] = []
    for item in items:
        if isinstance(item, bytes) and out and isinstance(out[-1], bytes):
            out[-1] = out[-1] + item
        else:
            out.append(item)
    return out


def _decode(chunks: list[bytes]) -> list[Item]:
    """Feed the chunks to one decoder and merge the result."""
    decoder = MarkDecoder()
    items: list[Item] = []
    for chunk in chunks:
        items.extend(decoder.feed(chunk))
    return _merge(items)


def _encode(events: list[Event]) -> bytes:
    """Mark a stream of events the way the Linux line discipline does."""
    out = bytearray()
    for event in events:
        if isinstance(event, bytes):
            out += event.replace(b"\xff", b"\xff\xff")
        elif isinstance(event, ErrorMark):
            out += bytes((0xFF, 0, event.byte))
        else:
            out += b"\xff\x00\x00"
    return bytes(out)


def _expected(events: list[Event]) -> list[Item]:
    """What the decoder must return for the events: an error's byte follows it as data."""
    items: list[Item] = []
    for event in events:
        items.append(event)
        if isinstance(event, ErrorMark):
            items.append(bytes((event.byte,)))
    return _merge([item for item in items if item != b""])


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut data at the given offsets (taken modulo its length)."""
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


CASES = [
    (b"hello", [b"hello"]),
    (b"a\xff\xffb", [b"a\xffb"]),
    (b"\xff\xff\xff\xff", [b"\xff\xff"]),
    (b"a\xff\x00\x00b", [b"a", BREAK, b"b"]),
    (b"\xff\x00\x00", [BREAK]),
    (b"a\xff\x00Xb", [b"a", ErrorMark(ord("X")), b"Xb"]),
    (b"\xff\x00\xff", [ErrorMark(0xFF), b"\xff"]),
    (b"\xff\x00\x00\xff\x00\x00", [BREAK, BREAK]),
    (b"\xff\xff\x00\x00", [b"\xff\x00\x00"]),
    (b"a\xffb", [b"a\xffb"]),
]


@pytest.mark.parametrize(("raw", "items"), CASES)
def test_decoder_turns_marks_into_exact_items(raw: bytes, items: list[Item]) -> None:
    """Each marked input decodes to exactly the listed data runs and marks."""
    assert _decode([raw]) == items


def test_chunk_without_ff_is_returned_as_the_same_object() -> None:
    """A read without 0xFF is passed through untouched, not copied."""
    chunk = b"plain console output\r\n" * 100
    result = MarkDecoder().feed(chunk)
    assert len(result) == 1 and result[0] is chunk


def test_mark_cut_by_a_read_boundary_is_held_for_the_next_read() -> None:
    """A trailing FF or FF 00 is held back and completed by the next read."""
    decoder = MarkDecoder()
    assert decoder.feed(b"ab\xff") == [b"ab"]
    assert decoder.pending == b"\xff"
    assert decoder.feed(b"\x00") == []
    assert decoder.pending == b"\xff\x00"
    assert decoder.feed(b"\x00cd") == [BREAK, b"cd"]
    assert decoder.pending == b""


def test_empty_read_gives_nothing() -> None:
    """Feeding an empty chunk returns no items."""
    assert MarkDecoder().feed(b"") == []


_EVENTS = st.lists(
    st.one_of(
        st.binary(max_size=12),
        st.sampled_from([b"\xff", b"\xff\x00", b"\x00\xff\xff"]),
        st.just(BREAK),
        st.integers(min_value=1, max_value=255).map(ErrorMark),
    ),
    max_size=12,
)
_CUTS = st.lists(st.integers(min_value=0, max_value=400), max_size=8)


@settings(max_examples=300, deadline=None)
@given(events=_EVENTS, cuts=_CUTS)
def test_any_split_of_a_marked_stream_decodes_to_its_events(
    events: list[Event], cuts: list[int]
) -> None:
    """However the kernel's marked stream is cut into reads, the decoded events are the same."""
    raw = _encode(events)
    assert _decode(_split(raw, cuts)) == _expected(events)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=64), cuts=_CUTS)
def test_any_bytes_decode_the_same_for_any_split(raw: bytes, cuts: list[int]) -> None:
    """Even malformed input decodes identically whole or split, and never raises."""
    assert _decode(_split(raw, cuts)) == _decode([raw])
