"""The integration fixtures (ptys, daemons) for the client's tests too."""

from __future__ import annotations

from tests.integration.conftest import make_pty, start_daemon

__all__ = ["make_pty", "start_daemon"]
