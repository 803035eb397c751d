"""A TCP proxy between greenlane and PostgreSQL that misbehaves on demand.

The fault harness puts it in front of the database and flips :attr:`FaultProxy.mode` while a
verify load runs. It lives in a thread with its own event loop, so that a blocked or slow
harness never delays the bytes it forwards (and the other way round).

- ``pass``: forwards both ways.
- ``latency``: delivers every chunk ``latency_ms`` after it was read, in each direction (a
  long line, not a slow one: chunks in flight together arrive together).
- ``blackhole``: accepts connections and stops delivering; bytes wait, as they would behind a
  network partition whose TCP retransmits succeed once it heals.
- ``reset``: resets every open connection (RST) and every new one at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from enum import StrEnum
from types import TracebackType

CHUNK = 65_536


class Mode(StrEnum):
    PASS = "pass"
    LATENCY = "latency"
    BLACKHOLE = "blackhole"
    RESET = "reset"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN: the peer sees 'connection reset', as after a crash."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """Listens on 127.0.0.1:``port`` and forwards to ``upstream``; see the module docstring."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._loop = asyncio.new_event_loop()
        # A daemon: should closing fail, the proxy's thread must not keep the process alive.
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fault-proxy", daemon=True
        )
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter | None]] = set()
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.mode = Mode.PASS
        self.latency = 0.0
        self.port = 0

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._call(self._close)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def set_mode(self, mode: Mode, *, latency_ms: int = 0) -> None:
        """Switch at once (safe from any thread); returns once the proxy behaves so."""

        async def apply() -> None:
            self.mode = mode
            self.latency = latency_ms / 1000 if mode is Mode.LATENCY else 0.0
            if mode is Mode.BLACKHOLE:
                self._flowing.clear()
            else:
                self._flowing.set()
            if mode is Mode.RESET:
                for client, upstream in list(self._links):
                    _reset(client)
                    if upstream is not None:
                        upstream.transport.abort()

        self._call(apply)

    def _call(self, make: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            await make()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        links = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in links:
            task.cancel()
        await asyncio.gather(*links, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link: tuple[asyncio.StreamWriter, asyncio.StreamWriter | None] = (writer, None)
        self._links.add(link)
        try:
            await self._flowing.wait()  # a blackhole holds new connections too
            if self.mode is Mode.RESET:
                _reset(writer)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            except OSError:  # the database is down: the client sees what it would see direct
                _reset(writer)
                return
            self._links.discard(link)
            link = (writer, up_writer)
            self._links.add(link)
            pumps = [
                asyncio.create_task(self._pump(reader, up_writer)),
                asyncio.create_task(self._pump(up_reader, writer)),
            ]
            # Either side hanging up ends the link, as a real connection would end.
            _done, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        finally:
            self._links.discard(link)
            for side in link:
                if side is not None:
                    side.transport.abort()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        deliver = asyncio.create_task(self._deliver(line, sink))
        try:
            while data := await source.read(CHUNK):
                line.put_nowait((self._loop.time() + self.latency, data))
            line.put_nowait((self._loop.time() + self.latency, b""))
            await deliver
        except (ConnectionError, OSError):
            pass
        finally:
            deliver.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await deliver

    async def _deliver(
        self, line: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter
    ) -> None:
        while True:
            due, data = await line.get()
            await asyncio.sleep(max(0.0, due - self._loop.time()))
            await self._flowing.wait()
            if not data:
                return
            sink.write(data)
            await sink.drain()
