"""API tokens: who may call the admin API, and as what (``admin`` ⊃ ``editor``; ``agent``).

A token is shown once, when it is made; the database keeps only its SHA-256, so a leaked
database leaks no usable token. Tokens are revoked, never deleted, so the audit stays readable.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UtcDateTime, utcnow
from handoff.desk.tickets import find_agent
from handoff.models import Agent

TOKEN_PREFIX = "fl_"
# Writing last_used_at on every call would make each read a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    AGENT = "agent"


def grants(role: Role, needed: Role) -> bool:
    """Whether a token of ``role`` may do what needs ``needed``: admin may do everything."""
    return role == needed or role == Role.ADMIN


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, so people can tell their tokens apart in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    # Whom ticket actions made with this token are recorded for (made on first use).
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_token(
    session: AsyncSession, *, name: str, role: Role, agent: str | None = None
) -> IssuedToken:
    """A new token; ``agent`` links it to a known agent (by @username or name) for tickets."""
    linked: Agent | None = None
    if agent:
        linked = await find_agent(session, agent)
        if linked is None:
            raise LookupError(
                f"no agent known as {agent!r}: agents become known when they first write in the "
                "agents' group"
            )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip()[:100],
        role=role,
        token_hash=_hash(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        agent_id=linked.id if linked else None,
    )
    session.add(token)
    await session.flush()
    return IssuedToken(token, secret)


async def authenticate(session: AsyncSession, secret: str) -> ApiToken | None:
    """The active token with this secret, its last use noted; None for an unknown or revoked one."""
    token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    if token is None or not token.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        await session.execute(
            update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
        )
        token.last_used_at = now
    return token


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list(await session.scalars(select(ApiToken).order_by(ApiToken.id)))


async def revoke_token(session: AsyncSession, token_id: int) -> ApiToken | None:
    token = await session.get(ApiToken, token_id)
    if token is not None and token.active:
        token.revoked_at = utcnow()
        await session.flush()
    return token


async def agent_of(session: AsyncSession, token: ApiToken) -> Agent:
    """The agent this token acts as; an API-only agent named after the token on first use."""
    if token.agent_id is not None:
        agent = await session.get(Agent, token.agent_id)
        if agent is not None:
            agent.last_active_at = utcnow()
            return agent
    agent = Agent(telegram_user_id=None, name=token.name)
    session.add(agent)
    await session.flush()
    # Two first calls at once must not make two agents of one token: the first link wins.
    linked = await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id, ApiToken.agent_id.is_(None))
        .values(agent_id=agent.id)
    )
    if not linked.rowcount:  # type: ignore[attr-defined]
        await session.delete(agent)
        winner = await session.scalar(select(ApiToken.agent_id).where(ApiToken.id == token.id))
        found = await session.get(Agent, winner) if winner is not None else None
        assert found is not None  # linked a moment ago by the other call
        agent = found
    token.agent_id = agent.id
    return agent
