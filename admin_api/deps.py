"""What routes depend on: the running services and the caller's token, checked for its role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_api.errors import ApiError
from admin_api.tokens import ApiToken, Role, authenticate, grants
from core.database import transaction
from handoff.services import Services

bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `firstline token create` (or POST /api/v1/tokens).",
)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(services_of)]


CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Where RequestGuard leaves the token it checked, so the route does not look it up again.
TOKEN_STATE = "api_token"


def bearer_secret(authorization: str | None) -> str | None:
    """The secret of an ``Authorization: Bearer <secret>`` header; None for any other header."""
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        return None
    return secret


async def authenticate_caller(
    sessions: async_sessionmaker[AsyncSession], secret: str | None
) -> ApiToken:
    """The active token with this secret (one query); ApiError 401 without one, or with one
    that is unknown or revoked."""
    if not secret:
        raise ApiError(
            401, "an API token is required: send 'Authorization: Bearer <token>'", headers=CHALLENGE
        )
    async with transaction(sessions) as session:
        token = await authenticate(session, secret)
    if token is None:
        raise ApiError(401, "this API token is unknown or revoked", headers=CHALLENGE)
    return token


async def caller(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiToken:
    """The caller's token: the one RequestGuard checked before the body was read, or checked
    here (an app without the guard); 401 without a valid one."""
    checked = request.scope.get("state", {}).get(TOKEN_STATE)
    if isinstance(checked, ApiToken):
        return checked
    return await authenticate_caller(
        services.sessions, credentials.credentials if credentials else None
    )


def role_required(needed: Role) -> object:
    async def check(token: Annotated[ApiToken, Depends(caller)]) -> ApiToken:
        if not grants(Role(token.role), needed):
            raise ApiError(
                403, f"this needs a token with the role '{needed}' (yours is '{token.role}')"
            )
        return token

    return Depends(check)


AnyTokenDep = Annotated[ApiToken, Depends(caller)]
EditorDep = Annotated[ApiToken, role_required(Role.EDITOR)]
AgentDep = Annotated[ApiToken, role_required(Role.AGENT)]
AdminDep = Annotated[ApiToken, role_required(Role.ADMIN)]

# Ids are 32-bit in the database; a bigger number is no id of ours (and SQLite would overflow).
RowId = Annotated[int, Path(ge=1, le=2_147_483_647, description="an id")]

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(moment: datetime) -> datetime:
    if not EARLIEST <= moment <= LATEST:
        raise ValueError("give a moment between 2000 and 2100, with its time zone")
    return moment


# A moment in a query: with its time zone (a naive one is ambiguous) and within support's era
# (periods are computed from it; year 1 minus a week does not exist).
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]
# Paging: ten thousand pages of a hundred is more than any list here holds.
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
