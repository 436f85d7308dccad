"""`serial-bridge connect TARGET`: the Telnet client, a serial console on the local terminal."""

from __future__ import annotations

import argparse
import os

from bridge.errors import RuntimeFailure, UserError

HELP = "connect this terminal to a port: Telnet, RFC 2217 or raw TCP (Ctrl-] for commands)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bridge.control.oneshot import add_control_argument

    parser.add_argument("target", metavar="TARGET",
                        help="HOST:PORT, telnet://HOST:PORT, rfc2217://HOST:PORT, tcp://HOST:PORT "
                             "or the NAME of a port of the bridge reached by --control")
    parser.add_argument("--baud", metavar="N", help="line speed to set at connect (RFC 2217)")
    parser.add_argument("--framing", metavar="8N1", help="data bits, parity, stop bits to set at connect")
    parser.add_argument("--flow", metavar="none|rtscts|xonxoff", help="flow control to set at connect")
    parser.add_argument("--dtr", metavar="on|off", help="DTR at connect")
    parser.add_argument("--rts", metavar="on|off", help="RTS at connect")
    parser.add_argument("--log", metavar="FILE", help="append what the device sends to FILE")
    parser.add_argument("--log-timestamps", action="store_true",
                        help="start each line of the log with the local time")
    parser.add_argument("--break-ms", metavar="MS", type=int, default=250,
                        help="length of a break sent through RFC 2217, in ms (default 250)")
    parser.add_argument("--escape", metavar="KEY", default="^]",
                        help="the key that opens the command prompt: ^], ctrl-a, 0x1d (default ^])")
    parser.add_argument("--linger", metavar="SECONDS", type=float, default=2.0,
                        help="with standard input a pipe: after its end, wait this long for quiet "
                             "output before leaving (default 2)")
    parser.add_argument("--tls", action="store_true",
                        help="connect inside TLS (a port with tls = true); the server's certificate is checked")
    parser.add_argument("--tls-ca", metavar="FILE",
                        help="the CA certificates to trust for --tls (default: $SERIAL_BRIDGE_TLS_CA, "
                             "else the system's)")
    parser.add_argument("--tls-cert", metavar="FILE",
                        help="our client certificate, for a port that asks for one (default: $SERIAL_BRIDGE_TLS_CERT)")
    parser.add_argument("--tls-key", metavar="FILE",
                        help="the key of --tls-cert (default: $SERIAL_BRIDGE_TLS_KEY, else in the same file)")
    add_control_argument(parser)


def _options(args: argparse.Namespace) -> object:
    from bridge.client.console import ClientOptions
    from bridge.control import console as words

    try:
        if args.break_ms is not None and not 0 < args.break_ms <= 60_000:
            raise ValueError(f"--break-ms {args.break_ms}: 1..60000 ms")
        if not 0 <= args.linger <= 3600:
            raise ValueError(f"--linger {args.linger}: 0..3600 seconds")
        if args.tls_key and not args.tls_cert:
            raise ValueError("--tls-key needs --tls-cert")
        return ClientOptions(
            escape=words.parse_escape(args.escape),
            break_ms=args.break_ms,
            baud=None if args.baud is None else words.parse_baud(args.baud),
            framing=None if args.framing is None else str(words.parse_framing(args.framing)),
            flow=None if args.flow is None else words.parse_flow(args.flow),
            dtr=None if args.dtr is None else words.parse_on_off("--dtr", args.dtr),
            rts=None if args.rts is None else words.parse_on_off("--rts", args.rts),
            log=args.log,
            log_timestamps=args.log_timestamps,
            control=args.control,
            linger=args.linger,
            tls=args.tls or bool(args.tls_ca or args.tls_cert),
            # The control API's client reads the same variables for tls:// endpoints.
            tls_ca=args.tls_ca or os.environ.get("SERIAL_BRIDGE_TLS_CA") or None,
            tls_cert=args.tls_cert or (None if args.tls_key else os.environ.get("SERIAL_BRIDGE_TLS_CERT") or None),
            tls_key=args.tls_key or (None if args.tls_cert else os.environ.get("SERIAL_BRIDGE_TLS_KEY") or None),
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bridge.client.app import run_client
    from bridge.client.console import ClientOptions
    from bridge.client.target import parse_target

    try:
        target = parse_target(args.target)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    options = _options(args)
    assert isinstance(options, ClientOptions)
    try:
        return asyncio.run(run_client(target, options))
    except (UserError, RuntimeFailure, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug: the terminal is restored already; one line unless --debug
        if getattr(args, "debug", False):
            raise
        raise RuntimeFailure(f"internal error: {type(exc).__name__}: {exc} (--debug shows the traceback)") from None
