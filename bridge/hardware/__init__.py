"""Hardware helpers behind the ``ports``, ``udev``, ``selftest`` and ``doctor`` commands.

Linux only. Nothing here is imported by the daemon's data path.
"""

from __future__ import annotations
