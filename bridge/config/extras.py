"""Optional features a config asks for and this installation lacks (UAT finding 7).

``metrics`` needs prometheus-client (``serial-bridge[metrics]``), ``mdns`` needs
zeroconf (``serial-bridge[mdns]``). A config that asks for one of them without
it is still usable: the bridge serves its ports without that feature. The
loader calls :func:`missing_extras` once, so ``check`` prints the very lines
``serve`` logs at start and on reload (one validator, one verdict), and the
feature is turned off in the loaded config rather than failing later.
"""

from __future__ import annotations

import importlib.util

# key -> (module to import, distribution name, extra, what runs without it)
EXTRAS: dict[str, tuple[str, str, str, str]] = {
    "metrics": ("prometheus_client", "prometheus-client", "metrics", "metrics"),
    "mdns": ("zeroconf", "zeroconf", "mdns", "mDNS advertisements"),
}


def installed(module: str) -> bool:
    """True when ``module`` can be imported (looked up, not imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extras(asked: dict[str, object]) -> dict[str, str]:
    """For each key of ``asked`` (``[bridge]`` values, already checked) that turns on a
    feature whose package is not installed: the key -> one sentence saying so and how to
    install it. ``metrics`` counts as asked when set; ``mdns`` when true."""
    out: dict[str, str] = {}
    for key, (module, distribution, extra, feature) in EXTRAS.items():
        value = asked.get(key)
        if value is None or value is False or installed(module):
            continue
        out[key] = (f"{distribution} is not installed, so the bridge runs without {feature}; "
                    f"install it with: pip install 'serial-bridge[{extra}]'")
    return out
