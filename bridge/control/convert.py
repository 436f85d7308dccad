"""The server side's mapping of bridge objects onto protocol JSON.

Only the control server uses this module; clients read the JSON through
``bridge.control.model``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bridge.control import schema
from bridge.control.target import BridgeEvent
from bridge.device.settings import LineSettings
from bridge.port.status import PortStatus, SessionStatus


def settings_to_json(settings: LineSettings) -> dict[str, Any]:
    """Line settings as a JSON object (stopbits 1 and 2 as integers)."""
    data = asdict(settings)
    if data["stopbits"] in (1, 2):
        data["stopbits"] = int(data["stopbits"])
    return data


def session_to_json(session: SessionStatus) -> dict[str, Any]:
    """One session as a JSON object."""
    return asdict(session)


def port_to_json(status: PortStatus) -> dict[str, Any]:
    """One port as a JSON object, sessions and settings included."""
    return {
        "name": status.name,
        "device": status.device,
        "listen": status.listen,
        "listen_readonly": status.listen_readonly,
        "tls": status.tls,
        "mode": status.mode,
        "state": status.state,
        "enabled": status.enabled,
        "error": status.error,
        "profile": status.profile,
        "access": status.access,
        "settings": settings_to_json(status.settings),
        "rx_bytes": status.rx_bytes,
        "tx_bytes": status.tx_bytes,
        "last_activity": status.last_activity,
        "since": status.since,
        "sessions": [session_to_json(s) for s in status.sessions],
        # issue 14 (fleet)
        "client_bytes": status.client_bytes,
        "dropped_bytes": status.dropped_bytes,
        "breaks_to_device": status.breaks_to_device,
        "breaks_from_device": status.breaks_from_device,
        "device_opens": status.device_opens,
        "device_losses": status.device_losses,
        "alerts": [asdict(a) for a in status.alerts],
    }


def counters_to_json(statuses: list[PortStatus], now: float) -> dict[str, Any]:
    """The once-a-second ``counters`` event for all ports."""
    ports = {
        s.name: {
            "rx_bytes": s.rx_bytes,
            "tx_bytes": s.tx_bytes,
            "clients": len(s.sessions),
            "last_activity": s.last_activity,
        }
        for s in statuses
    }
    return schema.event("counters", time=now, ports=ports)


def _jsonable(value: object) -> object:
    if isinstance(value, LineSettings):
        return settings_to_json(value)
    if isinstance(value, bytes):
        return schema.b64encode(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def event_to_json(event: BridgeEvent) -> dict[str, Any]:
    """A bridge event as a protocol event (output events: use :func:`output_event`)."""
    data = dict(event.data)
    if event.kind == "settings":
        settings = data.pop("settings", None)
        if settings is None:
            settings, data = data, {}
        data = {"settings": _jsonable(settings), **data}
    fields = {str(k): _jsonable(v) for k, v in data.items()}
    return schema.event(event.kind, port=event.port, **fields)


def output_event(port: str, data: bytes, session: int | None = None) -> dict[str, Any]:
    """An ``output`` event: tail output, or an attached session's (with its id)."""
    message = schema.event("output", port=port, data=schema.b64encode(data))
    if session is not None:
        message["session"] = session
    return message
