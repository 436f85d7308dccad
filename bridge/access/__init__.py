"""Who may connect, and as whom (issue 11).

- ``allow``: allow lists checked at accept, before any byte is sent;
- ``tls``: the server-side TLS context of ports with ``tls = true``;
- ``passwords``: the ``scrypt$...`` password hashes of ``[[user]]``;
- ``users``: users, their keys and their port globs;
- ``gate``: the protocol an accepted port connection starts with: allow
  list, TLS handshake, then the port's own session;
- ``ssh``: the SSH server that turns a login into a session of a port.

Nothing here knows how bytes reach a device: an SSH channel becomes a session
like a socket does (``PortWorker.accept``).
"""
