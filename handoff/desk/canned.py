"""Canned replies: stored texts an agent sends with ``/reply <name>``."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.models import CannedReply

NAME = re.compile(r"^[\w-]{1,64}$")
PLACEHOLDER = re.compile(r"\{name\}")


async def canned_reply(session: AsyncSession, name: str) -> CannedReply | None:
    return await session.scalar(
        select(CannedReply).where(CannedReply.name == name.strip().casefold())
    )


async def canned_names(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(CannedReply.name).order_by(CannedReply.name)))


async def save_canned_reply(session: AsyncSession, name: str, text: str) -> CannedReply:
    """Create or replace a template; names are short words (letters, digits, - and _)."""
    name = name.strip().casefold()
    if not NAME.match(name):
        raise ValueError("a template name is 1–64 letters, digits, '-' or '_'")
    if not text.strip():
        raise ValueError("a template needs a text")
    reply = await canned_reply(session, name)
    if reply is None:
        reply = CannedReply(name=name, text=text)
        session.add(reply)
    reply.text = text
    await session.flush()
    return reply


def fill(template: str, *, name: str) -> str:
    """The template with ``{name}`` replaced (other braces are left as written)."""
    return PLACEHOLDER.sub(lambda _: name, template)
