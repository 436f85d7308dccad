"""One request at a time, for the ``status`` and ``ctl`` commands.

Maps the client's errors onto the CLI's: an unreachable daemon is a runtime
failure (exit 1); a request the caller got wrong (unknown port, bad
setting) is a usage error (exit 2); anything else the bridge refused is a
runtime failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from bridge.control import schema
from bridge.control.address import client_control_address
from bridge.control.client import (
    ControlClient,
    ControlConnectionLost,
    ControlRequestError,
    ControlRefused,
    ControlUnavailable,
)
from bridge.errors import RuntimeFailure, UserError

TOKEN_ENV = "SERIAL_BRIDGE_TOKEN"


def add_control_argument(parser: argparse.ArgumentParser, *, many: bool = False,
                         nested: bool = False) -> None:
    """Add ``--control ADDR`` (repeatable when ``many``).

    ``nested`` is for a sub-command's own parser, so that the option may come
    after it too; it leaves the value alone when not given there.
    """
    help_text = ("the bridge's control endpoint: a socket path or HOST:PORT "
                 f"(default: {client_control_address()}; token from ${TOKEN_ENV})")
    default = argparse.SUPPRESS if nested else None
    if many:
        parser.add_argument("--control", metavar="ADDR", action="append", default=default,
                            help=help_text + "; repeat for several bridges")
    else:
        parser.add_argument("--control", metavar="ADDR", default=default, help=help_text)


def control_address(value: str | None) -> str:
    """The address to use: the given one or the default."""
    return value or client_control_address()


def refusal_hint(message: str) -> str:
    """What to check when a running bridge refused us (empty when the message says it all)."""
    if "token" in message:
        return f" (the token is read from ${TOKEN_ENV})"
    return ""


def control_token() -> str | None:
    """The control token from the environment, if any."""
    return os.environ.get(TOKEN_ENV) or None


async def _requests(address: str, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    client = await ControlClient.connect(address, control_token())
    try:
        return [await client.request(op, **args) for op, args in calls]
    finally:
        await client.close()


def run_requests(address: str, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Connect, send each request in turn, and return the replies.

    Raises:
        RuntimeFailure: unreachable, connection lost, or refused by the bridge.
        UserError: the request named an unknown port or was malformed.
    """
    try:
        return asyncio.run(_requests(address, calls))
    except ControlRefused as exc:   # it is running: say what to check instead
        raise RuntimeFailure(f"{exc}{refusal_hint(str(exc))}") from None
    except ControlUnavailable as exc:
        raise RuntimeFailure(f"{exc} (is 'serial-bridge serve' running?)") from None
    except ControlConnectionLost as exc:
        raise RuntimeFailure(str(exc)) from None
    except ControlRequestError as exc:
        if exc.code in schema.USAGE_CODES:
            raise UserError(str(exc)) from None
        raise RuntimeFailure(str(exc)) from None


def run_request(address: str, op: str, **args: Any) -> dict[str, Any]:
    """One request; see :func:`run_requests`."""
    return run_requests(address, [(op, args)])[0]
