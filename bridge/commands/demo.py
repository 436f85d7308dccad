"""`serial-bridge demo`: a simulated board's console, bridged on 127.0.0.1:7000.

The board runs on a pseudo-terminal (bridge.demo). A pty cannot carry a
break, so the demo wraps the real device the port opens: a break the bridge
sends is also handed to the simulated board, which reacts to it visibly.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bridge.errors import RuntimeFailure

HELP = "try serial-bridge on a simulated board (telnet 127.0.0.1 7000)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=7000, help="TCP port to listen on (default 7000)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--no-dashboard", action="store_true", help="run headless and print how to connect")
    parser.add_argument("--control", default=None, metavar="ADDR",
                        help="control endpoint (default: demo.sock beside your default control socket, "
                             "where `serial-bridge status` finds it)")
    parser.add_argument("--time-scale", type=float, default=1.0, help=argparse.SUPPRESS)


class _BreakForwarder:
    """A Device that also tells the simulated board about breaks."""

    def __init__(self, device: Any, board: Any) -> None:
        self._device = device
        self._board = board

    def __getattr__(self, name: str) -> Any:
        return getattr(self._device, name)

    async def send_break(self, duration: float) -> None:
        self._board.receive_break()
        await self._device.send_break(duration)

    async def set_break(self, on: bool) -> None:
        if on:
            self._board.receive_break()
        await self._device.set_break(on)


def demo_config_text(device: str, bind: str, port: int, control: str) -> str:
    """The demo's configuration, as a user would write it."""
    return (
        "[bridge]\n"
        f"bind = {bind!r}\n"
        f"control = {control!r}\n"
        "[[port]]\n"
        'name = "demo"\n'
        f"device = {device!r}\n"
        f"listen = {port}\n"
        "baud = 115200\n"
        "lock_files = false\n"
        "replay = true\n"
    ).replace("'", '"')


AppRunner = Callable[[Any], Awaitable[object]]


def _in_use(path: str) -> bool:
    """Whether a bridge already listens on this Unix socket path (another demo)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _log_to(lines: Any) -> Callable[[], None]:
    """Send every log record to the dashboard's log pane instead of stderr, where
    it would be drawn over the dashboard; returns the undo."""
    import logging

    from bridge.dashboard.widgets.log_pane import PaneLogHandler

    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [PaneLogHandler(lines, asyncio.get_running_loop())]

    def restore() -> None:
        root.handlers = saved
    return restore


async def run_demo(args: argparse.Namespace, app_runner: AppRunner | None = None) -> int:
    """Run the demo until stopped; ``app_runner`` runs the dashboard app (tests drive it with a pilot)."""
    import logging
    import tempfile

    from bridge.app import make_bridge
    from bridge.config.load import parse_config
    from bridge.control.address import demo_control_address
    from bridge.demo.board import SimulatedBoard
    from bridge.device.backend import open_device

    board = SimulatedBoard(time_scale=args.time_scale)
    board.start()
    tmp = tempfile.TemporaryDirectory(prefix="serial-bridge-demo-")
    control = args.control or demo_control_address()
    if args.control is None and _in_use(control):   # another demo has it: stay out of its way
        control = f"{tmp.name}/control.sock"
    config = parse_config(demo_config_text(board.path, args.bind, args.port, control), "<demo>")

    async def opener(spec: str, settings: Any, options: Any) -> Any:
        return _BreakForwarder(await open_device(spec, settings, options), board)

    app = None
    restore_logging: Callable[[], None] = lambda: None  # noqa: E731
    if not args.no_dashboard:
        from bridge.dashboard.app import make_dashboard
        from bridge.dashboard.source import ControlSource
        from bridge.dashboard.widgets.log_pane import LogLines

        lines = LogLines()
        app = make_dashboard([ControlSource(control, label="serial-bridge demo")], log_lines=lines)
        restore_logging = _log_to(lines)
    server = make_bridge(config, opener=opener)
    server.install_signal_handlers(hangup_reloads=False)
    try:
        try:
            await server.startup()
        except OSError as exc:
            raise RuntimeFailure(f"cannot start the demo: {exc}") from exc
        except RuntimeFailure as exc:
            raise RuntimeFailure(f"cannot start the demo: {exc} (is another demo running? try --port)") from exc
        # Power the board on now that the bridge holds its line: the boot goes
        # into the port's history, so whoever connects sees it replayed.
        board.reset()
        worker = server.workers["demo"]
        host, _, port = worker.listen_address.rpartition(":")
        found = "" if control == client_default() else f" --control {control}"
        if app is None:
            hints = "".join(f"  {label + ':':<15}{command}\n"
                            for label, command in connect_hints(worker.config.mode, host, int(port)))
            print(f"serial-bridge demo: a simulated board on {board.path}, bridged on {worker.listen_address}\n"
                  f"{hints}"
                  f"  login: root   password: bridge   (Ctrl-C here stops the demo)\n"
                  f"  from another terminal:  serial-bridge status{found}", flush=True)
            await server.serve()
        else:
            logging.getLogger("bridge.demo").info(
                "demo: telnet %s %s (login root, password bridge); from another terminal: "
                "serial-bridge status%s", host.strip("[]"), port, found)
            dashboard = asyncio.ensure_future(_run_dashboard(app, app_runner))
            stop = asyncio.ensure_future(server.serve())   # returns on SIGHUP/SIGTERM/SIGINT
            await asyncio.wait((dashboard, stop), return_when=asyncio.FIRST_COMPLETED)
            for task in (dashboard, stop):
                task.cancel()
            await asyncio.gather(dashboard, stop, return_exceptions=True)
    finally:
        await server.shutdown()
        server.remove_signal_handlers()
        await board.stop()
        tmp.cleanup()
        restore_logging()
    return 0


def connect_hints(mode: str, host: str, port: int) -> list[tuple[str, str]]:
    """The clients that suit a port of this ``mode`` ("telnet" or "raw"), as (label, command).

    A Telnet port opens with a negotiation (IAC bytes), so a raw client such as ``nc``
    is offered only for a raw port (UAT 12); ``host`` may be bracketed IPv6 (``[::1]``).
    """
    bare = host.strip("[]")
    bracketed = f"[{bare}]" if ":" in bare else bare
    if mode == "raw":
        return [("connect with", f"nc {bare} {port}"),
                ("or", f"serial-bridge connect tcp://{bracketed}:{port}")]
    return [("connect with", f"telnet {bare} {port}"),
            ("or", f"serial-bridge connect {bracketed}:{port}")]


def client_default() -> str:
    """The address ``serial-bridge status`` uses without ``--control``."""
    from bridge.control.address import client_control_address

    return client_control_address()


async def _run_dashboard(app: Any, app_runner: AppRunner | None) -> None:
    if app_runner is None:
        await app.run_async()
    else:
        await app_runner(app)


def run(args: argparse.Namespace) -> int:
    if not args.no_dashboard and not sys.stdout.isatty():
        print("serial-bridge demo: no terminal for the dashboard; running headless (--no-dashboard)",
              file=sys.stderr)
        args.no_dashboard = True
    return asyncio.run(run_demo(args))
