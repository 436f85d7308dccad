"""`serial-bridge connect`: the client half, a serial-aware Telnet client on the project's engine.

Layers (DESIGN.md: connect -> telnet engine -> a socket): ``target`` reads
TARGET and ``remote`` asks a bridge's control endpoint; ``link`` is the
socket and the engine in its client role; ``console`` joins the local
terminal (``terminal``, ``lineedit``) to the link; ``commands`` runs the
escape prompt's words (shared with the dashboard in
``bridge.control.console``); ``sender`` and ``logfile`` serve ``send`` and
``log``. ``app.run_client`` is the entry point. See docs/client.md.
"""
