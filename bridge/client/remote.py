"""What `connect` asks of a bridge's control endpoint: resolving a port name, and a port's history.

Uses the control API's ``port``, ``list``, ``tail`` and ``untail`` requests
(docs/control-api.md); every failure is a :class:`RemoteError` with one line.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket

from bridge.client.target import Target, matching_port, target_from_port
from bridge.control.address import TcpAddress, parse_address
from bridge.control.client import ControlClient, ControlError, ControlRefused, ControlRequestError
from bridge.control.oneshot import control_address, control_token, refusal_hint
from bridge.control.schema import UNKNOWN_PORT


class RemoteError(Exception):
    """The control endpoint could not answer; ``str(exc)`` is one line."""


def _control_host(address: str) -> str | None:
    try:
        parsed = parse_address(address)
    except ValueError:
        return None
    return parsed.host if isinstance(parsed, TcpAddress) else None


def _is_local(host: str) -> bool:
    if host in ("localhost", socket.gethostname(), socket.getfqdn()):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def same_host(host: str, control: str) -> bool:
    """Whether a target's host is where the control endpoint runs: both local (a Unix socket is
    local), or the same name or address."""
    try:
        parsed = parse_address(control)
    except ValueError:
        return False
    if not isinstance(parsed, TcpAddress):
        return _is_local(host)
    return host == parsed.host or (_is_local(host) and _is_local(parsed.host))


async def resolve_port(name: str, control: str | None) -> Target:
    """The Target of the bridge's port ``name`` (its listener and mode).

    Raises:
        RemoteError: the endpoint is unreachable, or has no such port.
    """
    address = control_address(control)
    try:
        client = await ControlClient.connect(address, control_token())
    except ControlRefused as exc:   # it is running: say what to check instead
        raise RemoteError(f"cannot look up port {name!r}: {exc}{refusal_hint(str(exc))}") from None
    except ControlError as exc:
        raise RemoteError(f"cannot look up port {name!r}: {exc} (is 'serial-bridge serve' running?)") from None
    try:
        reply = await client.request("port", port=name)
    except ControlRequestError as exc:
        if exc.code == UNKNOWN_PORT:
            raise RemoteError(f"unknown port {name!r} on the bridge at {client.address}") from None
        raise RemoteError(f"cannot look up port {name!r}: {exc}") from None
    except ControlError as exc:
        raise RemoteError(f"cannot look up port {name!r}: {exc}") from None
    finally:
        await client.close()
    try:
        return target_from_port(reply.get("port", {}), _control_host(address))
    except ValueError as exc:
        raise RemoteError(str(exc)) from None


async def fetch_history(target: Target, control: str | None) -> tuple[str, bytes]:
    """The recent output of the target's port: (port name, bytes).

    A target given by name is looked up by name; otherwise the port of the
    bridge (at ``control``, default the local one) listening on the target's
    TCP port is used, if exactly one does.

    Raises:
        RemoteError: no control endpoint, no matching port, or a failed request.
    """
    address = control_address(control)
    try:
        client = await ControlClient.connect(address, control_token())
    except ControlError as exc:
        raise RemoteError(f"history needs the bridge's control endpoint: {exc}") from None
    try:
        name = target.name
        if name is None:
            if not same_host(target.host, address):
                raise RemoteError(f"history: {target.address} is not on the bridge at {client.address}; "
                                  "connect by port NAME with --control, or give --control for that host")
            ports = (await client.request("list")).get("ports", [])
            port = matching_port(ports, target)
            if port is None:
                raise RemoteError(f"history: no port of the bridge at {client.address} listens on "
                                  f"{target.port}; connect by port NAME (with --control)")
            name = str(port.get("name"))
        reply = await client.request("tail", port=name, history=True)
        await client.request("untail", port=name)
        return name, base64.b64decode(str(reply.get("history", "")), validate=True)
    except (ControlError, binascii.Error) as exc:
        raise RemoteError(f"history: {exc}") from None
    finally:
        await client.close()
