"""mDNS through the real daemon, on loopback: ports and the control endpoint
advertised with their TXT records, following the port's state, withdrawn on stop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator

import pytest
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf import ServiceBrowser, ServiceInfo

from bridge.control.client import ControlClient
from bridge.control.discovery import BRIDGE_TYPE, PORT_TYPE, BridgeBrowser, FoundBridge
from tests.fleet.helpers import port_block, wait_until
from tests.integration.helpers import WAIT, Daemon, PtyDevice

Start = Callable[[str], Daemon]
MakePty = Callable[[], PtyDevice]
LOOPBACK = "127.0.0.1"
TOKEN = "fleet-test-token"


def _loopback_multicast_works() -> str | None:
    """None when mDNS works on loopback here, else why not."""
    try:
        zc = Zeroconf(interfaces=[LOOPBACK], ip_version=IPVersion.V4Only)
    except OSError as exc:
        return f"zeroconf cannot bind multicast on loopback: {exc}"
    try:
        name = f"probe-{socket.gethostname()}-{id(zc)}._fleet-probe._tcp.local."
        info = ServiceInfo("_fleet-probe._tcp.local.", name, port=9, parsed_addresses=[LOOPBACK],
                           server="probe.local.")
        zc.register_service(info)
        other = Zeroconf(interfaces=[LOOPBACK], ip_version=IPVersion.V4Only)
        try:
            seen = ServiceInfo("_fleet-probe._tcp.local.", name)
            ok = seen.request(other, 3000)
        finally:
            other.close()
        zc.unregister_service(info)
        return None if ok else "multicast on loopback does not loop back on this machine"
    except OSError as exc:
        return f"multicast on loopback fails: {exc}"
    finally:
        zc.close()


@pytest.fixture(scope="module")
def loopback_mdns() -> None:
    reason = _loopback_multicast_works()
    if reason is not None:
        pytest.skip(reason)


class PortWatch:
    """Follows _serial-console._tcp on loopback: the TXT records of each service, by name."""

    def __init__(self) -> None:
        self.zc = Zeroconf(interfaces=[LOOPBACK], ip_version=IPVersion.V4Only)
        self.services: dict[str, dict[str, str]] = {}
        self.ports: dict[str, int] = {}
        self.browser = ServiceBrowser(self.zc, PORT_TYPE, handlers=[self._changed])

    def _changed(self, zeroconf: Zeroconf, service_type: str, name: str,
                 state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            self.services.pop(name, None)
            return
        info = ServiceInfo(service_type, name)
        if info.request(zeroconf, 3000):
            self.services[name] = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
            self.ports[name] = int(info.port or 0)

    def txt(self, port: str) -> dict[str, str] | None:
        for values in list(self.services.values()):
            if values.get("port") == port:
                return values
        return None

    def close(self) -> None:
        self.browser.cancel()
        self.zc.close()


@pytest.fixture
def watch(loopback_mdns: None) -> Iterator[PortWatch]:
    w = PortWatch()
    yield w
    w.close()


def _config(*blocks: str) -> str:
    return (f'[bridge]\ncontrol = "{LOOPBACK}:0"\ncontrol_token = "{TOKEN}"\nbanner = false\n'
            'mdns = true\n' + "".join(blocks))


def test_ports_are_advertised_with_their_state_and_withdrawn_on_stop(
        start_daemon: Start, make_pty: MakePty, watch: PortWatch) -> None:
    """Each port: TXT port, mode, device, state; the state follows an unplug; stop withdraws it."""
    dev = make_pty()
    name = f"mdns-a-{id(dev)}"
    daemon = start_daemon(_config(port_block(name, dev.path, 'mode = "raw"'),
                                  port_block(f"{name}-off", "/nonexistent/ttyX")))
    listen = int(daemon.port_of(name))
    daemon.wait_log(r"mdns: advertising on 127.0.0.1")
    wait_until(lambda: (watch.txt(name) or {}).get("state") == "up", "port not advertised as up")
    txt = watch.txt(name)
    assert txt is not None
    assert txt["mode"] == "raw" and txt["device"] == dev.path
    assert txt["bridge"].endswith(BRIDGE_TYPE)
    assert listen in watch.ports.values()
    wait_until(lambda: (watch.txt(f"{name}-off") or {}).get("state") == "waiting-for-device",
               "a waiting port is advertised too, with its state")
    dev.close()   # unplugged
    daemon.wait_log(rf"port {name}: device lost")
    wait_until(lambda: (watch.txt(name) or {}).get("state") == "waiting-for-device",
               "state change not advertised")
    assert daemon.stop() == 0
    wait_until(lambda: watch.txt(name) is None and watch.txt(f"{name}-off") is None,
               "advertisements not withdrawn on stop")


def test_the_browser_finds_the_control_endpoint_and_it_answers(
        start_daemon: Start, make_pty: MakePty, loopback_mdns: None) -> None:
    """BridgeBrowser reports the bridge's TCP control endpoint and that it wants a token;
    with the token it lists the ports."""
    dev = make_pty()
    name = f"mdns-b-{id(dev)}"
    daemon = start_daemon(_config(port_block(name, dev.path)))
    daemon.wait_log(r"mdns: advertising on 127.0.0.1")

    async def find() -> tuple[FoundBridge, list[str]]:
        browser = BridgeBrowser(interface=LOOPBACK)
        async with asyncio.timeout(WAIT):
            async for found in browser.found():
                if found.gone:
                    continue
                client = await ControlClient.connect(found.address, TOKEN)
                try:
                    reply = await client.request("list")
                finally:
                    await client.close()
                names = [p["name"] for p in reply["ports"]]
                if name in names:
                    browser.close()
                    return found, names
        raise AssertionError("unreachable")

    found, names = asyncio.run(find())
    assert found.token_required
    assert found.address.startswith(f"{LOOPBACK}:")
    assert names == [name]
    assert daemon.stop() == 0


def test_without_mdns_nothing_is_advertised(start_daemon: Start, make_pty: MakePty, watch: PortWatch) -> None:
    """mdns off (the default): the port never shows up."""
    dev = make_pty()
    name = f"mdns-c-{id(dev)}"
    daemon = start_daemon(f'[bridge]\ncontrol = ""\n' + port_block(name, dev.path))
    daemon.wait_log(rf"port {name}: device .* open")
    other = make_pty()
    witness = f"mdns-w-{id(other)}"
    second = start_daemon(_config(port_block(witness, other.path)))
    wait_until(lambda: watch.txt(witness) is not None, "the witness port is not advertised")
    assert watch.txt(name) is None
    assert not any(": mdns:" in line for line in daemon.lines)
    assert second.stop() == 0 and daemon.stop() == 0


def test_dashboard_discover_asks_the_token_and_shows_alerts(
        start_daemon: Start, make_pty: MakePty, loopback_mdns: None) -> None:
    """dashboard --discover on loopback: the found bridge asks for its token, then its port is
    listed; an alert matching on the device marks the row and shows in the port's detail."""
    from textual.widgets import Input

    from bridge.dashboard.app import make_dashboard
    from bridge.dashboard.screens.detail import DetailScreen
    from bridge.dashboard.screens.token import TokenScreen
    from bridge.dashboard.widgets.port_summary import PortSummary
    from tests.dashboard.helpers import SIZE, until

    dev = make_pty()
    name = f"mdns-d-{id(dev)}"
    alert = '[[port.alert]]\nname = "rommon"\npattern = "^rommon"\ncooldown = 0\n'
    daemon = start_daemon(_config(port_block(name, dev.path, alert)))
    daemon.wait_log(r"mdns: advertising on 127.0.0.1")
    daemon.wait_log(rf"port {name}: device .* open")

    async def run() -> None:
        app = make_dashboard([], [BridgeBrowser(interface=LOOPBACK)], token=None)
        async with asyncio.timeout(5 * WAIT):
            async with app.run_test(size=SIZE) as pilot:
                # browsing, then resolving (up to 3 s a try): generous under load
                await until(pilot, lambda: isinstance(app.screen, TokenScreen), timeout=2 * WAIT)
                app.screen.query_one(Input).value = TOKEN
                await pilot.press("enter")
                table = app.main_screen.table
                await until(pilot, lambda: table.row_count > 0 and str(table.get_row_at(0)[0]) == name,
                            timeout=WAIT)
                dev.write(b"rommon 1 >\r\n")
                await until(pilot, lambda: str(table.get_row_at(0)[0]) == f"{name} !", timeout=WAIT)
                await pilot.press("enter")
                await until(pilot, lambda: isinstance(app.screen, DetailScreen))
                summary = app.screen.query_one(PortSummary)
                await until(pilot, lambda: "alert rommon (1 match" in str(summary.render()), timeout=WAIT)
                assert "rommon 1 >" in str(summary.render())
    asyncio.run(run())
    assert daemon.stop() == 0


def test_a_reload_that_turns_mdns_off_withdraws_everything(
        start_daemon: Start, make_pty: MakePty, watch: PortWatch) -> None:
    """mdns = true, then SIGHUP with mdns removed: the port's advertisement goes away, the port stays."""
    dev = make_pty()
    name = f"mdns-e-{id(dev)}"
    config = _config(port_block(name, dev.path))
    daemon = start_daemon(config)
    wait_until(lambda: (watch.txt(name) or {}).get("state") == "up", "port not advertised")
    daemon.reload(config.replace("mdns = true\n", ""))
    daemon.wait_log(r"reload: ")
    wait_until(lambda: watch.txt(name) is None, "advertisement not withdrawn by the reload")
    assert daemon.proc.poll() is None
    assert daemon.stop() == 0


def test_a_port_that_cannot_listen_is_not_advertised(
        start_daemon: Start, make_pty: MakePty, watch: PortWatch) -> None:
    """A port whose address is taken (state failed) has no listener, so no advertisement; its sibling has one."""
    dev, other = make_pty(), make_pty()
    name = f"mdns-f-{id(dev)}"
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        busy = taken.getsockname()[1]
        daemon = start_daemon(_config(
            port_block(f"{name}-ok", other.path),
            f'[[port]]\nname = "{name}"\ndevice = "{dev.path}"\nlisten = {busy}\nlock_files = false\n'))
        daemon.wait_log(rf"port {name}: cannot listen")
        wait_until(lambda: watch.txt(f"{name}-ok") is not None, "the working port is not advertised")
        assert watch.txt(name) is None
        assert daemon.stop() == 0
