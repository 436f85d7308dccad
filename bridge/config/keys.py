"""The one table of configuration keys.

Every key a ``[[port]]`` takes is listed once in ``PORT_KEYS`` with its
checker, its built-in default, a one-line description and the area of the
project that acts on it. Validation (``load.py``), the ``PortConfig``
defaults (checked by a test), profile files (``profiles.py``), the
``profiles`` command and docs/configuration.md all derive from it.
``BRIDGE_KEYS`` holds the keys only ``[bridge]`` takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.config import values as v
from bridge.config.alert import alerts as _alerts

REQUIRED: Any = object()  # default of the keys a port must give

# Areas of the project, by issue (for docs/configuration.md).
RUNTIME = "runtime (#3)"
LINE = "line control (#4)"
SESSIONS = "sessions (#5)"
HARDWARE = "hardware (#6)"
ACCESS = "access (#11)"
FLEET = "fleet (#14)"

ON_OFF_KEEP = ("on", "off", "keep")


@dataclass(frozen=True, slots=True)
class Key:
    """One configuration key: how it is checked, its default, what it does."""

    check: v.Checker
    default: Any
    doc: str
    area: str
    kind: str  # what the key takes, for docs: "integer", "string", ...


def _k(check: v.Checker, default: Any, kind: str, area: str, doc: str) -> Key:
    return Key(check=check, default=default, doc=doc, area=area, kind=kind)


_ONE_OF = "one of "

PORT_KEYS: dict[str, Key] = {
    "name": _k(v.port_name, REQUIRED, "string", RUNTIME,
               "Unique name of the port: letters, digits, '_', '.' and '-'."),
    "device": _k(v.device, REQUIRED, "string", RUNTIME,
                 "Device path, pyserial URL (loop://, rfc2217://...) or usb: selector "
                 "(usb:serial=..., usb:vid=0403,pid=6001,interface=1, usb:path=1-1.4). "
                 "A path that does not exist yet is not an error: the port waits for it."),
    "listen": _k(v.listen_address, REQUIRED, "port or host:port", RUNTIME,
                 'TCP port, or "host:port" ("[::1]:7001" for IPv6); the host defaults to bind. '
                 "0 picks a free port."),
    "mode": _k(v.choice("telnet", "raw"), "telnet", "telnet | raw", RUNTIME,
               "telnet: NVT with options and RFC 2217; raw: bytes pass untouched."),
    "profile": _k(v.text(empty=False), None, "string", HARDWARE,
                  "Name of a hardware profile (hw_profiles/ or profiles_dir) whose keys "
                  "this port starts from."),
    # Line settings: one validator with the control API and the bridge (issue 13).
    "baud": _k(v.line_setting("baud"), 9600, "1..20000000", RUNTIME, "Baud rate."),
    "bytesize": _k(v.line_setting("bytesize"), 8, "5..8", RUNTIME, "Data bits."),
    "parity": _k(v.line_setting("parity"), "none",
                 "none | even | odd | mark | space", RUNTIME, "Parity."),
    "stopbits": _k(v.line_setting("stopbits"), 1, "1 | 1.5 | 2", RUNTIME, "Stop bits."),
    "flow": _k(v.line_setting("flow"), "none",
               "none | rtscts | xonxoff | dsrdtr", RUNTIME, "Flow control."),
    "required": _k(v.boolean, False, "boolean", RUNTIME,
                   "serve exits 1 when this port's device cannot be opened at start."),
    "enabled": _k(v.boolean, True, "boolean", RUNTIME,
                  "false keeps the port configured but closed (state disabled): its clients "
                  "are told and disconnected, the device is released, and a client that "
                  "connects meanwhile is told the port is disabled. `ctl disable` and "
                  "`ctl enable` do the same at run time."),
    "break_ms": _k(v.integer(1, 10000), 250, "1..10000", LINE,
                   "Length of a break sent to the device, in milliseconds."),
    "ip_action": _k(v.choice("ctrl-c", "break"), "ctrl-c", "ctrl-c | break", LINE,
                    "What Telnet IAC IP does: send 0x03 to the device, or a break."),
    "dm_break": _k(v.boolean, False, "boolean", LINE,
                   "Telnet Synch (IAC DM) also sends a break."),
    "break_sequence": _k(v.text(max_len=8), "", "string", LINE,
                         'In-band break for clients that cannot send IAC BRK (such as "~~b"), '
                         'typed at the start of a line; "" turns it off.'),
    "ec_byte": _k(v.integer(0, 255), 8, "0..255", RUNTIME,
                  "Byte sent to the device for Telnet EC (erase character)."),
    "el_byte": _k(v.integer(0, 255), 21, "0..255", RUNTIME,
                  "Byte sent to the device for Telnet EL (erase line)."),
    "newline": _k(v.choice("crlf", "cr", "lf"), "crlf", "crlf | cr | lf", RUNTIME,
                  "What a client's end of line (CR LF in NVT text mode) becomes at the device; the CR goes at once (as LF with lf), and with cr or lf the LF that completes it is dropped when it comes. Enter sent as CR NUL is a bare CR with crlf (RFC 854), a LF with lf."),
    "remote_settings": _k(v.choice("allow", "deny"), "allow", "allow | deny", LINE,
                          "Whether RFC 2217 clients may change line settings and modem lines."),
    "restore_settings": _k(v.boolean, True, "boolean", LINE,
                           "Return to the configured line settings (or the operator's last "
                           "`ctl set`) when the last client that asked for settings leaves."),
    "dtr_on_open": _k(v.choice(*ON_OFF_KEEP), "on", "on | off | keep", LINE,
                      "DTR when the device is opened: raise, lower or leave alone."),
    "rts_on_open": _k(v.choice(*ON_OFF_KEEP), "on", "on | off | keep", LINE,
                      "RTS when the device is opened: raise, lower or leave alone."),
    "dtr_on_close": _k(v.choice(*ON_OFF_KEEP), "keep", "on | off | keep", LINE,
                       "DTR when the device is closed."),
    "rts_on_close": _k(v.choice(*ON_OFF_KEEP), "keep", "on | off | keep", LINE,
                       "RTS when the device is closed."),
    "hupcl": _k(v.boolean, True, "boolean", LINE,
                "Let the kernel drop DTR on close (HUPCL); false for boards that reset on DTR."),
    "modem_poll_ms": _k(v.integer(20), 100, "integer >= 20", LINE,
                        "Modem-line poll interval while an RFC 2217 client watches them, in ms."),
    "max_connections": _k(v.integer(1), 4, "integer >= 1", SESSIONS,
                          "Most clients connected to the port at once."),
    "access": _k(v.choice("shared", "first", "exclusive"), "shared",
                 "shared | first | exclusive", SESSIONS,
                 "Who may write: everyone, the first client, or one client at a time."),
    "takeover": _k(v.boolean, False, "boolean", SESSIONS,
                   "With access = exclusive, a new client pushes the old one off."),
    "listen_readonly": _k(v.listen_address, None, "port or host:port", SESSIONS,
                          "Optional second listener whose clients can only watch."),
    "hold_open": _k(v.boolean, True, "boolean", SESSIONS,
                    "Keep the device open with no client connected (false: open on demand)."),
    "history": _k(v.integer(0), 65536, "integer >= 0", SESSIONS,
                  "Bytes of device output kept for the control API and dashboard (and replay); 0 turns it off."),
    # issue 10: replay of the history at connect is opt-in.
    "replay": _k(v.boolean, False, "boolean", SESSIONS,
                 "Send the kept history to each new client before live output."),
    "log_dir": _k(v.text(empty=False), None, "string", SESSIONS,
                  "Directory of session logs (<log_dir>/<port>.log); unset: no log."),
    "log": _k(v.choice("device", "both", "off"), "device", "device | both | off", SESSIONS,
              "What the session log records: device output, both directions, or nothing."),
    "log_timestamps": _k(v.boolean, True, "boolean", SESSIONS,
                         "Timestamp at the start of each logged line."),
    "log_max_bytes": _k(v.integer(4096), 10485760, "integer >= 4096", SESSIONS,
                        "Size at which the session log is rotated."),
    "log_keep": _k(v.integer(0), 5, "integer >= 0", SESSIONS,
                   "Rotated session logs kept."),
    "stall_timeout": _k(v.number(0, above=True), 30.0, "seconds > 0", SESSIONS,
                        "A writing client that cannot take output for this long is disconnected."),
    "idle_timeout": _k(v.number(0), 0.0, "seconds >= 0", SESSIONS,
                       "Disconnect a client idle this long; 0 = never."),
    "banner": _k(v.boolean, True, "boolean", SESSIONS,
                 "One-line banner on connect (telnet mode)."),
    "connect_rate": _k(v.integer(0), 60, "integer >= 0", SESSIONS,
                       "Sustained connections per source address per minute, with a burst of 5 minutes' worth; 0 = unlimited."),
    "exclusive": _k(v.boolean, True, "boolean", HARDWARE,
                    "Open the device exclusively (TIOCEXCL)."),
    "lock_files": _k(v.boolean, True, "boolean", HARDWARE,
                     "Honour and take UUCP lock files (LCK..ttyUSB0)."),
    "lock_dir": _k(v.text(empty=False), "/var/lock", "string", HARDWARE,
                   "Directory of UUCP lock files."),
    # -- access from the network (issue 11) --
    "allow": _k(v.networks, None, "list of addresses and networks", ACCESS,
                'Addresses that may connect (CIDR networks or addresses, IPv4 and IPv6, as '
                '["192.0.2.0/24", "2001:db8::/32"]); others are closed at once. In [bridge] it also '
                "guards SSH and the TCP control endpoint. Unset: all."),
    "tls": _k(v.boolean, False, "boolean", ACCESS,
              "The port's listeners (listen and listen_readonly) accept only TLS, with "
              "[bridge]'s tls_cert and tls_key."),
    # -- issue 14 (fleet): alerts on device output; see docs/fleet.md --
    "alert": _k(_alerts, (), "[[port.alert]] tables", FLEET,
                "Alerts on device output lines: name, pattern (a Python regular expression), "
                'action ("log" or "exec"), command (a list, for exec), cooldown (seconds, '
                "default 60), timeout (seconds, default 10). See docs/fleet.md."),
}

# Keys a port must give itself (no default; never in a profile).
REQUIRED_KEYS = tuple(name for name, key in PORT_KEYS.items() if key.default is REQUIRED)

# Keys that describe one port's identity and wiring, not a kind of equipment.
NOT_IN_PROFILE = frozenset(
    {"name", "device", "listen", "listen_readonly", "profile", "required", "enabled",
     "allow", "tls"})

PROFILE_KEYS = tuple(name for name in PORT_KEYS if name not in NOT_IN_PROFILE)

BRIDGE_KEYS: dict[str, Key] = {
    "bind": _k(v.text(empty=False), "127.0.0.1", "string", RUNTIME,
               'Host of every listener that names no host; "0.0.0.0" or "::" serve the network.'),
    "control": _k(v.text(), None, "string", "control (#7)",
                  'Control endpoint, a unix socket path, host:port, or tls://host:port (TLS with tls_cert; '
                  'issue 11); unset: the default path; "" turns it off.'),
    "control_token": _k(v.text(empty=False), None, "string", "control (#7)",
                        "Secret a control client must present (needed for a TCP endpoint)."),
    "profiles_dir": _k(v.text(empty=False), None, "string", HARDWARE,
                       "Directory of your own profiles (<name>.toml); they add to and override "
                       "the shipped ones. Relative to the config file."),
    # -- access from the network (issue 11) --
    "ssh_listen": _k(v.listen_address, None, "port or host:port", ACCESS,
                     'Address of the SSH server for every port ("0.0.0.0:2222"); the host '
                     "defaults to bind. Unset: no SSH."),
    "ssh_host_key": _k(v.text(empty=False), None, "string", ACCESS,
                       "The SSH host key file (OpenSSH format); made (ed25519, mode 0600) on first "
                       "start if missing. Unset: ssh_host_ed25519_key next to the config file. "
                       "Relative to the config file."),
    "tls_cert": _k(v.text(empty=False), None, "string", ACCESS,
                   "PEM certificate (chain) of ports with tls = true. Relative to the config file."),
    "tls_key": _k(v.text(empty=False), None, "string", ACCESS,
                  "PEM private key of tls_cert; must not be readable by others. Relative to the config file."),
    "tls_client_ca": _k(v.text(empty=False), None, "string", ACCESS,
                        "PEM CA certificates: TLS clients must present a certificate one of them "
                        "signed; its subject is shown as the session's user. Unset: no client certificates."),
    # -- issue 14 (fleet): Prometheus metrics and mDNS discovery; see docs/fleet.md --
    "metrics": _k(v.listen_address, None, "port or host:port", FLEET,
                  'Serve Prometheus metrics at http://HOST:PORT/metrics (the host defaults to bind); '
                  "unset: no metrics."),
    "mdns": _k(v.boolean, False, "boolean", FLEET,
               "Advertise every port and the TCP control endpoint with mDNS/DNS-SD on the "
               "interfaces of bind (all of them for a wildcard bind)."),
}

# The keys of a [[user]] table (issue 11): who may log in over SSH, and to which ports.
USER_KEYS: dict[str, Key] = {
    "name": _k(v.user_name, REQUIRED, "string", ACCESS,
               "Login name: letters, digits, '_', '.' and '-'."),
    "keys": _k(v.key_source, None, "path or list of strings", ACCESS,
               "OpenSSH authorized_keys: a file path (relative to the config file) or a list "
               "of key lines; options such as from= are honoured."),
    "password": _k(v.password_hash, None, "string", ACCESS,
                   'A password hash made by "serial-bridge passwd" (scrypt$...).'),
    "ports": _k(v.globs, (), "list of port names or globs", ACCESS,
                "Ports the user may write to."),
    "watch": _k(v.globs, (), "list of port names or globs", ACCESS,
                "Ports the user may only watch."),
}

PORT_DEFAULTS: dict[str, Any] = {
    name: key.default for name, key in PORT_KEYS.items() if key.default is not REQUIRED}
