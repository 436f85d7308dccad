"""`python -m bridge` runs the same CLI as `serial-bridge`."""

from __future__ import annotations

from bridge.cli import main

raise SystemExit(main())
