"""``serial-bridge ports`` on recorded adapters and on this machine."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.commands import ports
from tests.hardware.recorded import recorded_adapters


def args(as_json: bool = False) -> argparse.Namespace:
    """The namespace the CLI would pass to ports.run."""
    return argparse.Namespace(json=as_json)


def test_table_lists_every_recorded_adapter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table has a header and one row per adapter with by-id name, ids, serial and location."""
    assert ports.run(args(), recorded_adapters(tmp_path)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["DEVICE", "BY-ID", "VID:PID", "SERIAL", "MANUFACTURER", "PRODUCT", "LOCATION"]
    assert len(lines) == 12
    ftdi = next(line for line in lines if line.startswith("/dev/ttyUSB0 "))
    assert ftdi.split()[:5] == ["/dev/ttyUSB0", "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0",
                                "0403:6001", "A50285BI", "FTDI"]
    assert re.split(r"\s{2,}", ftdi)[5:] == ["FT232R USB UART", "1-1.4"]
    quad = next(line for line in lines if line.startswith("/dev/ttyUSB2 "))
    assert quad.endswith("1-1.2 if1")
    uart = next(line for line in lines if line.startswith("/dev/ttyAMA0 "))
    assert uart.split() == ["/dev/ttyAMA0", "-", "-", "-", "-", "-", "-"]


def test_ch340_without_serial_or_link_shows_dashes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CH340 whose by-id link was taken by its twin shows '-' for by-id, serial and manufacturer."""
    ports.run(args(), recorded_adapters(tmp_path))
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("/dev/ttyUSB5 "))
    assert row.split() == ["/dev/ttyUSB5", "-", "1a86:7523", "-", "-", "USB2.0-Serial", "1-1.3"]


def test_json_output_is_a_list_of_adapter_dicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one object per adapter with hex ids, links and interface numbers."""
    assert ports.run(args(as_json=True), recorded_adapters(tmp_path)) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["device"] for d in data][:3] == ["/dev/ttyACM0", "/dev/ttyAMA0", "/dev/ttyUSB0"]
    quad = next(d for d in data if d["device"] == "/dev/ttyUSB4")
    assert (quad["vid_pid"], quad["serial_number"], quad["location"], quad["interface"]) == (
        "0403:6011", "FT4Q7K2X", "1-1.2", 3)
    assert quad["by_id"].endswith("/serial/by-id/usb-FTDI_Quad_RS232-HS_FT4Q7K2X-if03-port0")


def test_no_adapters_says_so_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """With no adapters the command prints one line and exits 0."""
    assert ports.run(args(), []) == 0
    assert capsys.readouterr().out == "no serial adapters found\n"


def test_no_adapters_in_json_is_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    """With no adapters --json prints an empty list."""
    assert ports.run(args(as_json=True), []) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_real_machine_ports_command_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI lists this machine's real adapters (or none) and exits 0 without a traceback."""
    assert main(["ports"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("DEVICE") or out == "no serial adapters found\n"
    assert main(["ports", "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)
