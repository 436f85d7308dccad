"""What a telnet session's negotiation and commands mean for its port.

* The welcome: the banner (and the history, where the port replays it) go
  out once the client's opening negotiation is in. Every Telnet client
  answers a ``DO TIMING-MARK`` after the requests it sent on connect, so by
  then an RFC 2217 client (esptool, pyserial) is known and gets a clean
  stream instead. A client that has sent no Telnet command ``RAW_AFTER``
  seconds after connecting (``nc``, a script's socket) will not answer: it
  is welcomed then; one that has is waited for, at most ``WELCOME_AFTER``.
  Output that arrives meanwhile waits in the session's bounded queue.
* An RFC 2217 client's opening goes on after the mark: pyserial and esptool
  set the line (baud, data size, parity, stop size, control, purges), one
  request at a time, each waiting for its answer. Its output is held until
  its PURGE of the transmit buffer is answered (pyserial's last request), a
  quiet wait passes after a COM-PORT request with no other (``COMPORT_QUIET``
  plus the client's round trip, measured by its TIMING-MARK answer; none
  after a PURGE of the receive buffer), it sends data, or
  ``COMPORT_OPENING`` seconds plus ``COMPORT_STEPS`` round trips have
  passed, so that no answer waits behind device output the client must
  decode first (a device faster than the client reads would otherwise fill
  the socket with megabytes ahead of it). Its PURGE of the receive buffer
  drops what was held meanwhile. A client welcomed already that starts RFC
  2217 within ``COMPORT_OPENING`` is held again the same way, until its
  first request at least: one welcomed as silent (a busy process, or a slow
  link, whose first bytes came late), or one whose answer to the mark came
  before its ``WILL COM-PORT`` (pyserial's reader thread answers first).
* Commands (RFC 854) through the port's break map: BRK, IP, DM, EC, EL go to
  the device as the port's config says; AYT gets a one-line answer; AO drops
  what is queued for that client.
* The start of RFC 2217 for a client, and its requests (``linecontrol``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.port.session import WRITER, ClientSession
from bridge.port.status import UP
from bridge.telnet import (
    Cmd,
    CommandReceived,
    Event,
    Opt,
    OptionEnabled,
    PurgeRequested,
    Side,
    TimingMarkReceived,
    comport,
)

if TYPE_CHECKING:
    from bridge.port.roles import TelnetPort

RAW_AFTER = 0.15       # s: a client silent this long gets output at once (INTERFACE.md: within 250 ms)
WELCOME_AFTER = 1.0    # s: the longest wait for a Telnet client's TIMING-MARK answer
MARK_GRACE = 0.02      # s: after the mark's answer, for the client's own requests sent beside it
COMPORT_QUIET = 0.5    # s (plus the client's round trip): an RFC 2217 client's opening is over this long after a request
COMPORT_OPENING = 3.0  # s: and after this long from its TIMING-MARK answer in any case
COMPORT_STEPS = 8      # round trips added to COMPORT_OPENING: pyserial's opening is 6 requests in turn
DECODE_RATE = 200_000  # bytes/s: how fast pyserial decodes what it was sent (docs/sessions.md)
DECODE_MAX = 10.0      # s: the most that decoding adds to an opening's bounds


class _ComPortOpening:
    """An RFC 2217 client's opening after its welcome, and the timer that ends it.

    ``until``: the latest end (loop time); ``quiet``: the wait after a request
    (s), which counts once a request came (or at once, unless the first is
    waited for) and no longer after a PURGE of the receive buffer.
    """

    __slots__ = ("start", "until", "quiet", "_drain", "_counting", "_purged", "_timer", "_end")

    def __init__(self, bound: float, quiet: float, first_request: bool, end: Callable[[], None],
                 drain: float = 0.0) -> None:
        """``bound``, ``quiet``, ``drain`` in s; ``drain``: how long the client may
        take to decode what it was sent before the hold (it counts in every bound)."""
        self.start = asyncio.get_running_loop().time()
        self.until = self.start + bound + drain
        self.quiet = quiet
        self._drain = drain
        self._counting = not first_request
        self._purged = False
        self._timer: asyncio.TimerHandle | None = None
        self._end = end
        self._arm()

    def _arm(self) -> None:
        """(Re)start the timer: ``quiet`` from now while it counts, never past ``until``."""
        loop = asyncio.get_running_loop()
        self.cancel()
        quiet = self._counting and not self._purged
        self._timer = loop.call_at(min(loop.time() + self.quiet, self.until) if quiet else self.until, self._end)

    def requested(self, purges_receive: bool) -> None:
        """A request came: the quiet wait starts again. After the first PURGE of
        the receive buffer there is none, and the bound is at least
        ``COMPORT_OPENING`` from it: pyserial drains what it has read before
        that purge byte by byte, which can take seconds, and then asks its last."""
        self._counting = True
        if purges_receive and not self._purged:
            self._purged = True
            self.until = max(self.until, asyncio.get_running_loop().time() + COMPORT_OPENING + self._drain)
        self._arm()

    def round_trip(self, rtt: float) -> None:
        """The client's round trip (s) became known: the waits count it."""
        self.quiet = COMPORT_QUIET + rtt
        self.until = max(self.until, self.start + COMPORT_OPENING + COMPORT_STEPS * rtt + self._drain)
        self._arm()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class TelnetSide:
    """The telnet-specific part of one port worker."""

    def __init__(self, worker: TelnetPort) -> None:
        self.worker = worker
        self._backlogs: dict[int, bytes] = {}   # history kept at connect, until the welcome
        self._openings: dict[int, asyncio.TimerHandle] = {}   # sessions in their opening: the deadline
        self._breaks_queued: set[int] = set()   # sessions with a break waiting in their queue
        self._comport_openings: dict[int, _ComPortOpening] = {}   # RFC 2217 clients in the rest of their opening
        self._marks_sent: dict[int, float] = {}   # sessions whose opening mark is unanswered: when sent (loop time)
        self._round_trips: dict[int, float] = {}  # sessions whose mark was answered: how long it took (s)
        # Sessions welcomed as Telnet or raw clients, until they start RFC 2217: when (loop time)
        self._welcomed_at: dict[int, float] = {}

    def forget(self, session: ClientSession) -> None:
        """The session left: drop what was kept for it."""
        self._backlogs.pop(session.id, None)
        self._breaks_queued.discard(session.id)
        timer = self._openings.pop(session.id, None)
        if timer is not None:
            timer.cancel()
        opening = self._comport_openings.pop(session.id, None)
        if opening is not None:
            opening.cancel()
        self._welcomed_at.pop(session.id, None)
        self._marks_sent.pop(session.id, None)
        self._round_trips.pop(session.id, None)

    def greet(self, session: ClientSession) -> None:
        backlog = self.worker.history.snapshot() if self.worker.config.replay else b""
        if session.conn is None:
            session.welcome(None, backlog)
            return
        # The banner and the history go out once the client's opening
        # negotiation is in: an RFC 2217 client (esptool, pyserial) must get a
        # clean stream. Every Telnet client answers a DO TIMING-MARK after the
        # requests it sent on connect; a silent one is welcomed at RAW_AFTER.
        session.request_timing_mark()
        loop = asyncio.get_running_loop()
        self._marks_sent[session.id] = loop.time()
        self._openings[session.id] = loop.call_later(RAW_AFTER, self._opening_deadline, session)
        self._backlogs[session.id] = backlog

    def _opening_deadline(self, session: ClientSession) -> None:
        """RAW_AFTER: a client that spoke Telnet gets until WELCOME_AFTER to answer the mark."""
        if session.id not in self._openings or session.closed:
            return
        if session.spoke_telnet:
            loop = asyncio.get_running_loop()
            self._openings[session.id] = loop.call_later(WELCOME_AFTER - RAW_AFTER, self._welcome, session)
        else:
            self._welcome(session)

    def _welcome(self, session: ClientSession) -> None:
        timer = self._openings.pop(session.id, None)
        if timer is None or session.closed:
            return
        timer.cancel()
        backlog = self._backlogs.pop(session.id, b"")
        if session.comport is not None:   # no banner, no history; output after its opening requests
            rtt = self._round_trips.get(session.id, 0.0)   # none: not known
            self._hold_comport_opening(session, COMPORT_OPENING + COMPORT_STEPS * rtt, COMPORT_QUIET + rtt,
                                       first_request=False)
        else:
            self._welcomed_at[session.id] = asyncio.get_running_loop().time()
            session.welcome(self.banner_for(session) if self.worker.config.banner else None, backlog)

    def _round_trip(self, session: ClientSession) -> float:
        """The client's round trip (s) as its TIMING-MARK answer showed it, or
        the time since the mark while no answer has come (at most WELCOME_AFTER)."""
        rtt = self._round_trips.get(session.id)
        if rtt is not None:
            return rtt
        now = asyncio.get_running_loop().time()
        return min(now - self._marks_sent.get(session.id, now), WELCOME_AFTER)

    def _hold_comport_opening(self, session: ClientSession, bound: float, quiet: float,
                              first_request: bool, drain: float = 0.0) -> None:
        """Hold ``session``'s output through its RFC 2217 requests: until
        ``quiet`` seconds pass without one (counted from now, or with
        ``first_request`` from its first), data from it, its PURGE of the
        transmit buffer is answered, or ``bound`` seconds from now (plus
        ``drain``, the time the client needs to decode what it was sent)."""
        self._comport_openings[session.id] = _ComPortOpening(
            bound, quiet, first_request, lambda: self._comport_opened(session), drain)

    def _mark_answered(self, session: ClientSession) -> None:
        """The answer to the opening's DO TIMING-MARK: its round trip is recorded.
        A client still in its opening is welcomed ``MARK_GRACE`` later, once
        what it sent beside the answer is in: pyserial's reader thread answers
        the port's offers while its main thread sends ``WILL COM-PORT``, in the
        same segment or a moment later, and it is then known as an RFC 2217
        client. One welcomed already and held again in an RFC 2217 opening has
        its waits count the round trip from now on."""
        sent = self._marks_sent.pop(session.id, None)
        if sent is None:
            return   # no opening mark, or not its first answer
        loop = asyncio.get_running_loop()
        self._round_trips[session.id] = min(loop.time() - sent, WELCOME_AFTER)
        if session.id in self._openings:
            loop.call_later(MARK_GRACE, self._welcome, session)
            return
        opening = self._comport_openings.get(session.id)
        if opening is not None:
            opening.round_trip(self._round_trips[session.id])

    def comport_requested(self, session: ClientSession, event: Event) -> None:
        """A COM-PORT request from ``session``: in its opening, the quiet wait starts
        again (never past the opening's bound). A PURGE is pyserial's and
        esptool's "clean start", the end of the opening: after one of the
        receive buffer the quiet wait no longer applies (draining what came
        before can take the client longer), and once one of the transmit
        buffer is answered the opening is over."""
        opening = self._comport_openings.get(session.id)
        if opening is None:
            return
        what = comport.PURGE_BY_CODE.get(event.value) if isinstance(event, PurgeRequested) else None
        opening.requested(purges_receive=what is not None and what.receive)
        if what is not None and what.transmit:
            session.submit(lambda: self._comport_opened(session))   # after its answer

    def client_typed(self, session: ClientSession) -> None:
        """Data from ``session`` before its welcome: an RFC 2217 client that sends
        data has finished its opening (esptool's SYNC waits for an answer)."""
        if session.id in self._comport_openings:
            self._comport_opened(session)

    def _comport_opened(self, session: ClientSession) -> None:
        opening = self._comport_openings.pop(session.id, None)
        if opening is None or session.closed:
            return
        opening.cancel()
        session.welcome(None, b"")

    def banner_for(self, session: ClientSession) -> str:
        """The connect banner: port, device, settings, access, who else is here."""
        others = [f"{s.peer} ({s.access})" for s in self.worker.sessions if s is not session]
        state = "" if self.worker.state == UP or self.worker.on_demand else f", {self.worker.state}"
        text = (f"[serial-bridge: port {self.worker.name} on {self.worker.config.device}, {self.worker.settings.short()}"
                f"{state}; you are the {session.access}")
        text += f"; also connected: {', '.join(others)}]" if others else "]"
        return text

    def handle(self, session: ClientSession, event: Event) -> None:
        """Commands and option changes from a telnet client."""
        if isinstance(event, CommandReceived):
            self._command(session, event.command)
        elif isinstance(event, OptionEnabled):
            if event.option == Opt.COM_PORT and session.comport is None:
                self._start_comport(session)
        elif isinstance(event, TimingMarkReceived):
            self._mark_answered(session)

    def _start_comport(self, session: ClientSession) -> None:
        """A client speaks RFC 2217: the session sets itself up; modem polling may start."""
        device = self.worker.device
        session.start_comport(modem_lines=device is not None and device.has_modem_lines)
        self.worker.update_modem_polling()
        # One welcomed already is in its opening after all: its output is held
        # again through its requests. It came as silent (its first bytes late: a
        # busy process, a slow link), or its answers to our offers came before
        # its own requests (pyserial's reader thread can answer first).
        since = self._welcomed_at.pop(session.id, None)
        if since is not None and session.welcomed and session.id not in self._comport_openings \
                and asyncio.get_running_loop().time() < since + COMPORT_OPENING:
            # It was sent output it must decode before it asks: wait for its first
            # request. Its round trip: measured, or at least the time since the mark.
            rtt = self._round_trip(session)
            session.hold_output()
            self._hold_comport_opening(session, COMPORT_OPENING + COMPORT_STEPS * rtt, COMPORT_QUIET + rtt,
                                       first_request=True, drain=min(session.bytes_out / DECODE_RATE, DECODE_MAX))

    def _command(self, session: ClientSession, cmd: Cmd) -> None:
        cfg = self.worker.config
        if cmd == Cmd.AYT:
            session.answer_ayt(self.ayt_answer())
            return
        if cmd == Cmd.AO:
            session.abort_output()
            return
        if cmd not in (Cmd.BRK, Cmd.IP, Cmd.EC, Cmd.EL, Cmd.DM):
            return
        if session.access != WRITER:
            session.tell_watcher()
            return
        if cmd == Cmd.BRK or (cmd == Cmd.IP and cfg.ip_action == "break") or (cmd == Cmd.DM and cfg.dm_break):
            self._queue_break(session)
        elif cmd == Cmd.IP:
            session.submit(lambda: self.worker.write_device(b"\x03"))
        elif cmd == Cmd.EC:
            session.submit(lambda: self.worker.write_device(bytes([cfg.ec_byte])))
        elif cmd == Cmd.EL:
            session.submit(lambda: self.worker.write_device(bytes([cfg.el_byte])))

    def _queue_break(self, session: ClientSession) -> None:
        """Queue a timed break; breaks asked for while one is still queued are
        one break (a storm of IAC BRK would otherwise hold the line for minutes)."""
        if session.id in self._breaks_queued:
            return
        self._breaks_queued.add(session.id)

        async def send() -> None:
            self._breaks_queued.discard(session.id)
            await self.worker.send_break()
        session.submit(send)

    def ayt_answer(self) -> str:
        """The one-line answer to IAC AYT."""
        n = len(self.worker.sessions)
        return (f"[serial-bridge: port {self.worker.name} on {self.worker.config.device}, {self.worker.settings.short()}: "
                f"{self.worker.state}{' (' + self.worker.error + ')' if self.worker.error and self.worker.state != UP else ''}, "
                f"{n} client{'s' if n != 1 else ''}]")

