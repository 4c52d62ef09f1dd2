"""The admin HTTP API (FastAPI): health, readiness and the editors', agents' and leads' routes."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from admin_api.console import mount_console
from admin_api.errors import error_response, install_error_handlers
from admin_api.limits import RequestGuard
from admin_api.routes import API_PREFIX, FILE_PATHS, api_router
from core.metrics import API_REQUEST_SECONDS, FAQ_ENTRIES, TICKETS
from handoff.models import Ticket, TicketStatus
from handoff.services import Services
from knowledge_base.formats import MAX_FILE_BYTES

DESCRIPTION = """Firstline's admin API: editors keep the FAQ current, agents work tickets, leads
set hours and read the numbers. Every route under `/api/v1` needs `Authorization: Bearer <token>`
(`firstline token create --role admin|editor|agent --name NAME`); an `admin` token may do
everything, an `editor` token the FAQ, an `agent` token the tickets. Errors always look like
`{"error": {"status": 412, "code": "precondition_failed", "message": "…"}}`."""

# /readyz must answer within 2 s when the database is gone (a black-holed connection waits for
# the driver's own timeouts, a minute or more): the check gives up after this.
READY_DATABASE_SECONDS = 1.5


def route_template(request: Request) -> str:
    """The route's path with its parameters named (/api/v1/faq/{key}): one metric label per route,
    not per URL. FastAPI's route object knows only the path below its router's prefix."""
    if request.scope.get("route") is None:
        return "unmatched"
    names = {str(value): f"{{{name}}}" for name, value in request.path_params.items()}
    return "/".join(names.get(segment, segment) for segment in request.url.path.split("/"))


def create_app(services: Services) -> FastAPI:
    settings = services.settings
    docs = settings.api_docs  # off on a public port: the schema maps every route for a stranger
    app = FastAPI(
        title="Firstline admin API",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(
        RequestGuard,
        sessions=services.sessions,
        limit=settings.api_body_limit,
        file_limit=MAX_FILE_BYTES,
        file_paths=FILE_PATHS,
        api_prefix=API_PREFIX,
    )
    app.include_router(api_router)
    mount_console(app)  # /console: pages that call the routes above with the person's token

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

    if settings.api_metrics:  # off: 404, as for any path we do not serve

        @app.get("/metrics", tags=["health"], response_class=Response)
        async def metrics(request: Request) -> Response:
            """Prometheus metrics: decisions by outcome and their latency, tickets by status, FAQ
            entries in the index, Telegram errors, API requests. With FIRSTLINE_METRICS_TOKEN set,
            only for `Authorization: Bearer <that token>`."""
            if settings.metrics_token is not None:
                expected = f"Bearer {settings.metrics_token.get_secret_value()}"
                given = request.headers.get("authorization", "")
                if not hmac.compare_digest(given.encode(), expected.encode()):
                    return error_response(
                        401,
                        "/metrics needs 'Authorization: Bearer <FIRSTLINE_METRICS_TOKEN>'",
                        headers={"WWW-Authenticate": "Bearer"},
                    )
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
        checks["database"] = await _database_check(services)
        checks["index"] = f"ok ({len(services.answers.entries)} entries)"
        checks.update(services.status)
        # A bot switched off on purpose does not make the API unready; one that fails to start does.
        ready = all(value.startswith(("ok", "off")) for value in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    return app


async def _database_check(services: Services) -> str:
    """ "ok", or why not, within READY_DATABASE_SECONDS. A check that runs over is cancelled
    without waiting for it to wind down (a connection attempt into a black hole can take seconds
    to give up, and asyncio.wait_for would wait for that too)."""
    check = asyncio.ensure_future(_database_answers(services))
    done, _ = await asyncio.wait({check}, timeout=READY_DATABASE_SECONDS)
    if not done:
        check.cancel()
        check.add_done_callback(_forget)
        return f"error: no answer in {READY_DATABASE_SECONDS:g} s"
    error = check.exception()
    return "ok" if error is None else f"error: {type(error).__name__}"


def _forget(task: asyncio.Future[None]) -> None:
    """Retrieve a cancelled check's outcome, so that asyncio does not log it as lost."""
    if not task.cancelled():
        task.exception()


async def _database_answers(services: Services) -> None:
    async with services.sessions() as session:
        await session.execute(text("SELECT 1"))
