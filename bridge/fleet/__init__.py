"""Running many bridges (issue 14): Prometheus metrics, alerts on device
output, mDNS advertisement and discovery.

Everything here reads the ports from outside: metrics and mDNS read port
status snapshots when asked (a scrape, a state change), and alerts read
device output off the hot path (``alerts.AlertMatcher``). ``Fleet`` in
``fleet.py`` wires them to a ``BridgeServer``.
"""
