"""Canned replies: stored texts an agent sends with ``/reply <name>``, shared by every team or one
team's own."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.models import CannedReply

NAME = re.compile(r"^[\w-]{1,64}$")
PLACEHOLDER = re.compile(r"\{name\}")


def _usable_by(team_id: int | None) -> ColumnElement[bool]:
    return or_(CannedReply.team_id.is_(None), CannedReply.team_id == team_id)


async def canned_reply(
    session: AsyncSession, name: str, *, team_id: int | None = None
) -> CannedReply | None:
    """The template by name, if the team may use it (a shared one, or the team's own)."""
    return await session.scalar(
        select(CannedReply).where(CannedReply.name == name.strip().casefold(), _usable_by(team_id))
    )


async def canned_names(session: AsyncSession, *, team_id: int | None = None) -> list[str]:
    """The names of the templates the team may use."""
    return list(
        await session.scalars(
            select(CannedReply.name).where(_usable_by(team_id)).order_by(CannedReply.name)
        )
    )


async def save_canned_reply(
    session: AsyncSession, name: str, text: str, *, team_id: int | None = None
) -> CannedReply:
    """Create or replace a template (shared, or ``team_id``'s own); names are short words
    (letters, digits, - and _)."""
    name = name.strip().casefold()
    if not NAME.match(name):
        raise ValueError("a template name is 1–64 letters, digits, '-' or '_'")
    if not text.strip():
        raise ValueError("a template needs a text")
    reply = await session.scalar(select(CannedReply).where(CannedReply.name == name))
    if reply is None:
        reply = CannedReply(name=name, text=text)
        session.add(reply)
    reply.text = text
    reply.team_id = team_id
    await session.flush()
    return reply


def fill(template: str, *, name: str) -> str:
    """The template with ``{name}`` replaced (other braces are left as written)."""
    return PLACEHOLDER.sub(lambda _: name, template)
