"""The head of the detail screen: a port's config, state and counters."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from bridge.control.model import human_age, human_bytes
from bridge.dashboard.messages import PortView
from bridge.dashboard.widgets.port_table import rate_text, state_text


class PortSummary(Static):
    """Two or three lines about one port."""

    def show(self, view: PortView | None) -> None:
        """Show this port (or that it is gone)."""
        if view is None:
            self.update("this port is gone")
            return
        info = view.info
        now = time.time()
        text = Text()
        text.append(info.name, style="bold")
        text.append(f" on {view.host}: {info.device}  listen {info.listen} ({info.mode})")
        if info.profile:
            text.append(f"  profile {info.profile}")
        text.append("\n")
        text.append_text(state_text(view))
        if info.since:
            text.append(f" {human_age(info.since, now)}", style="dim")
        text.append(f"  {info.settings_short}  clients {len(info.sessions)}"
                    f"  rx {human_bytes(info.rx_bytes)} ({rate_text(view.rx_rate)}/s)"
                    f"  tx {human_bytes(info.tx_bytes)} ({rate_text(view.tx_rate)}/s)"
                    f"  last {human_age(info.last_activity, now)}")
        if info.error:
            text.append(f"\n{info.error}", style="red")
        alert = info.last_alert
        if alert is not None:
            text.append(f"\nalert {alert.name}", style="bold yellow")
            text.append(f" ({alert.matches} match{'es' if alert.matches != 1 else ''},"
                        f" last {human_age(alert.last_at, now)} ago): {alert.last_line or ''}")
        self.set_class(not view.online or info.state != "up", "-trouble")
        self.update(text)
