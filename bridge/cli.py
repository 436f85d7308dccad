"""Command-line entry point: argument parsing and wiring only.

Every subcommand lives in its own module of ``bridge.commands`` and exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Heavy imports (textual, asyncio machinery) stay inside ``run`` so that
``serial-bridge --help`` is quick.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from types import ModuleType

from bridge import __version__
from bridge.errors import RuntimeFailure, UserError

# Subcommand name -> module under bridge.commands (INTERFACE.md, "Command line").
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "serve": "serve",
    "check": "check",
    "dashboard": "dashboard",
    "ports": "ports",
    "udev": "udev",
    "profiles": "profiles",
    "selftest": "selftest",
    "doctor": "doctor",
    "status": "status",
    "ctl": "ctl",
    "init": "init",
    "import": "importer",
    "service": "service",
    "passwd": "passwd",
    "connect": "connect",
}


def _load(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"bridge.commands.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bridge.commands.{module}":
            return None  # command not built yet in this tree
        raise


def build_parser(only: str | None = None) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The parser of every subcommand, or of ``only`` (a name of COMMANDS) and no other.

    Returns:
        ``(parser, modules)``: modules maps each subcommand the parser knows to its module.
    """
    parser = argparse.ArgumentParser(
        prog="serial-bridge",
        description="Serial consoles over Telnet, RFC 2217 and raw TCP.",
    )
    parser.add_argument("--version", action="version", version=f"serial-bridge {__version__}")
    parser.add_argument("--debug", action="store_true", help="debug logging and full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules: dict[str, ModuleType] = {}
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = _load(module_name)
        if module is None:
            continue
        sp = sub.add_parser(name, help=module.HELP, description=module.HELP)
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="debug logging and full tracebacks")
        module.add_arguments(sp)
        modules[name] = module
    return parser, modules


def setup_logging(debug: bool) -> None:
    """Log to stderr; when stderr is the journal, each line carries its syslog priority (<3>, <4>...)."""
    from bridge.systemd import JournalFormatter, stderr_is_journal

    journal = stderr_is_journal()
    if not debug:
        fmt = "%(levelname)s: %(message)s"
    elif journal:   # the journal stamps every line itself
        fmt = "%(levelname)s %(name)s: %(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JournalFormatter(fmt) if journal else logging.Formatter(fmt))
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler])


def _command_named(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names, if it names one of COMMANDS.

    Only the first word that is not an option can be it: the options before
    it (--debug, --version, --help) take no value.
    """
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    # Only the named command's module is imported (each imports what its options
    # need): `serve` then loads none of the other commands' machinery, which the
    # daemon would carry for its whole life (issue 10: 64 ports under 32 MB).
    parser, modules = build_parser(only=_command_named(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    debug = bool(getattr(args, "debug", False))
    setup_logging(debug)
    try:
        code = int(modules[args.command].run(args) or 0)
        sys.stdout.flush()  # a closed reader shows here, not at interpreter exit
        return code
    except BrokenPipeError:   # the reader took what it wanted (`status | head -1`): not a failure
        _silence_stdout()
        return 0
    except (UserError, RuntimeFailure) as exc:
        if debug:
            raise
        print(f"serial-bridge: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0


def _silence_stdout() -> None:
    """The reader of stdout went away (``status | head -1``): stop writing to it quietly.

    Python ignores SIGPIPE, so a write to a closed pipe raises BrokenPipeError;
    what is still buffered would raise again when the interpreter flushes stdout
    at exit, so stdout is pointed at /dev/null first. The command then exits 0
    (UAT 13): whether the reader leaves before or after the last write is a race
    (``status | head -1`` with PYTHONUNBUFFERED set writes the table and its
    newline apart), and an exit status that depends on it fails ``set -o pipefail``
    scripts at random.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
