"""`serial-bridge ctl ACTION PORT ...`: act on a running bridge's ports over the control endpoint."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from bridge.errors import UserError

HELP = "act on the running bridge: break, ip, set, enable, disable, kick, reload"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bridge.control.oneshot import add_control_argument

    add_control_argument(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("break", "send a break on the port's serial line"),
                       ("ip", "send Interrupt Process (what the port's profile says; default Ctrl-C)"),
                       ("enable", "enable the port"),
                       ("disable", "disable the port (its clients are told and disconnected)")):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("port", metavar="PORT")
        add_control_argument(action, nested=True)
    setter = actions.add_parser("set", help="change line settings, e.g. baud=115200 parity=even",
                                description="change line settings: KEY=VALUE with keys baud, "
                                            "bytesize, parity, stopbits, flow")
    setter.add_argument("port", metavar="PORT")
    setter.add_argument("settings", metavar="KEY=VALUE", nargs="+")
    add_control_argument(setter, nested=True)
    kick = actions.add_parser("kick", help="disconnect one client session of the port",
                              description="disconnect one client session (ids: serial-bridge status --json)")
    kick.add_argument("port", metavar="PORT")
    kick.add_argument("session", metavar="SESSION", type=int)
    add_control_argument(kick, nested=True)
    reload = actions.add_parser("reload", help="re-read the bridge's config file",
                                description="re-read the bridge's config file")
    add_control_argument(reload, nested=True)


def _request(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    from bridge.control.schema import parse_setting_words

    if args.action == "reload":
        return "reload", {}
    if args.action == "set":
        try:
            return "set", {"port": args.port, "settings": parse_setting_words(args.settings)}
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if args.action == "kick":
        return "kick", {"port": args.port, "session": args.session}
    return args.action, {"port": args.port}


def reload_summary(result: dict[str, Any]) -> str:
    """One phrase for a reload's ``result`` (control API ``reload``): what changed, or
    ``nothing changed``. Users and ``[bridge]`` keys are counted as changes."""
    changes = [f"{key} {', '.join(result[key])}" for key in ("added", "removed", "changed")
               if result.get(key)]
    changes.extend(result.get("bridge") or [])
    return "; ".join(changes) if changes else "nothing changed"


def _say_reload(reply: dict[str, Any]) -> int:
    result = reply.get("result", {})
    if result.get("rejected"):   # the file was refused: nothing was reloaded, so say nothing on stdout
        for error in result["rejected"]:
            print(f"serial-bridge: error: {error}", file=sys.stderr)
        print("serial-bridge: reload refused: the bridge keeps running its previous configuration",
              file=sys.stderr)
        return 2
    print("reloaded: " + reload_summary(result))
    for error in result.get("errors", []):
        print(f"serial-bridge: error: {error}", file=sys.stderr)
    return 2 if result.get("errors") else 0


def _say_set(args: argparse.Namespace, reply: dict[str, Any]) -> int:
    from bridge.control.model import settings_short

    print(f"{args.port}: {settings_short(reply.get('settings', {}))}")
    not_applied = reply.get("not_applied") or {}
    for key, values in not_applied.items():
        print(f"serial-bridge: {args.port}: {key} {values.get('asked')} not applied "
              f"(the device keeps {values.get('in_force')})", file=sys.stderr)
    return 1 if not_applied else 0


_DONE: dict[str, Callable[[argparse.Namespace], str]] = {
    "break": lambda a: f"{a.port}: break sent",
    "ip": lambda a: f"{a.port}: interrupt sent",
    "enable": lambda a: f"{a.port}: enabled",
    "disable": lambda a: f"{a.port}: disabled",
    "kick": lambda a: f"{a.port}: session {a.session} disconnected",
}


def run(args: argparse.Namespace) -> int:
    from bridge.control.oneshot import control_address, run_request

    op, request_args = _request(args)
    reply = run_request(control_address(args.control), op, **request_args)
    if op == "reload":
        return _say_reload(reply)
    if op == "set":
        return _say_set(args, reply)
    print(_DONE[op](args))
    return 0
