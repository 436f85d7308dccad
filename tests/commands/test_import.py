"""`serial-bridge import ser2net`: real-world ser2net files (ser2net's own examples, ConsolePi's
generated ones) to TOML that `check` accepts, one warning line per setting left behind."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bridge.cli import main

DATA = Path(__file__).resolve().parent.parent / "data" / "ser2net"

# file -> ports converted
REAL_WORLD = {
    "consolepi.yaml": 42,
    "consolepi.conf": 40,
    "ser2net-example-v1.yaml": 5,
    "ser2net-example-v2.yaml": 5,
    "ser2net-example.conf": 10,
}


def convert(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    """Exit code, stdout and stderr lines of `serial-bridge import ser2net PATH`."""
    capsys.readouterr()
    code = main(["import", "ser2net", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def ports_of(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    """The converted ports of PATH by name."""
    code, out, _ = convert(path, capsys)
    assert code == 0
    return {p["name"]: p for p in tomllib.loads(out)["port"]}


@pytest.mark.parametrize("name", sorted(REAL_WORLD))
def test_real_world_files_convert_to_configs_check_accepts(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each file converts; `check` says OK with the expected number of ports; warnings are one line each."""
    code, out, err = convert(DATA / name, capsys)
    assert code == 0, err
    config = tmp_path / "bridge.toml"
    config.write_text(out)
    assert main(["check", "--config", str(config)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith(f"{config}: OK, {REAL_WORLD[name]} ports")
    for line in err:
        assert line.startswith(f"warning: {DATA}/"), line
        assert "Traceback" not in line


def test_consolepi_yaml_keeps_what_ser2net_did(capsys: pytest.CaptureFixture[str]) -> None:
    """telnet(rfc2217) on 8000, 9600 8N1, one client that a newcomer kicks off, break on Synch."""
    port = ports_of(DATA / "consolepi.yaml", capsys)["ttyUSB0"]
    assert port == {"name": "ttyUSB0", "device": "/dev/ttyUSB0", "listen": 8000, "mode": "telnet",
                    "baud": 9600, "parity": "none", "bytesize": 8, "stopbits": 1, "banner": True,
                    "dm_break": True, "access": "exclusive", "takeover": True}


def test_consolepi_yaml_warns_once_per_banner_and_nothing_for_off_defaults(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The banner text is the one setting lost, per connection; `mdns: false` defaults say nothing."""
    _, _, err = convert(DATA / "consolepi.yaml", capsys)
    assert len(err) == 42
    assert all("banner" in line and "the text is not kept" in line for line in err)
    assert err[0].startswith(f"warning: {DATA}/consolepi.yaml:31: connection ttyUSB0: banner ")


def test_consolepi_conf_telnet_without_remctl_denies_rfc2217_changes(capsys: pytest.CaptureFixture[str]) -> None:
    """3.x `8001:telnet:0:/dev/ttyUSB0:9600 8DATABITS NONE 1STOPBIT banner`, and CONTROLPORT warned."""
    code, _, err = convert(DATA / "consolepi.conf", capsys)
    assert code == 0
    port = ports_of(DATA / "consolepi.conf", capsys)["ttyUSB0"]
    assert port["listen"] == 8001 and port["mode"] == "telnet" and port["remote_settings"] == "deny"
    assert (port["baud"], port["bytesize"], port["parity"], port["stopbits"]) == (9600, 8, "none", 1)
    assert any("CONTROLPORT 7000" in line for line in err)


def test_ser2net_v1_example(capsys: pytest.CaptureFixture[str]) -> None:
    """Anchors name connections, *(define) substitutes, defaults apply to later connections, include works."""
    ports = ports_of(DATA / "ser2net-example-v1.yaml", capsys)
    assert ports["con00"]["mode"] == "raw" and ports["con00"]["listen"] == 2012
    assert (ports["con00"]["log_dir"], ports["con00"]["log"]) == ("/var/log", "both")
    assert ports["con01"]["device"] == "/dev/serial/by-path/platform-3f980000.usb-usb-0:1.2:1.0-port0"
    assert ports["con01"]["baud"] == 9600                       # before the speed default
    con1 = ports["con1"]
    assert con1["device"] == "/dev/serial/by-path/pci-0000:00:1d.0-usb-0:1.8.2.4:1.0-port0"
    assert con1["baud"] == 115200 and con1["enabled"] is False  # default speed; enable: off
    assert "idle_timeout" not in con1                            # timeout: 0
    con2 = ports["con2"]
    assert (con2["listen"], con2["baud"], con2["parity"], con2["bytesize"], con2["stopbits"]) == (
        2003, 9600, "even", 7, 1)
    lab1 = ports["lab1"]                                         # from the included file
    assert lab1["flow"] == "rtscts" and lab1["log"] == "device" and lab1["log_timestamps"] is True
    assert lab1["access"] == "exclusive" and lab1["takeover"] is True


def test_ser2net_v1_example_warns_for_each_setting_left_behind(capsys: pytest.CaptureFixture[str]) -> None:
    """Rotators, admin, LEDs, sctp, ssl, non-serial connectors: each one line with its file and line."""
    _, _, err = convert(DATA / "ser2net-example-v1.yaml", capsys)
    text = "\n".join(err)
    for expected in ("ser2net-example-v1.yaml:60: rotator: no counterpart",
                     "ser2net-example-v1.yaml:24: admin interface",
                     "connection con2: accepter sctp",
                     "connection con3: accepter ssl",
                     "connection ipmicon1: connector 'ipmisol",
                     "ser2net-include/lab.yaml:2: connection lab1: trace-read"):
        assert expected in text, expected
    assert len(err) == len(set(err))


def test_ser2net_v2_example(capsys: pytest.CaptureFixture[str]) -> None:
    """Version 2: named maps, =(define), a second document; the same device twice is left out."""
    code, out, err = convert(DATA / "ser2net-example-v2.yaml", capsys)
    ports = {p["name"]: p for p in tomllib.loads(out)["port"]}
    assert ports["ttyUSB1"]["listen"] == 4002 and ports["ttyUSB1"]["baud"] == 115200
    assert ports["ttyS3"]["listen"] == 3004 and ports["ttyS3"]["device"] == "/dev/ttyS3"
    assert "ttyS0" not in ports      # it names /dev/ttyUSB0 again
    assert any("connection ttyS0: /dev/ttyUSB0 is already port ttyUSB0" in line for line in err)
    assert any("banner 'Connected to port \\N(\\d)\\r\\n'" in line for line in err)


def test_ser2net_conf_example(capsys: pytest.CaptureFixture[str]) -> None:
    """3.x: host,port; XONXOFF; E72; trace names; DEVICE aliases; later DEFAULT speed; rawlp left out."""
    code, out, err = convert(DATA / "ser2net-example.conf", capsys)
    ports = {p["name"]: p for p in tomllib.loads(out)["port"]}
    assert ports["ttyS0"]["listen"] == "192.168.27.3:2001" and ports["ttyS0"]["flow"] == "xonxoff"
    assert ports["ttyS0"]["idle_timeout"] == 600.0 and ports["ttyS0"]["mode"] == "raw"
    assert ports["ttyS6"]["log_dir"] == "/tmp" and ports["ttyS6"]["log"] == "both"
    assert ports["ttyUSB0"]["max_connections"] == 3 and "access" not in ports["ttyUSB0"]
    assert ports["ttyUSB0"]["dm_break"] is True and "remote_settings" not in ports["ttyUSB0"]   # remctl
    assert ports["port-3021"]["device"] == "/dev/serial/by-path/pci-0000:00:1d.0-usb-0:1.8.2.2:1.0-port0"
    assert ports["port-3021"]["baud"] == 115200
    assert any(":79: port 5001: rawlp" in line for line in err)


# -------------------------------------------------------------- small files

def write(tmp_path: Path, text: str, name: str = "ser2net.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_mapped_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """max-connections, timeout, plain telnet, a tcp connector, dtr, hangup-when-done."""
    path = write(tmp_path, """\
connection: &a
  accepter: telnet,tcp,127.0.0.1,4001
  connector: serialdev,/dev/ttyUSB0,57600o72,dtr=off,hangup-when-done
  timeout: 600
  options:
    max-connections: 3
    kickolduser: true
connection: &b
  accepter: telnet(rfc2217),tcp,4002
  connector: telnet(rfc2217),tcp,console-server.example,7001
""")
    code, out, err = convert(path, capsys)
    ports = {p["name"]: p for p in tomllib.loads(out)["port"]}
    a = ports["a"]
    assert a["listen"] == "127.0.0.1:4001" and a["remote_settings"] == "deny"
    assert (a["baud"], a["parity"], a["bytesize"], a["stopbits"]) == (57600, "odd", 7, 2)
    assert a["dtr_on_open"] == "off" and a["hold_open"] is False and a["hupcl"] is True
    assert a["idle_timeout"] == 600.0 and a["max_connections"] == 3
    assert ports["b"]["device"] == "rfc2217://console-server.example:7001"
    assert any("kickolduser with max-connections 3" in line for line in err)
    config = write(tmp_path, out, "bridge.toml")
    assert main(["check", "--config", str(config)]) == 0


def test_unreadable_and_broken_files_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file or broken YAML: exit 2, one line naming the file (and line); no traceback."""
    assert main(["import", "ser2net", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("serial-bridge: error: cannot read ") and "\n" not in err
    path = write(tmp_path, "connection: &a\n  accepter: [tcp\n  connector: x\n")
    assert main(["import", "ser2net", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"serial-bridge: error: {path}:") and "\n" not in err
    path = write(tmp_path, "connection: &a\n  accepter: tcp,1\n  connector: *undefined\n")
    assert main(["import", "ser2net", str(path)]) == 2
    assert "\n" not in capsys.readouterr().err.strip()


def test_nothing_to_convert_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file with no serial connection prints no TOML, says so, and exits 1."""
    path = write(tmp_path, "connection: &e\n  accepter: tcp,2000\n  connector: echo\n")
    code, out, err = convert(path, capsys)
    assert code == 1 and out == ""
    assert err[-1] == f"warning: {path}: no serial connection found to convert"


def test_without_pyyaml_a_yaml_file_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Without PyYAML, a YAML file is one line naming the extra; a 3.x file still converts."""
    monkeypatch.setitem(sys.modules, "yaml", None)
    path = write(tmp_path, "connection: &a\n  accepter: tcp,2000\n  connector: serialdev,/dev/ttyS0\n")
    assert main(["import", "ser2net", str(path)]) == 2
    assert "pip install 'serial-bridge[import]'" in capsys.readouterr().err
    conf = write(tmp_path, "2000:raw:0:/dev/ttyS0:115200\n", "ser2net.conf")
    code, out, _ = convert(conf, capsys)
    assert code == 0 and tomllib.loads(out)["port"][0]["baud"] == 115200


def test_include_loops_are_read_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file including itself is read once, with a warning."""
    path = write(tmp_path, "include: ser2net.yaml\nconnection: &a\n  accepter: tcp,2000\n"
                           "  connector: serialdev,/dev/ttyS0\n")
    code, out, err = convert(path, capsys)
    assert code == 0 and len(tomllib.loads(out)["port"]) == 1
    assert any("included twice" in line for line in err)


def test_remaddr_addresses_become_an_allow_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """remaddr with IP addresses becomes allow; host names and connect-back (!) entries are warned."""
    path = write(tmp_path, """\
connection: &a
  accepter: tcp,4001
  connector: serialdev,/dev/ttyUSB0
  options:
    remaddr: ipv4,tcp,192.0.2.7,0;ipv6,tcp,2001:db8::1,0
connection: &b
  accepter: tcp,4002
  connector: serialdev,/dev/ttyUSB1
  options:
    remaddr: otherserver,0
""")
    code, out, err = convert(path, capsys)
    ports = {p["name"]: p for p in tomllib.loads(out)["port"]}
    assert ports["a"]["allow"] == ["192.0.2.7", "2001:db8::1"]
    assert "allow" not in ports["b"]
    assert any("connection b: remaddr 'otherserver,0': only IP addresses" in line for line in err)
    config = write(tmp_path, out, "bridge.toml")
    assert main(["check", "--config", str(config)]) == 0


def test_values_check_would_refuse_are_warned_and_left_out(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A baud rate beyond what check accepts is one warning; the port keeps the rest and checks OK."""
    conf = write(tmp_path, "2000:raw:0:/dev/ttyS0:99999999999999999999N81\n", "ser2net.conf")
    code, out, err = convert(conf, capsys)
    assert code == 0 and "baud" not in tomllib.loads(out)["port"][0]
    assert len(err) == 1 and "port 2000: baud = 99999999999999999999: must be at most" in err[0]
    assert main(["check", "--config", str(write(tmp_path, out, "bridge.toml"))]) == 0


def test_duplicate_anchor_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """YAML with an anchor given twice is one line naming the problem and its line."""
    path = write(tmp_path, "define: &a x\nconnection: &a\n  accepter: tcp,1\n")
    assert main(["import", "ser2net", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (f"serial-bridge: error: {path}:2: not a ser2net YAML file: "
                                               "found duplicate anchor 'a'")
