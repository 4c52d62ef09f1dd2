"""The web console at /console: static pages whose JavaScript calls the admin API's own JSON
routes with the token the person signed in with (kept in the browser tab's sessionStorage).

No rule lives here: what a role may do is decided by the API on every call; the console only
hides what the role cannot do. The one route of its own, ``/console/whoami``, tells the page
whose token it holds (its name and role) so the page can show that role's sections.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Scope

from admin_api.deps import AnyTokenDep
from admin_api.tokens import Role

STATIC = Path(__file__).parent / "static"
PREFIX = "/console"

# Everything the page loads comes from this server: no CDN, no outside font, no beacon. A
# browser that honours the policy refuses any other address, whatever a page tried.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class Caller(BaseModel):
    name: str
    role: Role
    agent_id: int | None


class ConsoleFiles(StaticFiles):
    """The console's files, with its security headers (revalidated: an upgrade shows at once)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("")
@router.get("/")
async def console_page() -> FileResponse:
    """The one page; sections are chosen by the address's #fragment."""
    return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)


@router.get("/whoami")
async def whoami(token: AnyTokenDep) -> Caller:
    """Whose token this is: 401 for an unknown or revoked one (the page then signs out)."""
    return Caller(name=token.name, role=Role(token.role), agent_id=token.agent_id)


def mount_console(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(f"{PREFIX}/static", ConsoleFiles(directory=STATIC), name="console-static")
