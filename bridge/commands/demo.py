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
                        help="control endpoint for the dashboard (default: a socket in a temporary folder)")
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


async def run_demo(args: argparse.Namespace, app_runner: AppRunner | None = None) -> int:
    """Run the demo until stopped; ``app_runner`` runs the dashboard app (tests drive it with a pilot)."""
    import tempfile

    from bridge.app import make_bridge
    from bridge.config.load import parse_config
    from bridge.demo.board import SimulatedBoard
    from bridge.device.backend import open_device

    board = SimulatedBoard(time_scale=args.time_scale)
    board.start()
    tmp = tempfile.TemporaryDirectory(prefix="serial-bridge-demo-")
    control = args.control or f"{tmp.name}/control.sock"
    config = parse_config(demo_config_text(board.path, args.bind, args.port, control), "<demo>")

    async def opener(spec: str, settings: Any, options: Any) -> Any:
        return _BreakForwarder(await open_device(spec, settings, options), board)

    server = make_bridge(config, opener=opener)
    server.install_signal_handlers(hangup_reloads=False)
    try:
        try:
            await server.startup()
        except OSError as exc:
            raise RuntimeFailure(f"cannot start the demo: {exc}") from exc
        if not server.workers:
            raise RuntimeFailure(f"cannot listen on {args.bind}:{args.port} (is another demo running? try --port)")
        # Power the board on now that the bridge holds its line: the boot goes
        # into the port's history, so whoever connects sees it replayed.
        board.reset()
        worker = server.workers["demo"]
        host, _, port = worker.listen_address.rpartition(":")
        if args.no_dashboard:
            print(f"serial-bridge demo: a simulated board on {board.path}, bridged on {worker.listen_address}\n"
                  f"  connect with:  telnet {host.strip('[]')} {port}\n"
                  f"  or raw:        nc {host.strip('[]')} {port}\n"
                  f"  login: root   password: bridge   (Ctrl-C here stops the demo)", flush=True)
            await server.serve()
        else:
            dashboard = asyncio.ensure_future(_run_dashboard(control, app_runner))
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
    return 0


async def _run_dashboard(control: str, app_runner: AppRunner | None) -> None:
    from bridge.dashboard.app import make_dashboard
    from bridge.dashboard.source import ControlSource

    app = make_dashboard([ControlSource(control, label="serial-bridge demo")])
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
