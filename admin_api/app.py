"""The admin HTTP API (FastAPI): health, readiness and the editors', agents' and leads' routes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from admin_api.errors import install_error_handlers
from admin_api.limits import BodySizeLimit
from admin_api.routes import api_router
from core.wiring import Services
from knowledge_base.formats import MAX_FILE_BYTES

DESCRIPTION = """Firstline's admin API: editors keep the FAQ current, agents work tickets, leads
set hours and read the numbers. Every route under `/api/v1` needs `Authorization: Bearer <token>`
(`firstline token create --role admin|editor|agent --name NAME`); an `admin` token may do
everything, an `editor` token the FAQ, an `agent` token the tickets. Errors always look like
`{"error": {"status": 412, "code": "precondition_failed", "message": "…"}}`."""


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="Firstline admin API", version="0.1.0", description=DESCRIPTION)
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=MAX_FILE_BYTES)
    app.include_router(api_router)

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
