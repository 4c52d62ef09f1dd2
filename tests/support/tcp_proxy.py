"""A TCP proxy for fault tests: put it in front of PostgreSQL (or any server) and break the network.

It runs its own event loop on a thread, so sync tests, async tests and subprocesses (point their
database URL at :attr:`TcpProxy.port`) can all use it, and a test's own loop never stalls it::

    with TcpProxy(5432) as proxy:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/test"
        proxy.mode = Mode.BLACKHOLE  # a partition: nothing arrives, nothing is refused
        ...
        proxy.mode = Mode.PASS  # healed: what was held back is delivered, in order

Modes:

- ``PASS``: bytes flow both ways.
- ``REFUSE``: a new connection is reset at once (a server restarting or down);
  connections already open are left alone: :meth:`TcpProxy.drop_connections` resets them.
- ``BLACKHOLE``: new connections are accepted and nothing is forwarded, and connections already
  open stall both ways. Like a network partition, it keeps what it has read, and delivers it if
  the network heals (a TCP peer would retransmit it).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from enum import StrEnum
from types import TracebackType
from typing import Any

CHUNK = 65536


class Mode(StrEnum):
    PASS = "pass"
    REFUSE = "refuse"
    BLACKHOLE = "blackhole"


class TcpProxy:
    """Listens on 127.0.0.1 at a free port and forwards to ``upstream_host:upstream_port``."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.accepted = 0  # connections accepted so far (refused ones included)
        self._mode = Mode.PASS
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._transports: set[asyncio.BaseTransport] = set()

    # --- control, from any thread --------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._run(self._listen())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self._run(self._set_mode(mode))

    def drop_connections(self) -> None:
        """Reset every open connection, both sides (what a server's restart does to them)."""
        self._run(self._drop())

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=5)

    # --- on the proxy's own loop ---------------------------------------------------------------

    async def _listen(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _set_mode(self, mode: Mode) -> None:
        self._mode = mode
        if mode == Mode.BLACKHOLE:
            self._flowing.clear()
        else:
            self._flowing.set()

    async def _drop(self) -> None:
        for transport in list(self._transports):
            _reset(transport)
        self._transports.clear()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._drop()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._mode == Mode.REFUSE:
            _reset(writer.transport)
            return
        self._transports.add(writer.transport)
        await self._flowing.wait()  # a black-holed connection: accepted, never answered
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(writer.transport)
            return
        self._transports.add(upstream_writer.transport)
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                await self._flowing.wait()  # stalled while black-holed; then delivered in order
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._transports.discard(writer.transport)
            with contextlib.suppress(ConnectionError, OSError):
                writer.close()


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close with a TCP reset, as a refused or killed connection looks to its peer."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    else:
        transport.close()
