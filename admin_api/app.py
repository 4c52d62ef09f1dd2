"""The admin HTTP API (FastAPI): health and readiness for now; editors' routes build on it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from core.wiring import Services


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="Firstline admin API", version="0.1.0")

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
