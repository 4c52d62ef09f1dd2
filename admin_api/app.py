"""The admin HTTP API (FastAPI): health, readiness and the editors', agents' and leads' routes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from admin_api.errors import install_error_handlers
from admin_api.limits import RequestGuard
from admin_api.routes import api_router
from core.metrics import API_REQUEST_SECONDS, FAQ_ENTRIES, TICKETS
from core.wiring import Services
from handoff.models import Ticket, TicketStatus
from knowledge_base.formats import MAX_FILE_BYTES

DESCRIPTION = """Firstline's admin API: editors keep the FAQ current, agents work tickets, leads
set hours and read the numbers. Every route under `/api/v1` needs `Authorization: Bearer <token>`
(`firstline token create --role admin|editor|agent --name NAME`); an `admin` token may do
everything, an `editor` token the FAQ, an `agent` token the tickets. Errors always look like
`{"error": {"status": 412, "code": "precondition_failed", "message": "…"}}`."""


def route_template(request: Request) -> str:
    """The route's path with its parameters named (/api/v1/faq/{key}): one metric label per route,
    not per URL. FastAPI's route object knows only the path below its router's prefix."""
    if request.scope.get("route") is None:
        return "unmatched"
    names = {str(value): f"{{{name}}}" for name, value in request.path_params.items()}
    return "/".join(names.get(segment, segment) for segment in request.url.path.split("/"))


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="Firstline admin API", version="0.1.0", description=DESCRIPTION)
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(RequestGuard, limit=MAX_FILE_BYTES)
    app.include_router(api_router)

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        path = route_template(request)
        API_REQUEST_SECONDS.labels(request.method, path, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    @app.get("/metrics", tags=["health"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics: decisions by outcome and their latency, tickets by status, FAQ
        entries in the index, Telegram errors, API requests."""
        async with services.sessions() as session:
            counts = dict(
                (
                    await session.execute(
                        select(Ticket.status, func.count()).group_by(Ticket.status)
                    )
                ).all()
            )
        for ticket_status in TicketStatus:
            TICKETS.labels(ticket_status.value).set(counts.get(ticket_status.value, 0))
        FAQ_ENTRIES.set(len(services.answers.entries))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """Readiness: the database answers, the FAQ index is loaded, the bot runs (or is off)."""
        checks: dict[str, str] = {}
        try:
            async with services.sessions() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:  # any failure means not ready; say which
            checks["database"] = f"error: {type(error).__name__}"
        checks["index"] = f"ok ({len(services.answers.entries)} entries)"
        checks.update(services.status)
        # A bot switched off on purpose does not make the API unready; one that fails to start does.
        ready = all(value.startswith(("ok", "off")) for value in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    return app
