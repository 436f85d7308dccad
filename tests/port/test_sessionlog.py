"""The session log writer: files never grow past log_max_bytes, nothing is lost (issue 13)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.port.sessionlog import SessionLogWriter

STAMP = re.compile(rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] ")
LIMIT = 4096


def logged(tmp_path: Path, chunks: list[bytes], *, timestamps: bool, mode: str = "device") -> list[bytes]:
    """Write ``chunks`` as device output through a writer; the files' contents, oldest first."""
    writer = SessionLogWriter(str(tmp_path), "p", mode=mode, timestamps=timestamps,
                              max_bytes=LIMIT, keep=50)
    for chunk in chunks:
        writer.device_output(chunk)
    writer.close()
    files = sorted(tmp_path.glob("p.log.*"), key=lambda f: -int(f.suffix[1:]))
    return [f.read_bytes() for f in [*files, tmp_path / "p.log"]]


CASES = {
    "one chunk larger than the room left": [b"x" * 4000 + b"\n", b"y" * 200 + b"\n"],
    "one chunk larger than the limit": [b"a" * 100, b"b" * 10000 + b"\n", b"c\n"],
    "lines in a big chunk": [b"".join(b"line %d\n" % i for i in range(2000))],
    "a chunk ending mid-line": [b"z" * 4090, b"q" * 50],
}


@pytest.mark.parametrize("timestamps", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_file_exceeds_the_limit_and_nothing_is_lost(tmp_path: Path, case: str, timestamps: bool) -> None:
    """Each file is at most log_max_bytes; the files together hold every byte, in order."""
    chunks = CASES[case]
    contents = logged(tmp_path, chunks, timestamps=timestamps)
    assert [len(c) for c in contents if len(c) > LIMIT] == []
    joined = b"".join(contents)
    if timestamps:
        joined = STAMP.sub(b"", joined)
    assert joined == b"".join(chunks)


def test_a_line_cut_by_the_limit_continues_after_a_timestamp(tmp_path: Path) -> None:
    """With timestamps, every file starts with a timestamp, also when a long line was cut."""
    contents = logged(tmp_path, [b"w" * 9000 + b"\n"], timestamps=True)
    assert len(contents) >= 3
    assert all(STAMP.match(c) for c in contents if c)


def test_a_large_client_input_record_is_cut_too(tmp_path: Path) -> None:
    """In log = "both" mode a client's large input (a record) respects the limit as well."""
    writer = SessionLogWriter(str(tmp_path), "p", mode="both", timestamps=True, max_bytes=LIMIT, keep=50)
    writer.device_output(b"o" * 4000)
    writer.client_input(b"i" * 6000, "127.0.0.1:5000")
    writer.close()
    sizes = [f.stat().st_size for f in tmp_path.glob("p.log*")]
    assert sizes and max(sizes) <= LIMIT
    assert sum(sizes) > 10000
