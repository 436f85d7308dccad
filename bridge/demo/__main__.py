"""Run the simulated board alone: ``python -m bridge.demo``.

Prints the device path on the first line of stdout, then runs until SIGINT or
SIGTERM. Open the device with any serial terminal, for example
``picocom -b 115200 /dev/pts/7``. ``serial-bridge demo`` is the usual way in;
this is for trying the board without the bridge.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from bridge.demo.board import SimulatedBoard


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line: --time-scale and --name."""
    parser = argparse.ArgumentParser(prog="python -m bridge.demo",
                                     description="Run the simulated board on a pseudo-terminal.")
    parser.add_argument("--time-scale", type=float, default=1.0, metavar="FACTOR",
                        help="multiply every delay of the boot by FACTOR (default 1.0)")
    parser.add_argument("--name", default="demo-board", help="the board's host name")
    return parser.parse_args(argv)


async def serve(board: SimulatedBoard) -> None:
    """Start the board, print its path, and run until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with board:
        print(board.path, flush=True)
        print(f"open it with: picocom -b 115200 {board.path}  (Ctrl-C here to stop)",
              file=sys.stderr, flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the board; 0 after SIGINT or SIGTERM, 2 for bad arguments, 1 with no pty."""
    args = parse_args(argv)
    try:
        board = SimulatedBoard(args.time_scale, args.name)
    except ValueError as exc:
        print(f"python -m bridge.demo: error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(board))
    except OSError as exc:
        print(f"python -m bridge.demo: error: cannot open a pseudo-terminal: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
