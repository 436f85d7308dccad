"""bridge.control: the control API (protocol version 1, docs/control-api.md).

- ``target``: what the daemon implements (``ControlTarget``) for the API.
- ``schema``: the message format, pure; ``convert``: bridge objects to JSON.
- ``server``: ``ControlServer`` in the daemon; ``connection``, ``outbox``: per client.
- ``client``: ``ControlClient`` for the dashboard and the CLI; ``model``: typed views.
- ``address``: endpoint parsing and ``default_control_address()``.
- ``oneshot``: one request at a time, with the CLI's exit codes.
"""
