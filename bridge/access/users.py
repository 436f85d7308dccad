"""Users (issue 11): who may log in over SSH, with what, to which ports.

A user reaches only the ports her globs name (``fnmatch``, as a shell does):
``ports`` as a writer, ``watch`` as a watcher; a port both name is written.
Keys are OpenSSH authorized_keys lines, parsed by asyncssh (which honours
options such as ``from=``); passwords are ``scrypt$`` hashes.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

import asyncssh

from bridge.config.model import UserConfig

WRITER = "writer"
WATCHER = "watcher"


class User:
    """One ``[[user]]``, its keys parsed."""

    def __init__(self, config: UserConfig) -> None:
        self.config = config
        self.name = config.name
        self.authorized_keys: asyncssh.SSHAuthorizedKeys | None = (
            asyncssh.import_authorized_keys("\n".join(config.keys) + "\n") if config.keys else None)

    @property
    def has_password(self) -> bool:
        return self.config.password is not None

    def role(self, port: str) -> str | None:
        """"writer", "watcher" or None (the port is not hers)."""
        if any(fnmatch.fnmatchcase(port, glob) for glob in self.config.ports):
            return WRITER
        if any(fnmatch.fnmatchcase(port, glob) for glob in self.config.watch):
            return WATCHER
        return None

    def ports(self, names: Iterable[str]) -> list[tuple[str, str]]:
        """(port, role) for each of ``names`` she may reach, in their order."""
        out = []
        for name in names:
            role = self.role(name)
            if role is not None:
                out.append((name, role))
        return out


def load_users(configs: Iterable[UserConfig]) -> dict[str, User]:
    """Users by name."""
    return {c.name: User(c) for c in configs}
