"""A simulated serial device for ``serial-bridge demo`` and the tests.

:class:`SimulatedBoard` runs a small board's console (U-Boot, kernel
messages, a login prompt, a shell) on a pseudo-terminal; its sans-IO core is
:class:`BoardConsole`. Production code paths never import this package.
"""

from __future__ import annotations

from bridge.demo.board import SimulatedBoard
from bridge.demo.console import BoardConsole
from bridge.demo.text import PASSWORD, USERNAME, Phase

__all__ = ["PASSWORD", "USERNAME", "BoardConsole", "Phase", "SimulatedBoard"]
