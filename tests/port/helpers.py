"""In-process port workers on the recording device double, with real loopback clients."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bridge.config.load import parse_config
from bridge.device.recording import RecordingOpener
from bridge.port.worker import PortWorker
from bridge.telnet import (
    ComPortCmd,
    ComPortReply,
    DataReceived,
    Event,
    Opt,
    OptionPolicy,
    Side,
    TelnetConnection,
    TimingMarkRequested,
)
from tests.integration.helpers import free_port

WAIT = 5.0

POLICY = OptionPolicy(us=frozenset({Opt.BINARY, Opt.SGA}),
                      him=frozenset({Opt.BINARY, Opt.ECHO, Opt.SGA, Opt.STATUS, Opt.COM_PORT}))


def port_config(extra: str = "", device: str = "/dev/recorded") -> Any:
    text = (f'[bridge]\ncontrol = ""\n[[port]]\nname = "p"\ndevice = "{device}"\n'
            f"listen = {free_port()}\n{extra}\n")
    return parse_config(text, "<test>").ports[0]


class Harness:
    """A started PortWorker on a RecordingOpener; ``device_back`` releases the waiter."""

    def __init__(self, extra: str = "", **device_kwargs: object) -> None:
        self.config = port_config(extra)
        self.opener = RecordingOpener(**device_kwargs)
        self.device_back = asyncio.Event()
        self.events: list[Any] = []
        self.worker = PortWorker(self.config, emit=self.events.append, opener=self.opener,
                                 waiter=self._waiter)

    async def _waiter(self, spec: str) -> None:
        await self.device_back.wait()
        self.device_back.clear()

    async def __aenter__(self) -> Harness:
        await self.worker.start()
        assert self.worker.first_open is not None
        await asyncio.wait_for(asyncio.shield(self.worker.first_open), WAIT)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.worker.stop()

    @property
    def device(self) -> Any:
        return self.opener.devices[-1]

    async def client(self, *, comport: bool = False) -> Client:
        c = Client(self.config.listen_port)
        await c.connect()
        if comport:
            c.conn.request_enable(Opt.COM_PORT, Side.US)
            c.flush()
            await c.wait_for(lambda: c.conn.is_enabled(Opt.COM_PORT, Side.US))
        return c


class Client:
    """A telnet client on a real loopback socket, on the project's engine."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = TelnetConnection(server=False, policy=POLICY)
        self.events: list[Event] = []
        self.data = bytearray()
        self.closed = False

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.writer.write(out)

    def send(self, data: bytes) -> None:
        self.conn.send_data(data)
        self.flush()

    async def _pump(self) -> None:
        chunk = await self.reader.read(65536)
        if not chunk:
            self.closed = True
            return
        for event in self.conn.receive_data(chunk):
            if isinstance(event, TimingMarkRequested):
                self.conn.answer_timing_mark()
            if isinstance(event, DataReceived):
                self.data += event.data
            self.events.append(event)
        self.flush()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT):
            while not predicate():
                if self.closed:
                    raise ConnectionError("closed by the bridge")
                await self._pump()

    async def read_until(self, marker: bytes) -> bytes:
        await self.wait_for(lambda: marker in self.data)
        end = self.data.index(marker) + len(marker)
        out = bytes(self.data[:end])
        del self.data[:end]
        return out

    async def reply(self, command: ComPortCmd) -> bytes:
        def found() -> bool:
            return any(isinstance(e, ComPortReply) and e.command == command for e in self.events)
        await self.wait_for(found)
        hit = next(e for e in self.events if isinstance(e, ComPortReply) and e.command == command)
        self.events.remove(hit)
        assert isinstance(hit, ComPortReply)
        return hit.value

    async def wait_closed(self) -> None:
        async with asyncio.timeout(WAIT):
            while not self.closed:
                await self._pump()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


async def until(predicate: Callable[[], bool]) -> None:
    """Wait (bounded) for a condition the event loop will make true."""
    async with asyncio.timeout(WAIT):
        while not predicate():
            await asyncio.sleep(0.01)
