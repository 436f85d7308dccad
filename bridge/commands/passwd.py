"""``serial-bridge passwd``: make a password hash for a ``[[user]]`` (issue 11).

Reads the password from the terminal (twice, without echo, with getpass) or,
when stdin is not a terminal, from the first line of stdin; prints the
``scrypt$...`` hash on stdout, for ``password = "..."`` in a ``[[user]]``.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bridge.errors import UserError

HELP = "make a password hash for a [[user]] (reads the terminal, or stdin when piped)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cost`` (scrypt's log2 N)."""
    parser.add_argument("--cost", type=int, default=None, metavar="LN",
                        help="scrypt cost as log2(N), 10..20 (default 14: 16 MiB, tens of ms per login)")


def read_password() -> str:
    """The password, from the terminal (asked twice) or stdin's first line.

    Raises:
        UserError: empty, or the two entries differ.
    """
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first and getpass.getpass("Again: ") != first:
            raise UserError("the two passwords differ; nothing written")
    else:
        first = sys.stdin.readline().rstrip("\r\n")
    if not first:
        raise UserError("empty password; nothing written")
    return first


def run(args: argparse.Namespace) -> int:
    """Print the hash of the password read; 0, or 2 for a user mistake."""
    from bridge.access.passwords import LN, hash_password

    cost = LN if args.cost is None else args.cost
    if not 10 <= cost <= 20:
        raise UserError(f"--cost must be from 10 to 20, got {cost}")
    print(hash_password(read_password(), ln=cost))
    return 0
