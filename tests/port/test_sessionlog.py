"""SessionLogWriter, tested directly on a real directory."""

from __future__ import annotations

from pathlib import Path

from bridge.port.sessionlog import SessionLogWriter


def test_device_output_is_written_as_it_came_without_timestamps(tmp_path: Path) -> None:
    writer = SessionLogWriter(str(tmp_path), "p1", timestamps=False)
    writer.device_output(b"boot\r\n")
    writer.device_output(b"login: ")
    writer.close()
    assert (tmp_path / "p1.log").read_bytes() == b"boot\r\nlogin: "


def test_client_input_is_recorded_only_in_both_mode(tmp_path: Path) -> None:
    quiet = SessionLogWriter(str(tmp_path), "dev", timestamps=False)
    quiet.client_input(b"secret", "127.0.0.1:1")
    quiet.close()
    assert not (tmp_path / "dev.log").exists() or b"secret" not in (tmp_path / "dev.log").read_bytes()
    both = SessionLogWriter(str(tmp_path), "both", mode="both", timestamps=False)
    both.client_input(b"ls\r", "127.0.0.1:1")
    both.close()
    assert b"[input from 127.0.0.1:1: b'ls\\r']" in (tmp_path / "both.log").read_bytes()


def test_timestamps_start_each_line(tmp_path: Path) -> None:
    writer = SessionLogWriter(str(tmp_path), "ts")
    writer.device_output(b"one\ntwo\n")
    writer.close()
    lines = (tmp_path / "ts.log").read_bytes().splitlines()
    assert len(lines) == 2 and all(line.startswith(b"[") for line in lines)
