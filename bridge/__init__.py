"""serial-bridge: a serial-console Telnet bridge for hardware."""

from __future__ import annotations

__version__ = "0.1.0"
