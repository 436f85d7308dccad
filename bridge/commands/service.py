"""``serial-bridge service``: print a hardened systemd unit that runs ``serve``.

The unit is ``Type=notify`` (``serve`` sends READY=1 once its ports listen),
with a watchdog (``WatchdogSec=``: ``serve`` pings from its event loop, so a
wedged loop is killed and restarted), ``Restart=on-failure``, device access
through the ``dialout`` group rather than root, and systemd's sandboxing
(systemd.exec(5)): the file system read-only but for the state, logs and
runtime directories it creates (the control socket lives in the runtime one)
and the UUCP lock directory. Without ``--user`` the service runs as a
transient user (``DynamicUser=yes``), which needs no account to be created.

The sandbox hides /tmp, /var/tmp and /root (and, from a transient user, home
folders and any folder closed to others), so an installation there cannot be
run by the service: ``service`` then prints the unit anyway and one warning
line on stderr naming the file it could not reach and the system-wide install
(``PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx install``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

HELP = "print a systemd unit (Type=notify, watchdog, sandboxing) that runs serve"

DEFAULT_CONFIG = "/etc/serial-bridge/bridge.toml"
UNIT_NAME = "serial-bridge.service"
WATCHDOG_SEC = 30
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\$?$")
_HOMES = ("/home/", "/root/", "/run/user/")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--config FILE`` and ``--user USER``."""
    parser.add_argument("--config", "-c", default=DEFAULT_CONFIG, metavar="FILE",
                        help=f"the config the service serves (default: {DEFAULT_CONFIG})")
    parser.add_argument("--user", metavar="USER",
                        help="run as this existing user (default: a transient user, DynamicUser=yes)")


def _quote(word: str) -> str:
    """One word of a systemd command line, double-quoted when it holds spaces or quotes."""
    if word and not re.search(r"[\s\"'\\;$%]", word):
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def command_line() -> list[str]:
    """How to start this installation: its console script beside the interpreter, else ``python -m bridge``."""
    script = Path(sys.executable).parent / "serial-bridge"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "bridge"]


# Folders the unit's sandbox hides from the service (systemd.exec(5)), and why.
_HIDDEN = (
    ("/tmp/", "PrivateTmp=yes gives the service its own empty /tmp"),
    ("/var/tmp/", "PrivateTmp=yes gives the service its own empty /var/tmp"),
    ("/home/", "home folders are hidden (ProtectHome=) or private to their owner"),
    ("/root/", "/root is hidden (ProtectHome=) and private to root"),
    ("/run/user/", "/run/user is hidden (ProtectHome=) and private to each user"),
)
SYSTEM_INSTALL = "sudo PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx install serial-bridge"


def needed_files(command: list[str]) -> list[str]:
    """Every file ExecStart needs, absolute: the program, where its symlinks lead, the
    interpreter named by its ``#!`` line (and where that leads), and this package's folder."""
    paths: list[str] = []

    def add(path: str) -> None:
        for candidate in (os.path.abspath(path), os.path.realpath(path)):
            if candidate not in paths:
                paths.append(candidate)
    add(command[0])
    try:
        with open(command[0], "rb") as handle:
            first = handle.readline(512)
    except OSError:
        first = b""
    if first.startswith(b"#!"):
        words = first[2:].decode(errors="replace").split()
        if words and words[0].startswith("/"):
            add(words[0])
    add(str(Path(__file__).resolve().parents[1]))   # the bridge package itself
    return paths


def sandbox_hides(path: str, transient_user: bool) -> str | None:
    """Why the service's sandbox would keep it from ``path`` (an absolute path), or None.

    Under /tmp, /var/tmp or /root: the folder the unit hides. With ``transient_user``
    (``DynamicUser=yes``, an account with no rights of its own), also /home and /run/user,
    a folder on the way that others may not enter, or a file others may not read (a
    named account gets ``ProtectHome=read-only`` and may own its home folder).
    """
    for prefix, why in _HIDDEN:
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            if prefix in ("/home/", "/run/user/") and not transient_user:
                return None   # ProtectHome=read-only then: the named account may own it
            return why
    if not transient_user:
        return None
    here = Path(path)
    for folder in reversed(here.parents):
        try:
            if folder.stat().st_mode & 0o001 == 0:
                return f"{folder} is closed to other users (the service runs as a transient user)"
        except OSError:
            return None   # not there (yet): nothing to say
    try:
        if here.stat().st_mode & 0o004 == 0:
            return f"{here} is not readable by other users (the service runs as a transient user)"
    except OSError:
        return None
    return None


def sandbox_warnings(config: str, user: str | None, command: list[str]) -> list[str]:
    """At most one line for the program and one for the config: what the service could not reach."""
    lines = []
    for path in needed_files(command):
        why = sandbox_hides(path, user is None)
        if why:
            lines.append(f"serial-bridge: warning: the service could not run {command[0]} "
                         f"(it needs {path}: {why}); install where a service can run it: "
                         f"{SYSTEM_INSTALL}, then run /usr/local/bin/serial-bridge service")
            break
    why = sandbox_hides(config, user is None)
    if why:
        lines.append(f"serial-bridge: warning: the service could not read {config} ({why}); "
                     f"put the config in /etc/serial-bridge/ (serial-bridge service --config FILE)")
    return lines


def render_unit(config: str, user: str | None, command: list[str]) -> str:
    """The unit file's text.

    Args:
        config: absolute path of the config file.
        user: the account to run as, or None for ``DynamicUser=yes``.
        command: the program and arguments that start ``serial-bridge``.
    """
    in_home = any(p.startswith(_HOMES) for p in (command[0], config))
    exec_start = " ".join(_quote(w) for w in [*command, "serve", "--config", config])
    identity = ([f"User={user}"] if user else
                ["# No account to create: a transient user, in the dialout group below.",
                 "# Its private files (tls_key, ssh_host_key) go in /var/lib/serial-bridge,",
                 "# which systemd hands to it; or name an account: serial-bridge service --user NAME.",
                 "DynamicUser=yes"])
    home = (["# The program or the config is under a home folder: readable, not writable. The",
             "# service's user must be able to reach it (home folders are often mode 0700);",
             "# a system-wide install avoids that (docs/raspberry-pi.md).",
             "ProtectHome=read-only"] if in_home else ["ProtectHome=yes"])
    lines = [
        "# serial-bridge: serial consoles on the network, run by systemd.",
        f"# Install: serial-bridge service > /etc/systemd/system/{UNIT_NAME}",
        f"#          systemctl daemon-reload && systemctl enable --now {UNIT_NAME}",
        "# Check:   systemctl status serial-bridge; journalctl -u serial-bridge -p warning",
        "# Reload the config with: systemctl reload serial-bridge (SIGHUP)",
        "",
        "[Unit]",
        "Description=serial-bridge: serial consoles over Telnet, RFC 2217 and raw TCP",
        "Wants=network-online.target",
        "After=network-online.target",
        "# Keep restarting a failed bridge (every RestartSec), never give up.",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "# serve says READY=1 when its ports listen, and pings the watchdog from its",
        "# event loop: a loop stuck longer than WatchdogSec is killed and restarted.",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={exec_start}",
        "ExecReload=/bin/kill -HUP $MAINPID",
        f"WatchdogSec={WATCHDOG_SEC}",
        "Restart=on-failure",
        "RestartSec=5",
        "# A bad config (exit 2) is not retried: fix it, then systemctl restart.",
        "RestartPreventExitStatus=2",
        "TimeoutStopSec=20",
        *identity,
        "# Serial devices belong to the dialout group (see serial-bridge udev).",
        "SupplementaryGroups=dialout",
        "# /var/lib/serial-bridge (SSH host key), /var/log/serial-bridge (session logs),",
        "# /run/serial-bridge (the control socket: serial-bridge status finds it there).",
        "StateDirectory=serial-bridge",
        "LogsDirectory=serial-bridge",
        "RuntimeDirectory=serial-bridge",
        "RuntimeDirectoryMode=0750",
        "ConfigurationDirectory=serial-bridge",
        "# Sandboxing: everything read-only but the directories above and the UUCP",
        "# lock directory; no privileges, no capabilities.",
        "ProtectSystem=strict",
        "ReadWritePaths=-/run/lock",
        *home,
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "# Ports below 1024 (Telnet on 23): add AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "# and the same to CapabilityBoundingSet.",
        "CapabilityBoundingSet=",
        "# No DeviceAllow=, PrivateDevices= or ProtectClock= (which implies DeviceAllow= on",
        "# systemd before 252): a device allow-list would lock out adapters plugged in later.",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectHostname=yes",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "SystemCallArchitectures=native",
        "# AF_NETLINK: udev hot-plug events (pyudev, when installed).",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "UMask=0027",
        "Environment=PYTHONUNBUFFERED=1",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Print the unit; 0, or 2 for a malformed user name."""
    from bridge.errors import UserError

    if args.user is not None and not _USER.match(args.user):
        raise UserError(f"bad --user {args.user!r}: expected a user name such as serial-bridge")
    if args.user == "root":
        raise UserError("--user root: the service needs no root; leave --user out "
                        "(a transient user) or name an account in the dialout group")
    config = os.path.abspath(args.config)
    if not os.path.exists(config):
        print(f"serial-bridge: note: {config} does not exist yet "
              f"(serial-bridge init --output {config} writes one)", file=sys.stderr)
    command = command_line()
    for line in sandbox_warnings(config, args.user, command):
        print(line, file=sys.stderr)
    print(render_unit(config, args.user, command), end="")
    return 0
