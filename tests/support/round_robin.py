"""A round-robin HTTP forwarder, the load balancer in front of replicas in tests: each request goes
to the next backend in turn (whole requests, not connections: Telegram reuses one connection)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.processes import free_port

HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding"}


class RoundRobinForwarder:
    """``with RoundRobinForwarder([url_a, url_b]) as balancer:`` — ``balancer.url`` takes requests."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.forwarded: dict[str, int] = dict.fromkeys(backends, 0)
        self._next = itertools.cycle(backends)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RoundRobinForwarder:
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])
        # Long polls still open when a test ends are cut after a second, not waited out.
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the forwarder did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    async def _forward(self, request: Request) -> Response:
        backend = next(self._next)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.request(
                    request.method,
                    f"{backend}{request.url.path}",
                    params=request.query_params,
                    content=await request.body(),
                    headers=headers,
                )
        except httpx.HTTPError:
            return Response(status_code=502)
        self.forwarded[backend] += 1
        return Response(answer.content, status_code=answer.status_code)
