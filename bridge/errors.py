"""Errors that reach the user as one clear line (no traceback without --debug)."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix: printed as one line, exit code 2."""

    exit_code = 2


class RuntimeFailure(Exception):
    """Something failed at run time (a required port, a busy listen port): one line, exit code 1."""

    exit_code = 1
