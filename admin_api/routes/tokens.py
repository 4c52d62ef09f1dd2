"""API tokens, for admins: issue, list, revoke."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from admin_api.deps import AdminDep, RowId, ServicesDep
from admin_api.errors import ERROR_RESPONSES, ApiError
from admin_api.tokens import ApiToken, Role, issue_token, list_tokens, revoke_token
from core.database import transaction

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=ERROR_RESPONSES)


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="whose token, shown in history")
    role: Role
    agent: str | None = Field(
        None, max_length=100, description="for an agent token: the agent's @username or name"
    )


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str = Field(description="the token's first characters, to tell tokens apart")
    agent_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            role=Role(token.role),
            prefix=token.prefix,
            agent_id=token.agent_id,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class IssuedTokenOut(TokenOut):
    token: str = Field(description="the secret: shown only now, store it safely")


@router.get("", summary="List tokens")
async def tokens(services: ServicesDep, _admin: AdminDep) -> list[TokenOut]:
    async with services.sessions() as session:
        return [TokenOut.of(token) for token in await list_tokens(session)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Issue a token")
async def create_token(
    services: ServicesDep, _admin: AdminDep, request: TokenRequest
) -> IssuedTokenOut:
    try:
        async with transaction(services.sessions) as session:
            issued = await issue_token(
                session, name=request.name, role=request.role, agent=request.agent
            )
    except LookupError as error:
        raise ApiError(404, str(error)) from None
    return IssuedTokenOut(**TokenOut.of(issued.token).model_dump(), token=issued.secret)


@router.delete("/{token_id}", summary="Revoke a token")
async def revoke(services: ServicesDep, _admin: AdminDep, token_id: RowId) -> TokenOut:
    """The token stops working at once; it stays listed, with the time it was revoked."""
    async with transaction(services.sessions) as session:
        token = await revoke_token(session, token_id)
    if token is None:
        raise ApiError(404, f"there is no token {token_id}")
    return TokenOut.of(token)
