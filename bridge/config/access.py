"""Checks of the access keys (issue 11): key files, TLS files, [[user]] tables.

Run by the loader for ``check`` and ``serve`` alike, so a config ``check``
accepts is one ``serve`` can start: files exist and are readable, private
keys are not readable by others, certificates load, every user glob names a
port, password hashes are well formed.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from pathlib import Path
from typing import Any

from bridge.config import keys
from bridge.config.locate import Table
from bridge.config.model import UserConfig
from bridge.config.table import TableChecker

_BRIDGE: Table = ("bridge", None)
_PATH_KEYS = ("ssh_host_key", "tls_cert", "tls_key", "tls_client_ca")
DEFAULT_HOST_KEY = "ssh_host_ed25519_key"


def private_file_problem(path: str) -> str | None:
    """Why ``path`` (a private key) may not be used: missing, unreadable, or readable by others."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"file not found: {path}"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if not stat.S_ISREG(mode):
        return f"not a regular file: {path}"
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        return (f"{path} is readable by others (mode {stat.S_IMODE(mode):04o}); "
                f"make it private: chmod 600 {path}")
    if not os.access(path, os.R_OK):
        return f"cannot read {path}: permission denied"
    return None


def _readable_problem(path: str) -> str | None:
    if not os.path.isfile(path):
        return f"file not found: {path}"
    if not os.access(path, os.R_OK):
        return f"cannot read {path}: permission denied"
    return None


class AccessChecker:
    """The access part of one config load; problems go to ``checker``."""

    def __init__(self, checker: TableChecker, base: Path) -> None:
        self.checker = checker
        self.base = base

    def _path(self, value: str) -> str:
        return str(self.base / Path(value).expanduser())

    def bridge(self, bridge_only: dict[str, Any], tls_ports: list[str]) -> dict[str, Any]:
        """Resolve and check the [bridge] access keys; returns them, paths resolved."""
        out = {name: bridge_only[name] for name in ("ssh_listen", *_PATH_KEYS)}
        for name in _PATH_KEYS:
            if out[name] is not None:
                out[name] = self._path(out[name])
        if out["ssh_listen"] is not None:
            if out["ssh_host_key"] is None:
                out["ssh_host_key"] = self._path(DEFAULT_HOST_KEY)
            path = out["ssh_host_key"]
            if os.path.exists(path):
                problem = private_file_problem(path)
                if problem:
                    self.checker.add(_BRIDGE, None, "ssh_host_key", problem)
            elif not os.path.isdir(os.path.dirname(path) or "."):
                self.checker.add(_BRIDGE, None, "ssh_host_key",
                                 f"directory not found: {os.path.dirname(path)} (the key is made there on first start)")
        self._tls(out, tls_ports)
        control = bridge_only.get("control")
        if isinstance(control, str) and control.strip().startswith("tls://") and (
                out["tls_cert"] is None or out["tls_key"] is None):
            self.checker.add(_BRIDGE, None, "control", "a tls:// control endpoint needs tls_cert and tls_key")
        return out

    def _tls(self, out: dict[str, Any], tls_ports: list[str]) -> None:
        cert, key, ca = out["tls_cert"], out["tls_key"], out["tls_client_ca"]
        if tls_ports and (cert is None or key is None):
            missing = " and ".join(k for k, val in (("tls_cert", cert), ("tls_key", key)) if val is None)
            self.checker.add(_BRIDGE, None, None,
                             f"port{'s' if len(tls_ports) > 1 else ''} {', '.join(tls_ports)} "
                             f"{'have' if len(tls_ports) > 1 else 'has'} tls = true: [bridge] needs {missing}")
        if (cert is None) != (key is None):
            self.checker.add(_BRIDGE, None, "tls_cert" if cert is None else "tls_key",
                             "tls_cert and tls_key go together")
            return
        if ca is not None and cert is None:
            self.checker.add(_BRIDGE, None, "tls_client_ca", "needs tls_cert and tls_key")
        bad = False
        for name, path in (("tls_cert", cert), ("tls_client_ca", ca)):
            if path is not None and (problem := _readable_problem(path)):
                self.checker.add(_BRIDGE, None, name, problem)
                bad = True
        if key is not None and (problem := private_file_problem(key)):
            self.checker.add(_BRIDGE, None, "tls_key", problem)
            bad = True
        if bad or cert is None or key is None:
            return
        from bridge.access.tls import TlsError, server_context
        try:
            server_context(cert, key, ca)
        except TlsError as exc:
            self.checker.add(_BRIDGE, None, "tls_cert", str(exc))

    def users(self, raw: list[Any], names: list[str]) -> tuple[UserConfig, ...]:
        """Check every [[user]] (``names``: the ports); returns the good ones."""
        out: list[UserConfig] = []
        seen: set[str] = set()
        for index, table in enumerate(raw):
            where: Table = ("user", index)
            if not isinstance(table, dict):
                self.checker.add(where, None, None, "must be a table, written [[user]]")
                continue
            label = table.get("name") if isinstance(table.get("name"), str) else f"#{index + 1}"
            good = self.checker.check(table, keys.USER_KEYS, where, None)
            if "name" not in table:
                self.checker.add(where, None, "name", f"user {label}: missing; every [[user]] needs it")
                continue
            if "name" not in good:
                continue
            name = good["name"]
            if name in seen:
                self.checker.add(where, None, "name", f"user '{name}': another [[user]] has this name")
                continue
            seen.add(name)
            key_lines, key_file = self._keys(where, name, good.get("keys"))
            if not key_lines and good.get("password") is None and "keys" not in table:
                self.checker.add(where, None, None, f"user '{name}': needs keys or password to log in")
            for field in ("ports", "watch"):
                for glob in good.get(field, ()):
                    if not fnmatch.filter(names, glob):
                        self.checker.add(where, None, field, f"user '{name}': {glob!r} names no port")
            out.append(UserConfig(name=name, keys=key_lines, keys_file=key_file,
                                  password=good.get("password"), ports=good.get("ports", ()),
                                  watch=good.get("watch", ())))
        return tuple(out)

    def _keys(self, where: Table, name: str, value: str | tuple[str, ...] | None) -> tuple[tuple[str, ...], str | None]:
        if value is None:
            return (), None
        path: str | None = None
        if isinstance(value, str):
            path = self._path(value)
            problem = _readable_problem(path)
            if problem:
                self.checker.add(where, None, "keys", f"user '{name}': {problem}")
                return (), path
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.checker.add(where, None, "keys", f"user '{name}': cannot read {path}: {exc}")
                return (), path
            lines = tuple(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
        else:
            lines = value
        import asyncssh

        bad = False
        for number, line in enumerate(lines, start=1):   # every bad line reported, not only the first
            try:
                asyncssh.import_authorized_keys(line + "\n")
            except (ValueError, asyncssh.KeyImportError) as exc:
                at = f" {number}" if len(lines) > 1 else ""
                self.checker.add(where, None, "keys", f"user '{name}': bad authorized_keys line{at}: {exc}")
                bad = True
        if bad:
            return (), path
        if not lines:
            self.checker.add(where, None, "keys", f"user '{name}': no keys in {path}")
        return lines, path
