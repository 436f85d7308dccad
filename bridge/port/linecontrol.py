"""RFC 2217 COM-PORT-OPTION, server side: requests become device calls, then acks.

Theory of operation
-------------------
The Telnet engine only decodes: a ``BaudRateRequested(baud=...)`` is a fact,
nothing more. This module decides what it means for the port:

* RFC 2217 says the server answers every SET with ``code + 100`` and "the
  value actually in use"; a value of 0 asks for the current value without
  changing it. A request the port cannot honour (a pty's parity, a policy of
  ``remote_settings = "deny"``, a watcher) is answered with the value in
  force, unchanged.
* Device calls are asynchronous (pyserial's blocking calls run in a thread),
  so each request is queued on its session with ``session.submit`` and runs
  in the order the client sent it, data included: esptool's reset sequence
  toggles DTR and RTS in quick succession and every edge must reach the line.
* A change of line settings is announced to the port's other RFC 2217
  clients (an unsolicited answer carries the new value) and, as a short
  message, to its other telnet clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bridge import __version__
from bridge.device.backend import DeviceError
from bridge.telnet import comport
from bridge.telnet.comport import ControlGroup
from bridge.telnet import (
    BaudRateRequested,
    ControlRequested,
    DataSizeRequested,
    Event,
    FlowControlResumed,
    FlowControlSuspended,
    LineStateMaskRequested,
    ModemStateMaskRequested,
    ParityRequested,
    PurgeRequested,
    SignatureReceived,
    StopSizeRequested,
)

if TYPE_CHECKING:
    from bridge.port.session import ClientSession
    from bridge.port.roles import LinePort, ModemPort

log = logging.getLogger("bridge.linecontrol")

# Line-state bits (RFC 2217, NOTIFY-LINESTATE).
LS_BREAK = 0x10
LS_FRAMING = 0x08
LS_PARITY = 0x04
LS_OVERRUN = 0x02
LINE_ERROR_BITS = {"parity": LS_PARITY, "framing": LS_FRAMING, "overrun": LS_OVERRUN}

# Modem-state bits (RFC 2217, NOTIFY-MODEMSTATE).
MS_CD, MS_RI, MS_DSR, MS_CTS = 0x80, 0x40, 0x20, 0x10


@dataclass(slots=True)
class ComPortState:
    """What one client negotiated: its masks and whether it changed the line."""

    linestate_mask: int = 0
    modemstate_mask: int = 255   # RFC 2217: the initial mask is 255
    holds_break: bool = False
    last_modemstate: int | None = None


def modemstate_byte(cts: bool, dsr: bool, ri: bool, cd: bool, previous: int | None) -> int:
    """The NOTIFY-MODEMSTATE value for these lines, with delta bits against ``previous``."""
    value = (MS_CD if cd else 0) | (MS_RI if ri else 0) | (MS_DSR if dsr else 0) | (MS_CTS if cts else 0)
    if previous is not None:
        changed = value ^ (previous & 0xF0)
        if changed & MS_CTS:
            value |= 0x01
        if changed & MS_DSR:
            value |= 0x02
        if changed & MS_RI and not value & MS_RI:
            value |= 0x04   # trailing edge of RI
        if changed & MS_CD:
            value |= 0x08
    return value


class LineControl:
    """Applies one port's COM-PORT requests; one instance per worker."""

    def __init__(self, worker: LinePort) -> None:
        self.worker = worker

    def handle(self, session: ClientSession, event: Event) -> bool:
        """Handle ``event`` if it is a COM-PORT request; False when it is not one."""
        handler = _DISPATCH.get(type(event))
        if handler is None:
            return False
        if session.comport is None:
            device = self.worker.device
            session.start_comport(modem_lines=device is not None and device.has_modem_lines)
        handler(self, session, event)
        return True

    # ------------------------------------------------------------ settings
    def _may_change(self, session: ClientSession) -> bool:
        return self.worker.config.remote_settings == "allow" and self.worker.may_write(session)

    def _setting(self, session: ClientSession, field: str, value: object,
                 ack: Callable[[], None]) -> None:
        """Apply a SET (``value`` None: a query or a code outside RFC 2217's
        table), then answer with the value in force."""
        if value is None:
            session.submit(ack)
            return

        async def apply() -> None:
            if self._may_change(session):
                await self.worker.change_settings({field: value}, by=session)
            ack()
        session.submit(apply)

    def _baud(self, session: ClientSession, event: Event) -> None:
        assert isinstance(event, BaudRateRequested)
        conn = session.conn
        assert conn is not None

        def ack() -> None:
            conn.ack_baud_rate(self.worker.settings.baud)
        if event.baud == 0:
            session.submit(ack)
        else:
            self._setting(session, "baud", event.baud, ack)

    def _datasize(self, session: ClientSession, event: Event) -> None:
        assert isinstance(event, DataSizeRequested)
        conn = session.conn
        assert conn is not None

        def ack() -> None:
            conn.ack_data_size(self.worker.settings.bytesize)
        self._setting(session, "bytesize", comport.decode_datasize(event.size), ack)

    def _parity(self, session: ClientSession, event: Event) -> None:
        assert isinstance(event, ParityRequested)
        conn = session.conn
        assert conn is not None

        def ack() -> None:
            conn.ack_parity(comport.parity_code(self.worker.settings.parity))
        self._setting(session, "parity", comport.decode_parity(event.parity), ack)

    def _stopsize(self, session: ClientSession, event: Event) -> None:
        assert isinstance(event, StopSizeRequested)
        conn = session.conn
        assert conn is not None

        def ack() -> None:
            conn.ack_stop_size(comport.stopsize_code(self.worker.settings.stopbits))
        self._setting(session, "stopbits", comport.decode_stopsize(event.stopsize), ack)

    # ------------------------------------------------------------- control
    def _control(self, session: ClientSession, event: Event) -> None:
        assert isinstance(event, ControlRequested)
        session.submit(lambda: self._apply_control(session, comport.decode_control(event.value)))

    async def _apply_control(self, session: ClientSession, request: comport.ControlRequest) -> None:
        """Apply one SET-CONTROL request, then answer with the state in force (RFC 2217)."""
        conn = session.conn
        assert conn is not None
        worker = self.worker
        group, wanted = request.group, request.wanted
        if wanted is not None and worker.may_write(session):
            if isinstance(wanted, str):
                if self._may_change(session):
                    await worker.change_settings({"flow": wanted}, by=session)
            elif group is ControlGroup.BREAK:
                await worker.set_break(wanted, by=session)
            elif group is ControlGroup.DTR:
                await worker.set_dtr(wanted)
            else:
                await worker.set_rts(wanted)
        state: str | bool
        if group in (ControlGroup.OUTBOUND_FLOW, ControlGroup.INBOUND_FLOW):
            state = worker.settings.flow
        else:
            state = {ControlGroup.BREAK: worker.break_on, ControlGroup.DTR: worker.dtr,
                     ControlGroup.RTS: worker.rts}[group]
        conn.ack_control(comport.control_answer(group, state))

    # ---------------------------------------------------------- the others
    def _signature(self, session: ClientSession, event: Event) -> None:
        assert isinstance(event, SignatureReceived)
        conn = session.conn
        assert conn is not None
        if event.text:
            log.info("port %s: session %d: client signature %r", self.worker.name, session.id,
                     event.text.decode("latin-1"))
            return
        conn.ack_signature(f"serial-bridge {__version__} {self.worker.name}".encode())

    def _linestate_mask(self, session: ClientSession, event: Event) -> None:
        assert isinstance(event, LineStateMaskRequested)
        session.set_linestate_mask(event.mask)

    def _modemstate_mask(self, session: ClientSession, event: Event) -> None:
        assert isinstance(event, ModemStateMaskRequested)
        session.set_modemstate_mask(event.mask)
        self.worker.update_modem_polling()

    def _purge(self, session: ClientSession, event: Event) -> None:
        assert isinstance(event, PurgeRequested)
        conn = session.conn
        assert conn is not None
        value = event.value

        async def purge() -> None:
            what = comport.PURGE_BY_CODE.get(value)
            if what is not None and what.receive:   # what waits for this client: its own, write access or not
                session.discard_output()
            if what is not None and self.worker.may_write(session):
                # The device's buffers hold other clients' bytes too: its receive
                # buffer what every client is still to get, its transmit buffer
                # what every writer typed. Each is flushed only when no other
                # client has bytes in it.
                others = [other for other in self.worker.sessions if other is not session]
                receive = what.receive and not others
                transmit = what.transmit and not any(self.worker.may_write(other) for other in others)
                if receive or transmit:
                    await self.worker.purge(receive=receive, transmit=transmit)
            conn.ack_purge(value)
        session.submit(purge)

    def _suspend(self, session: ClientSession, event: Event) -> None:
        session.set_suspended(True)

    def _resume(self, session: ClientSession, event: Event) -> None:
        session.set_suspended(False)


class ModemPoller:
    """NOTIFY-MODEMSTATE: polls the modem lines only while an RFC 2217 client
    watches them (a non-zero mask), at most every ``modem_poll_ms``; a port
    nobody watches, or a device without modem lines, costs nothing."""

    def __init__(self, worker: ModemPort) -> None:
        self.worker = worker
        self._task: asyncio.Task[None] | None = None

    def update(self) -> None:
        """Poll modem lines only while an RFC 2217 client watches them."""
        watching = any(s.comport is not None and s.comport.modemstate_mask for s in self.worker.sessions)
        device = self.worker.device
        if watching and device is not None and device.has_modem_lines:
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._poll())
        else:
            self.stop()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _poll(self) -> None:
        interval = max(self.worker.config.modem_poll_ms, 20) / 1000
        previous: int | None = None
        while self.worker.device is not None:
            try:
                lines = await self.worker.device.read_modem_lines()
            except (DeviceError, OSError):
                return   # the device went away: its loss is reported by the device layer
            if lines is None:
                return
            value = modemstate_byte(lines.cts, lines.dsr, lines.ri, lines.cd, previous)
            if previous is None or value & 0x0F:
                for session in self.worker.sessions:
                    session.notify_modemstate(value)
            previous = value & 0xF0
            await asyncio.sleep(interval)


_DISPATCH: dict[type, Callable[[LineControl, ClientSession, Event], None]] = {
    BaudRateRequested: LineControl._baud,
    DataSizeRequested: LineControl._datasize,
    ParityRequested: LineControl._parity,
    StopSizeRequested: LineControl._stopsize,
    ControlRequested: LineControl._control,
    SignatureReceived: LineControl._signature,
    LineStateMaskRequested: LineControl._linestate_mask,
    ModemStateMaskRequested: LineControl._modemstate_mask,
    PurgeRequested: LineControl._purge,
    FlowControlSuspended: LineControl._suspend,
    FlowControlResumed: LineControl._resume,
}
