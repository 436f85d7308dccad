"""ser2net configurations (4.x ``ser2net.yaml``, 3.x ``ser2net.conf``) as serial-bridge ports.

Theory of operation: both formats describe, per connection, an *accepter*
(how clients connect: ``telnet(rfc2217),tcp,2001``), a *connector* (the
serial device and its line settings: ``serialdev,/dev/ttyUSB0,9600n81,local``)
and options (``kickolduser``, ``max-connections``, ``banner``, ``trace-*``...),
with ``default`` entries filling in what a connection leaves out. Each
connection becomes a :class:`PortPlan` holding serial-bridge port keys; every
setting that has no counterpart becomes one warning line naming the file,
line and connection. Settings that are off (``false``, ``off``, ``0``) turn
nothing on and are dropped silently.

ser2net's own YAML dialect (version 1) repeats keys at the top level
(``connection:`` once per connection), names connections by YAML anchor
(``connection: &rtr1``) and substitutes ``*(name)`` defines inside strings;
version 2 uses one ``connections:`` map and ``=(name)``. The file is therefore
read as a YAML node tree (PyYAML's composer, which keeps repeated keys and
lines), never as plain dicts. See ser2net.yaml(5), ser2net.conf(5) and
gensio(5) for the settings.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bridge.config import keys as config_keys
from bridge.config import values
from bridge.errors import UserError

NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_SPEED = re.compile(r"^(\d+)([nNeEoOmMsS])?([5-8])?([12])?$")
_PARITY = {"n": "none", "e": "even", "o": "odd", "m": "mark", "s": "space"}
_OFF = {"false", "off", "no", "0", "", "none"}
_V1_DEFINE = re.compile(r"\*\(([^)]+)\)")
_V2_DEFINE = re.compile(r"=\(([^)]+)\)")
_MAX_INCLUDE_DEPTH = 8

# Options with no counterpart, and what they did (the warning says it).
NO_COUNTERPART = {
    "chardelay": "waits for more characters before sending to the network; serial-bridge sends at once",
    "chardelay-scale": "character delay tuning; serial-bridge sends at once",
    "chardelay-min": "character delay tuning; serial-bridge sends at once",
    "chardelay-max": "character delay tuning; serial-bridge sends at once",
    "dev-to-net-bufsize": "buffer size; serial-bridge sizes its buffers itself",
    "net-to-dev-bufsize": "buffer size; serial-bridge sizes its buffers itself",
    "openstr": "a string sent to the device on connect",
    "closestr": "a string sent to the device on disconnect",
    "closeon": "closes the connection on a device string",
    "signature": "the RFC 2217 signature string",
    "sendon": "sends network data on a string",
    "led-rx": "LEDs", "led-tx": "LEDs", "led-conn": "LEDs",
    "authdir": "gensio authentication; use SSH users (docs/security.md)",
    "pamauth": "gensio authentication; use SSH users (docs/security.md)",
    "allowed-users": "gensio authentication; use SSH users (docs/security.md)",
    "connback": "connects out to a remote on device data",
    "connback-timeout": "connects out to a remote on device data",
    "timeout-on-os-queue": "timeout accounting",
    "accepter-retry-time": "retry timing; serial-bridge retries on its own schedule",
    "connector-retry-time": "retry timing; serial-bridge reopens a device as soon as it is back",
    "mdns-interface": "mDNS details", "mdns-nettype": "mDNS details", "mdns-name": "mDNS details",
    "mdns-type": "mDNS details", "mdns-domain": "mDNS details", "mdns-host": "mDNS details",
    "mdns-txt": "mDNS details", "mdns-sysattrs": "mDNS details",
    "trace-hexdump": "hex dumps in trace files", "trace-read-hexdump": "hex dumps in trace files",
    "trace-write-hexdump": "hex dumps in trace files", "trace-both-hexdump": "hex dumps in trace files",
    "remctl": None,   # 3.x: RFC 2217 on a telnet port, handled with the accepter
}
_TIMESTAMP_OPTIONS = ("trace-timestamp", "trace-read-timestamp", "trace-write-timestamp", "trace-both-timestamp")
_TRACE_OPTIONS = ("trace-read", "trace-write", "trace-both")


@dataclass
class PortPlan:
    """One serial-bridge ``[[port]]``: its keys in order, where it came from, and notes."""

    name: str
    source: str
    keys: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Conversion:
    """The result: ``[bridge]`` keys, the ports, and one warning line per setting left behind."""

    bridge: dict[str, Any] = field(default_factory=dict)
    ports: list[PortPlan] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def warn(self, where: str, text: str) -> None:
        line = f"{where}: {text}"
        if line not in self.warnings:
            self.warnings.append(line)


def _is_off(value: str) -> bool:
    return value.strip().lower() in _OFF


def _split_top(text: str) -> list[str]:
    """Split a gensio string on commas outside parentheses, trimming the spaces YAML folding left."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


# ====================================================================== shared mapping

class _Builder:
    """Turns one ser2net connection's accepter, connector and options into port keys."""

    def __init__(self, out: Conversion, where: str, label: str) -> None:
        self.out = out
        self.where = where
        self.label = label
        self.keys: dict[str, Any] = {}
        self.skip_reason: str | None = None
        self.telnet = False
        self.rfc2217 = False

    def warn(self, text: str) -> None:
        self.out.warn(self.where, f"{self.label}: {text}")

    def set(self, key: str, value: Any) -> None:
        """Set a port key, checked as ``check`` would check it: a bad value is a warning, left out."""
        spec = config_keys.PORT_KEYS.get(key)
        if spec is None:
            return
        try:
            spec.check(value)
        except values.Invalid as exc:
            self.warn(f"{key} = {_toml_value(value)}: {exc}: left out")
            return
        self.keys[key] = value

    # ------------------------------------------------------------------ accepter
    def accepter(self, text: str) -> None:
        """``telnet(rfc2217),tcp,[host,]port`` and friends (gensio(5))."""
        layers = _split_top(text)
        host: str | None = None
        port: str | None = None
        while layers:
            layer = layers.pop(0)
            kind, _, args = layer.partition("(")
            kind = kind.strip().lower()
            args = args.rstrip(")")
            if kind == "telnet":
                self.telnet = True
                self.rfc2217 = self.rfc2217 or "rfc2217" in args.replace(" ", "").split(",")
            elif kind in ("tcp", "sctp", "udp"):
                if kind != "tcp":
                    self.warn(f"accepter {kind}: serial-bridge listens on TCP only (the port listens on TCP)")
                rest = [x for x in layers if x.lower() not in ("ipv4", "ipv6")]
                layers = []
                if not rest:
                    self.skip_reason = f"accepter {text!r} names no port"
                    return
                port = rest[-1]
                host = ",".join(rest[:-1]) or None
            elif kind in ("ipv4", "ipv6"):
                continue
            elif kind == "ssl":
                self.warn("accepter ssl: TLS is set with tls = true, tls_cert and tls_key (docs/security.md)")
            elif kind in ("mux", "certauth", "ratelimit", "trace", "perf", "msgdelim", "relpkt"):
                self.warn(f"accepter {kind}: no counterpart (SSH users in docs/security.md give "
                          "authenticated, encrypted access)")
            elif kind.isdigit() and not layers:
                port = kind
            else:
                # A bare host before the port (3.x "192.168.27.3,2001").
                if layers and layers[-1].isdigit():
                    host, port = kind, layers[-1]
                    layers = []
                else:
                    self.skip_reason = f"accepter {layer!r} is not understood"
                    return
        if port is None or not port.isdigit() or not 0 < int(port) < 65536:
            self.skip_reason = f"accepter {text!r}: no TCP port number"
            return
        self.set("listen", int(port) if not host else f"{_bracket(host)}:{port}")
        self.set("mode", "telnet" if self.telnet else "raw")

    def finish_accepter(self, remctl: bool) -> None:
        if self.telnet and not (self.rfc2217 or remctl):
            # Without rfc2217, ser2net ignores COM-PORT-OPTION; keep clients from changing the line.
            self.set("remote_settings", "deny")

    # ------------------------------------------------------------------ serial device
    def serial_word(self, word: str) -> bool:
        """One serialdev setting (``9600n81``, ``local``, ``rtscts``, ``EVEN``, ``2STOPBITS``...)."""
        text = word.strip()
        if not text:
            return True
        name, sep, value = text.partition("=")
        low = name.lower()
        enabled = not (sep and _is_off(value))
        if low.startswith("-"):
            low, enabled = low[1:], False
        if low == "speed" and sep:
            return self.serial_word(value)
        match = _SPEED.match(text)
        if match:
            self.set("baud", int(match.group(1)))
            if match.group(2):
                self.set("parity", _PARITY[match.group(2).lower()])
            if match.group(3):
                self.set("bytesize", int(match.group(3)))
            if match.group(4):
                self.set("stopbits", int(match.group(4)))
            return True
        upper = text.upper()
        if upper in ("NONE", "EVEN", "ODD", "MARK", "SPACE"):
            self.set("parity", upper.lower())
        elif upper in ("1STOPBIT", "2STOPBITS"):
            self.set("stopbits", int(upper[0]))
        elif re.fullmatch(r"[5-8]DATABITS", upper):
            self.set("bytesize", int(upper[0]))
        elif low in ("databits", "stopbits") and value.isdigit():
            self.set("bytesize" if low == "databits" else "stopbits", int(value))
        elif low == "parity" and value.lower() in ("none", "even", "odd", "mark", "space"):
            self.set("parity", value.lower())
        elif low in ("rtscts", "xonxoff"):
            if enabled:
                self.set("flow", low)
        elif low in ("local", "clocal"):
            if not enabled:
                self.warn("serialdev -local (honour carrier detect): serial-bridge always ignores DCD")
        elif low in ("dtr", "rts") and sep:
            self.set(f"{low}_on_open", "off" if _is_off(value) else "on")
        elif low in ("hangup-when-done", "hangup_when_done"):
            if enabled:
                self.set("hold_open", False)
                self.set("hupcl", True)
                self.warn("serialdev hangup-when-done: the device is closed (DTR dropped) when the last "
                          "client leaves: hold_open = false, hupcl = true")
        elif low in ("nobreak", "wronly", "rs485", "custspeed", "drain-time", "char-drain-wait",
                     "break", "dsr"):
            if enabled:
                self.warn(f"serialdev {text}: no counterpart")
        else:
            return False
        return True

    # ------------------------------------------------------------------ options
    def option(self, name: str, value: str, traces: dict[str, str] | None = None) -> None:
        """One connection option (``kickolduser``, ``max-connections``, ``trace-both``, ...)."""
        low = name.lower()
        if low == "kickolduser":
            if not _is_off(value):
                self.kick = True
        elif low == "max-connections":
            if value.strip().isdigit() and int(value) > 0:
                self.max_connections = int(value)
            else:
                self.warn(f"max-connections {value!r} is not a positive number: left out")
        elif low == "banner":
            if value.strip():
                self.set("banner", True)
                self.warn(f"banner {_short(value)}: serial-bridge prints its own one-line banner "
                          "(banner = true); the text is not kept")
        elif low == "telnet-brk-on-sync":
            if not _is_off(value):
                self.set("dm_break", True)
        elif low in _TRACE_OPTIONS:
            path = (traces or {}).get(value, value)
            if path.strip():
                self.trace(low, path)
        elif low in _TIMESTAMP_OPTIONS:
            if not _is_off(value):
                self.timestamps = True
        elif low == "mdns":
            if not _is_off(value):
                if "mdns" in config_keys.BRIDGE_KEYS:
                    self.out.bridge["mdns"] = True
                else:
                    self.warn("mdns: no counterpart in this version")
        elif low == "remaddr":
            if value.strip():
                self.remaddr(value)
        elif low in NO_COUNTERPART:
            if NO_COUNTERPART[low] is not None and not _is_off(value):
                self.warn(f"option {low} ({_short(value)}): no counterpart: {NO_COUNTERPART[low]}")
        elif low == "timeout":
            self.timeout(value)
        elif low in ("enable",):
            if _is_off(value):
                self.set("enabled", False)
        else:
            if not _is_off(value):
                self.warn(f"option {low} ({_short(value)}): not understood, left out")

    kick = False
    max_connections: int | None = None
    timestamps = False

    def remaddr(self, value: str) -> None:
        """``remaddr=[!][ipv4,]HOST,PORT;...``: the addresses that may connect, as ``allow``."""
        import ipaddress

        hosts: list[str] = []
        for entry in (e.strip() for e in value.split(";") if e.strip()):
            parts = _split_top(entry)
            host = parts[-2] if len(parts) >= 2 else ""
            try:
                address = ipaddress.ip_address(host.strip("[]"))
            except ValueError:
                address = None
            if entry.startswith("!") or address is None or "allow" not in config_keys.PORT_KEYS:
                self.warn(f"remaddr {_short(value)}: only IP addresses convert to allow = [...] "
                          "(docs/security.md): left out")
                return
            hosts.append(str(address))
            if parts[-1] != "0":
                self.warn(f"remaddr {_short(entry)}: the source port {parts[-1]} is not kept, "
                          f"only the address {address}")
        self.set("allow", hosts)

    def timeout(self, value: str) -> None:
        text = value.strip()
        if not text.isdigit():
            self.warn(f"timeout {value!r} is not a number of seconds: left out")
        elif int(text) > 0:
            self.set("idle_timeout", float(int(text)))

    def trace(self, kind: str, path: str) -> None:
        directory, base = os.path.split(path.strip())
        if not directory or "\\" in directory:
            self.warn(f"{kind} {_short(path)}: no fixed directory to put the session log in: left out")
            return
        self.set("log_dir", directory)
        both = kind != "trace-read" or self.keys.get("log") == "both"
        self.set("log", "both" if both else "device")
        self.warn(f"{kind} {_short(path, 60)}: the session log is {directory}/<port>.log "
                  f"(log = \"{'both' if both else 'device'}\"); the file name pattern is not kept")

    def finish(self) -> None:
        """Apply the options that depend on each other: max-connections, kickolduser, timestamps."""
        if self.max_connections is None or self.max_connections == 1:
            # ser2net's default: one client; a second is refused, or takes over with kickolduser.
            self.set("access", "exclusive")
            if self.kick:
                self.set("takeover", True)
        else:
            self.set("max_connections", self.max_connections)
            if self.kick:
                self.warn(f"kickolduser with max-connections {self.max_connections}: serial-bridge "
                          "refuses a client beyond max_connections instead of dropping the oldest")
        if "log_dir" in self.keys:
            self.set("log_timestamps", self.timestamps)


MAPPED_OPTIONS = frozenset({"kickolduser", "max-connections", "banner", "telnet-brk-on-sync", "timeout",
                            "mdns", "remaddr", "enable", *_TRACE_OPTIONS, *_TIMESTAMP_OPTIONS})


def classify_default(out: Conversion, where: str, name: str, value: str, kind: str | None) -> str | None:
    """What a ``default`` is: ``"serial"`` (a serialdev setting), ``"option"`` (a connection option
    with a counterpart), or None (warned about here, once, and not applied to the ports)."""
    low = name.strip().lower()
    cls = (kind or "").strip().lower()
    if cls and cls != "serialdev":
        if not _is_off(value):
            out.warn(where, f"default {low} for {cls} connections ({_short(value)}): no counterpart")
        return None
    probe = _Builder(Conversion(), where, f"default {low}")
    word = value if low == "speed" else f"{low}={value}"
    if probe.serial_word(word):
        if probe.out.warnings:   # said once here, not again for every port
            for line in probe.out.warnings:
                out.warn(where, line.partition(": ")[2])
            return None
        return "serial"
    elif low in MAPPED_OPTIONS:
        return "option"
    if low in NO_COUNTERPART:
        if NO_COUNTERPART[low] is not None and not _is_off(value):
            out.warn(where, f"default {low} ({_short(value)}): no counterpart: {NO_COUNTERPART[low]}")
        return None
    out.warn(where, f"default {name} ({_short(value)}): not understood, left out")
    return None


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _short(value: str, limit: int = 40) -> str:
    text = value.replace("\n", "\\n").replace("\r", "\\r")
    return "'" + (text if len(text) <= limit else text[:limit - 3] + "...") + "'"


def _port_name(raw: str, used: set[str]) -> str:
    base = NAME_UNSAFE.sub("-", raw).strip("-") or "port"
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}-{n}"
    used.add(name)
    return name


def _add_port(out: Conversion, builder: _Builder, raw_name: str, device: str, used: set[str],
              listens: dict[str, str], devices: dict[str, str]) -> None:
    if builder.skip_reason:
        builder.warn(f"{builder.skip_reason}: connection left out")
        return
    listen = str(builder.keys.get("listen"))
    if listen in listens:
        builder.warn(f"listen {listen} is already port {listens[listen]}'s: connection left out")
        return
    if device in devices:
        builder.warn(f"{device} is already port {devices[device]} (serial-bridge shares one port among "
                     "its clients): connection left out")
        return
    try:
        config_keys.PORT_KEYS["device"].check(device)
    except values.Invalid as exc:
        builder.warn(f"device {_short(device)}: {exc}: connection left out")
        return
    name = _port_name(raw_name, used)
    listens[listen] = name
    devices[device] = name
    keys: dict[str, Any] = {"name": name, "device": device}
    keys.update(builder.keys)
    out.ports.append(PortPlan(name=name, source=builder.where, keys=keys))


# ====================================================================== 4.x YAML

def _compose(path: str, text: str) -> list[Any]:
    """Every YAML document of ``text`` as a node tree, plus each node's anchor (``node.anchor_name``)."""
    try:
        import yaml
    except ImportError:
        raise UserError(f"{path}: reading ser2net.yaml needs PyYAML: "
                        "pip install 'serial-bridge[import]' (or: pip install PyYAML)") from None

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            anchor = None
            if not self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                anchor = getattr(event, "anchor", None)
            node: Any = super().compose_node(parent, index)
            if anchor is not None and not hasattr(node, "anchor_name"):
                node.anchor_name = anchor
            return node

    try:
        loader = Loader(text)
        try:
            documents = []
            while loader.check_node():
                documents.append(loader.get_node())
            return documents
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        context = str(getattr(exc, "context", None) or "").split(";")[0]
        problem = context or getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{where}: not a ser2net YAML file: {problem}") from None


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def _scalar(node: Any) -> str:
    """A scalar node's text as written; a sequence's items joined by commas."""
    if hasattr(node, "value") and isinstance(node.value, str):
        return str(node.value)
    if isinstance(getattr(node, "value", None), list) and all(not isinstance(v, tuple) for v in node.value):
        return ",".join(_scalar(v) for v in node.value)
    return ""


def _pairs(node: Any) -> list[tuple[str, Any]]:
    """A mapping node's (key text, value node) pairs in order, repeated keys kept; [] otherwise."""
    if type(node).__name__ != "MappingNode":
        return []
    return [(_scalar(k), v) for k, v in node.value]


class _Yaml:
    """ser2net 4.x YAML, versions 1 and 2, with include."""

    def __init__(self, out: Conversion) -> None:
        self.out = out
        self.defines: dict[str, str] = {}
        self.defaults: dict[str, tuple[str, str | None]] = {}   # name -> (value, class)
        self.used: set[str] = set()
        self.listens: dict[str, str] = {}
        self.devices: dict[str, str] = {}
        self.seen_files: set[str] = set()

    def subst(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            return self.defines.get(match.group(1), match.group(0))
        return _V2_DEFINE.sub(one, _V1_DEFINE.sub(one, text))

    def read(self, path: str, depth: int = 0) -> None:
        real = os.path.realpath(path)
        if real in self.seen_files:
            self.out.warn(path, "included twice: read once")
            return
        self.seen_files.add(real)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
        self.out.sources.append(path)
        for document in _compose(path, text):
            self.document(path, document, depth)

    def document(self, path: str, node: Any, depth: int) -> None:
        if node is None:
            return
        pairs = _pairs(node)
        if not pairs:
            self.out.warn(path, "no ser2net settings in this document")
            return
        for key, value in pairs:
            where = f"{path}:{_line(value)}"
            low = key.lower()
            if low == "define":
                name = getattr(value, "anchor_name", None)
                if name:
                    self.defines[name] = self.subst(_scalar(value))
            elif low == "defines":
                for name, item in _pairs(value):
                    self.defines[name] = self.subst(_scalar(item))
            elif low == "default":
                fields = dict((k.lower(), _scalar(v)) for k, v in _pairs(value))
                self.default(where, fields.get("name", ""), fields.get("value", ""), fields.get("class"))
            elif low == "defaults":
                for name, item in _pairs(value):
                    fields = dict((k.lower(), _scalar(v)) for k, v in _pairs(item))
                    self.default(f"{path}:{_line(item)}", name, fields.get("value", ""), fields.get("class"))
            elif low == "delete_defaults":
                for name, _item in _pairs(value):
                    self.defaults.pop(name.lower(), None)
            elif low == "connection":
                self.connection(where, getattr(value, "anchor_name", None) or f"con{len(self.out.ports)}",
                                value)
            elif low == "connections":
                for name, item in _pairs(value):
                    self.connection(f"{path}:{_line(item)}", name, item)
            elif low == "include":
                self.include(where, path, self.subst(_scalar(value)), depth)
            elif low in ("rotator", "rotators"):
                self.out.warn(where, "rotator: no counterpart (one listen port cycling through "
                              "several devices): left out")
            elif low in ("admin", "admins"):
                self.out.warn(where, "admin interface: serial-bridge's control endpoint is [bridge] control "
                              "(serial-bridge status / ctl / dashboard)")
            elif low in ("led", "leds"):
                self.out.warn(where, "led: no counterpart: left out")
            else:
                self.out.warn(where, f"{key}: not understood, left out")

    def default(self, where: str, name: str, value: str, kind: str | None) -> None:
        low = name.strip().lower()
        if not low:
            self.out.warn(where, "default without a name: left out")
            return
        what = classify_default(self.out, where, low, self.subst(value), kind)
        if what is None:
            self.defaults.pop(low, None)
        else:
            self.defaults[low] = (self.subst(value), "serialdev" if what == "serial" else None)

    def include(self, where: str, path: str, pattern: str, depth: int) -> None:
        if depth >= _MAX_INCLUDE_DEPTH:
            self.out.warn(where, f"include {pattern!r}: includes nested too deep: left out")
            return
        full = pattern if os.path.isabs(pattern) else os.path.join(os.path.dirname(path), pattern)
        matches = sorted(glob.glob(full))
        if not matches:
            self.out.warn(where, f"include {pattern!r}: no such file: left out")
        for match in matches:
            self.read(match, depth + 1)

    def connection(self, where: str, raw_name: str, node: Any) -> None:
        fields = _pairs(node)
        builder = _Builder(self.out, where, f"connection {raw_name}")
        values = {k.lower(): v for k, v in fields}
        accepter = self.subst(_scalar(values["accepter"])) if "accepter" in values else ""
        connector = self.subst(_scalar(values["connector"])) if "connector" in values else ""
        if not accepter or not connector:
            builder.warn("no accepter or connector: connection left out")
            return
        builder.accepter(accepter)
        device = self.connector(builder, connector)
        if device is None:
            return
        options = {name: (value, kind) for name, (value, kind) in self.defaults.items() if kind != "serialdev"}
        for key, value in fields:
            low = key.lower()
            if low in ("accepter", "connector"):
                continue
            if low == "options":
                for name, item in _pairs(value):
                    options[name.lower()] = (self.subst(_scalar(item)), None)
            elif low == "timeout":
                builder.timeout(_scalar(value))
            elif low == "enable":
                if _is_off(_scalar(value)):
                    builder.set("enabled", False)
            else:   # ser2net also takes options beside accepter and connector
                options[low] = (self.subst(_scalar(value)), None)
        for name, (value, _kind) in options.items():
            builder.option(name, value)
        builder.finish_accepter(remctl=False)
        builder.finish()
        _add_port(self.out, builder, raw_name, device, self.used, self.listens, self.devices)

    def connector(self, builder: _Builder, text: str) -> str | None:
        """The serial device of a ``serialdev,DEVICE,OPTIONS`` connector (and its line keys), else None."""
        parts = _split_top(text)
        kind = parts[0].split("(")[0].strip().lower() if parts else ""
        if kind in ("tcp", "telnet") and len(parts) >= 3:
            is_rfc = kind == "telnet" and "rfc2217" in parts[0]
            layers = parts[1:] if kind == "tcp" else parts[2:]
            if len(layers) >= 2 and layers[-1].isdigit():
                scheme = "rfc2217" if is_rfc else "socket"
                return f"{scheme}://{_bracket(layers[-2])}:{layers[-1]}"
        if kind not in ("serialdev", "serial") or len(parts) < 2:
            builder.warn(f"connector {_short(text)}: not a serial device: connection left out")
            return None
        words = re.split(r"\s+", parts[1].strip())
        device = words[0]
        for name, (value, kind_of) in self.defaults.items():
            if kind_of == "serialdev":
                builder.serial_word(value if name == "speed" else f"{name}={value}")
        for word in [*words[1:], *(w for p in parts[2:] for w in re.split(r"\s+", p))]:
            if not builder.serial_word(word):
                builder.warn(f"serialdev {word!r}: not understood, left out")
        return device


# ====================================================================== 3.x ser2net.conf

_STATES = ("raw", "rawlp", "telnet", "off")


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first line number, text) of each line, backslash continuations joined."""
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        yield start, " ".join(p.strip() if i else p.rstrip() for i, p in enumerate(pending))
        pending = []
    if pending:
        yield start, " ".join(pending)


def _read_conf(path: str, text: str, out: Conversion) -> None:
    named: dict[str, dict[str, str]] = {"BANNER": {}, "TRACEFILE": {}, "DEVICE": {}}
    defaults: list[tuple[str, str, str]] = []   # (kind, name, value)
    used: set[str] = set()
    listens: dict[str, str] = {}
    devices: dict[str, str] = {}
    for number, line in _logical_lines(text):
        stripped = line.strip()
        where = f"{path}:{number}"
        if not stripped or stripped.startswith("#"):
            continue
        head, _, rest = stripped.partition(":")
        upper = head.upper()
        if upper in named:
            name, _, value = rest.partition(":")
            named[upper][name] = value
        elif upper == "DEFAULT":
            name, _, value = rest.partition(":")
            value, _, cls = value.partition(":")
            what = classify_default(out, where, name, value, cls or None)
            if what is not None:
                defaults.append((what, name.lower(), value))
        elif upper in ("OPENSTR", "CLOSESTR", "SIGNATURE", "CLOSEON", "LED", "RS485CONF"):
            name = rest.partition(":")[0]
            named.setdefault(upper, {})[name] = rest
        elif upper == "CONTROLPORT":
            out.warn(where, f"CONTROLPORT {rest}: serial-bridge's control endpoint is [bridge] control "
                     "(serial-bridge status / ctl / dashboard)")
        elif upper == "ROTATOR":
            out.warn(where, "ROTATOR: no counterpart (one listen port cycling through several devices): "
                     "left out")
        else:
            _conf_port(where, stripped, named, defaults, out, used, listens, devices)


def _conf_port(where: str, line: str, named: dict[str, dict[str, str]], defaults: list[tuple[str, str, str]],
               out: Conversion, used: set[str], listens: dict[str, str], devices: dict[str, str]) -> None:
    tokens = line.split(":")
    index = next((i for i in range(1, len(tokens) - 2)
                  if tokens[i].strip().lower() in _STATES and tokens[i + 1].strip().isdigit()), None)
    if index is None:
        out.warn(where, f"{_short(line, 60)}: not a ser2net.conf line: left out")
        return
    portspec = ":".join(tokens[:index])
    state = tokens[index].strip().lower()
    timeout = tokens[index + 1].strip()
    device = tokens[index + 2].strip()
    words = ":".join(tokens[index + 3:]).split()
    builder = _Builder(out, where, f"port {portspec}")
    accepter = portspec if state != "telnet" or portspec.lower().startswith("telnet") else f"telnet,{portspec}"
    builder.accepter(accepter)
    if state == "rawlp":
        builder.warn("rawlp (a printer, output only): no counterpart: connection left out")
        return
    if state == "off":
        builder.set("enabled", False)
    device = named["DEVICE"].get(device, device)
    if not device.startswith("/"):
        builder.warn(f"device {device!r}: not a serial device path: connection left out")
        return
    for what, name, value in defaults:
        if what == "serial":
            builder.serial_word(value if name == "speed" else f"{name}={value}")
        else:
            builder.option(name, value)
    builder.timeout(timeout)
    remctl = False
    traces = named["TRACEFILE"]
    for word in words:
        name, sep, value = word.partition("=")
        low = name.lower()
        if builder.serial_word(word):
            continue
        if low == "remctl":
            remctl = True
        elif sep and low in ("tr", "tw", "tb"):
            option = {"tr": "trace-read", "tw": "trace-write", "tb": "trace-both"}[low]
            builder.option(option, traces.get(value, value))
        elif sep:
            builder.option(low, value)
        elif name in named["BANNER"]:
            builder.option("banner", named["BANNER"][name] or name)
        elif any(name in named.get(kind, {}) for kind in ("OPENSTR", "CLOSESTR", "SIGNATURE", "CLOSEON")):
            kind = next(k for k in ("OPENSTR", "CLOSESTR", "SIGNATURE", "CLOSEON") if name in named.get(k, {}))
            builder.warn(f"{kind} {name}: no counterpart: left out")
        elif low.startswith("-"):
            builder.option(low[1:], "false")
        else:
            builder.option(low, "true")
    builder.finish_accepter(remctl)
    builder.finish()
    base = os.path.basename(device)
    raw_name = base if base.startswith("tty") else f"port-{builder.keys.get('listen')}"
    _add_port(out, builder, raw_name, device, used, listens, devices)


# ====================================================================== entry points

def looks_like_yaml(text: str) -> bool:
    """True for a 4.x YAML file (``%YAML``, ``---`` or ``key:`` maps), False for 3.x lines."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(("%YAML", "---")):
            return True
        return bool(re.match(r"^[A-Za-z_-]+:\s*(&\S+)?\s*$", stripped)
                    or re.match(r"^(define|default|defines|defaults|connection|connections|include|"
                                r"admin|admins|led|leds|rotator|rotators):", stripped))
    return False


def convert(path: str, reader: Callable[[str], str] | None = None) -> Conversion:
    """Convert the ser2net configuration at ``path`` (4.x YAML or 3.x ``ser2net.conf``).

    Raises:
        UserError: the file cannot be read, is not YAML that ser2net could read, or needs PyYAML.
    """
    try:
        text = reader(path) if reader else open(path, encoding="utf-8").read()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file") from None
    out = Conversion()
    if looks_like_yaml(text):
        _Yaml(out).read(path)
    else:
        out.sources.append(path)
        _read_conf(path, text, out)
    if not out.ports:
        out.warn(path, "no serial connection found to convert")
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    return f'"{text}"'


def render(conversion: Conversion) -> str:
    """serial-bridge TOML for ``conversion``: a header, ``[bridge]``, then one ``[[port]]`` each."""
    from bridge import __version__

    lines = [f"# Converted from {', '.join(conversion.sources)} by serial-bridge import ser2net "
             f"(serial-bridge {__version__}).",
             "# Settings without a counterpart were reported on standard error. Check, then:",
             "#   serial-bridge check --config THIS_FILE",
             "",
             "[bridge]",
             "# ser2net listened on every address. Keep this only if clients connect from",
             '# the network (docs/security.md); "127.0.0.1" keeps the consoles on this machine.',
             'bind = "0.0.0.0"']
    for key, value in conversion.bridge.items():
        lines.append(f"{key} = {_toml_value(value)}")
    for port in conversion.ports:
        lines.extend(["", "[[port]]", f"# from {port.source}"])
        lines.extend(f"# {note}" for note in port.notes)
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in port.keys.items())
    return "\n".join(lines) + "\n"
