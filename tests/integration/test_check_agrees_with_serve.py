"""`check` and `serve` read a config with the same validator: the same files, the same verdicts (issue 13).

Each file goes to both. When ``check`` says OK, ``serve`` must start and run
(its control endpoint up, no error) until SIGTERM; when ``check`` refuses it
(exit 2), ``serve`` must refuse it with the same lines and exit 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.helpers import WAIT, Daemon, PtyDevice

MakePty = Callable[[], PtyDevice]

PORT = '[[port]]\nname = "a"\ndevice = "{dev}"\nlisten = 0\n'

FILES = {
    "good": '[bridge]\ncontrol = "{tmp}/c.sock"\n' + PORT,
    "good, TCP control on loopback": '[bridge]\ncontrol = "127.0.0.1:0"\n' + PORT,
    "control off loopback without a token": '[bridge]\ncontrol = "0.0.0.0:7500"\n' + PORT,
    "control address without a port": '[bridge]\ncontrol = "localhost"\n' + PORT,
    "a baud rate no device takes": '[bridge]\ncontrol = "{tmp}/c.sock"\n' + PORT + "baud = 30000000\n",
    "a parity that does not exist": '[bridge]\ncontrol = "{tmp}/c.sock"\n' + PORT + 'parity = "evn"\n',
    "stop bits as 2.0 and 7E2": '[bridge]\ncontrol = "{tmp}/c.sock"\n' + PORT
                                + "stopbits = 2.0\nbytesize = 7\nparity = \"even\"\n",
}


def run_check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=WAIT * 2, check=False)


@pytest.mark.parametrize("case", sorted(FILES))
def test_check_and_serve_agree(case: str, tmp_path: Path, make_pty: MakePty) -> None:
    """The same file: check OK and serve runs, or both exit 2 with the same problem lines."""
    dev = make_pty()
    text = FILES[case].format(dev=dev.path, tmp=tmp_path)
    config = tmp_path / "bridge.toml"
    config.write_text(text)
    checked = run_check(config)
    assert checked.returncode in (0, 2), checked.stderr
    daemon = Daemon(text, tmp_path)   # writes the same text to the same file
    try:
        if checked.returncode == 0:
            daemon.wait_log(r"control endpoint on ")
            assert daemon.proc.poll() is None, "\n".join(daemon.lines)
            assert daemon.stop() == 0, "\n".join(daemon.lines)
            assert not [line for line in daemon.lines if line.startswith(("ERROR", "serial-bridge: error"))]
        else:
            assert daemon.wait_exit() == 2, "\n".join(daemon.lines)
            assert daemon.lines == checked.stderr.splitlines()
    finally:
        daemon.kill()


# ------------------------------------------- a feature whose extra is not installed (UAT 7)
def _install_without(tmp_path: Path, *hidden: str) -> Path:
    """A virtual environment holding this one's packages except ``hidden`` (and their
    dist-info): an install of serial-bridge without that extra. Returns its python."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    here = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    there = next((venv / "lib").glob("python*/site-packages"))
    for entry in here.iterdir():
        if any(entry.name == name or entry.name.startswith(name + "-") for name in hidden):
            continue
        target = there / entry.name
        if not target.exists():
            target.symlink_to(entry)
    return venv / "bin" / "python"


@pytest.mark.parametrize(("text", "key", "extra"), [
    ("metrics = 0", "metrics", "prometheus_client"),
    ("mdns = true", "mdns", "zeroconf"),
])
def test_check_and_serve_report_a_missing_extra_alike(tmp_path: Path, make_pty: MakePty,
                                                      text: str, key: str, extra: str) -> None:
    """`metrics` without prometheus-client (`mdns` without zeroconf): check prints the line serve
    logs (the bridge runs without the feature), and says OK with a warning."""
    python = _install_without(tmp_path, extra)
    dev = make_pty()
    config = tmp_path / "bridge.toml"
    config.write_text(f'[bridge]\ncontrol = "{tmp_path}/c.sock"\n{text}\n' + PORT.format(dev=dev.path))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), PYTHONUNBUFFERED="1")
    checked = subprocess.run([str(python), "-m", "bridge", "check", "--config", str(config)],
                             capture_output=True, text=True, timeout=WAIT * 2, env=env)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.endswith("; 1 warning above\n"), checked.stdout
    [warning] = checked.stderr.splitlines()
    assert f"bridge.toml:3: key '{key}': " in warning and f"serial-bridge[{key}]" in warning
    serve = subprocess.Popen([str(python), "-m", "bridge", "serve", "--config", str(config)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=env)
    try:
        assert serve.stdout is not None
        lines: list[str] = []
        for _ in range(200):   # bounded: the daemon's start-up lines
            line = serve.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if "control endpoint on " in line:
                break
        assert any("control endpoint on " in line for line in lines), "\n".join(lines)
        assert f"WARNING: {warning.removesuffix(' (warning)')}" in lines, "\n".join(lines)
        assert not [line for line in lines if line.startswith("ERROR")], "\n".join(lines)
        serve.terminate()
        assert serve.wait(timeout=WAIT) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(timeout=WAIT)
