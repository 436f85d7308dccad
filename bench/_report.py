"""Results of one run, and the table that shows them side by side with ratios."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

BRIDGE = "serial-bridge"
Value = float | str | None


@dataclass(frozen=True)
class Row:
    """One line of the table: a metric key, its label, and which way is better."""

    key: str
    label: str
    better: str = ""  # "lower", "higher" or "" (no ratio)


@dataclass
class Results:
    """Metric samples per target (one per repeat), and the failures met."""

    columns: list[str] = field(default_factory=list)
    values: dict[str, dict[str, list[Value]]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    unmeasured: dict[str, list[str]] = field(default_factory=dict)   # target: key prefixes
    unmeasured_why: dict[str, str] = field(default_factory=dict)     # target: what and why
    stat: str = "median"  # or "best": what the table shows of several samples

    def put(self, target: str, key: str, value: Value) -> None:
        """Record one sample of ``key`` for ``target``."""
        self.values.setdefault(target, {}).setdefault(key, []).append(value)

    def get(self, target: str, key: str, better: str = "") -> Value:
        """One figure from the samples: the median, or with ``stat = "best"`` the best
        one (lowest or highest, per ``better``); text samples joined when they differ.
        """
        samples = [v for v in self.values.get(target, {}).get(key, []) if v is not None]
        if not samples:
            return None
        if all(isinstance(v, float) for v in samples):
            numbers = [float(v) for v in samples if isinstance(v, float)]
            if self.stat == "best" and better:
                return min(numbers) if better == "lower" else max(numbers)
            return float(statistics.median(numbers))
        distinct = sorted({str(v) for v in samples})
        return distinct[0] if len(distinct) == 1 else "/".join(distinct)

    def fail(self, target: str, reason: str) -> None:
        """Record that a step of ``target`` failed."""
        self.failures.setdefault(target, []).append(reason)

    def note(self, target: str, text: str) -> None:
        """Record something worth knowing about ``target``'s run (a retry)."""
        self.notes.setdefault(target, []).append(text)

    def unmeasure(self, target: str, prefixes: list[str], why: str) -> None:
        """Record that ``target`` is not measured for keys ``prefix`` or ``prefix.*``, and why."""
        self.unmeasured[target] = prefixes
        self.unmeasured_why[target] = why

    def measured(self, target: str, key: str) -> bool:
        """False when ``key`` is, or is under, a prefix ``target`` is not measured for."""
        return not any(key == prefix or key.startswith(prefix + ".")
                       for prefix in self.unmeasured.get(target, []))

    def as_dict(self) -> dict[str, object]:
        """Everything, for JSON."""
        return {"columns": self.columns, "values": self.values,
                "failures": self.failures, "notes": self.notes,
                "unmeasured": self.unmeasured, "unmeasured_why": self.unmeasured_why}


def rows(rounds: int, size: int, seconds: float, idle: float,
         port_counts: tuple[int, ...] = (1, 16, 64)) -> list[Row]:
    """The table's rows, in order."""
    out: list[Row] = []
    for mode in ("raw", "telnet"):
        out += [Row(f"rtt.{mode}.p50", f"keystroke {mode} p50, us ({rounds} trips)", "lower"),
                Row(f"rtt.{mode}.p99", f"keystroke {mode} p99, us", "lower"),
                Row(f"rtt.{mode}.cpu", f"daemon CPU per {mode} round trip, us", "lower")]
    mib = size >> 20
    for mode in ("raw", "telnet"):
        for direction, words in (("down", "device->client"), ("up", "client->device")):
            key = f"tp.{mode}.{direction}"
            out += [Row(key, f"{mode} {words}, MB/s ({mib} MiB)", "higher"),
                    Row(f"{key}.ok", f"{mode} {words}, SHA-256 intact"),
                    Row(f"{key}.cpu", f"{mode} {words}, daemon CPU ms per MB", "lower")]
    out.append(Row("idle.cpu", f"idle, 2 clients connected: CPU ms in {idle:g} s", "lower"))
    for count in port_counts:
        out += [Row(f"ports.{count}.cpu", f"{count} ports streaming: CPU % of a core", "lower"),
                Row(f"ports.{count}.chunk", f"{count} ports: CPU us per 64-byte chunk", "lower"),
                Row(f"ports.{count}.rss", f"{count} ports: peak RSS, MiB", "lower"),
                Row(f"ports.{count}.lost",
                    f"{count} ports: bytes lost of {count * 11520 * seconds:.0f}"),
                Row(f"ports.{count}.idle", f"{count} ports idle: CPU ms in {idle:g} s", "lower")]
    return out


def _cell(value: Value | int) -> str:
    """A value as the table shows it."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 or value == 0 else f"{value:.2f}"
    return str(value)


def _ratio(ours: Value, theirs: Value) -> str:
    """serial-bridge's value over the other's, or '-' when not comparable."""
    if not isinstance(ours, float) or not isinstance(theirs, float) or theirs == 0:
        return "-"
    return f"{ours / theirs:.2f}x"


def print_table(results: Results, rounds: int, size: int, seconds: float, idle: float) -> None:
    """Print every row that has a value (median or best of the repeats), with ratios.

    A cell of a row its target is not measured for reads ``n/m``, explained
    under the table; ``-`` is a value that should be there and is not.
    """
    others = [c for c in results.columns if c not in (BRIDGE, "direct pty")]
    ratio_heads = [f"{BRIDGE}/{o}" for o in others] if BRIDGE in results.columns else []
    head = ["metric", *results.columns, *ratio_heads, "better"]
    table = [head]
    not_measured: set[str] = set()
    for row in rows(rounds, size, seconds, idle):
        cells = [results.get(c, row.key, row.better) for c in results.columns]
        if all(v is None for v in cells):
            continue
        ratios = [_ratio(results.get(BRIDGE, row.key, row.better),
                         results.get(o, row.key, row.better)) if row.better
                  else "-" for o in others] if ratio_heads else []
        shown = [_cell(int(v) if isinstance(v, float) and row.key.endswith(".lost") else v)
                 for v in cells]
        for index, column in enumerate(results.columns):
            if cells[index] is None and not results.measured(column, row.key):
                shown[index] = "n/m"
                not_measured.add(column)
        table.append([row.label, *shown, *ratios, row.better or ""])
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for index, line in enumerate(table):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(line, widths))))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    for target in (c for c in results.columns if c in not_measured):
        print(f"n/m = not measured for this target: {target}: {results.unmeasured_why.get(target, '')}")
    for target, texts in results.notes.items():
        for text in texts:
            print(f"NOTE {target}: {text}")
    for target, reasons in results.failures.items():
        for reason in reasons:
            print(f"FAILED {target}: {reason}")
