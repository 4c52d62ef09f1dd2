"""Teams: which group each team works in, finding a team by name, group or the services (tags) it
owns. Passing a ticket between teams is ``handoff.desk.escalation``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from handoff.models import Team, Ticket

# Teams are named in commands (/escalate billing): the lookup ignores case and these separators.
_SEPARATORS = str.maketrans({"-": " ", "_": " "})


class TeamError(ValueError):
    """A team that cannot be used as asked; the message says why in words for a person."""


def group_of(team: Team, settings: Settings) -> int | None:
    """The team's forum group: its own, or FIRSTLINE_AGENT_CHAT_ID for the default team."""
    if team.agent_chat_id is not None:
        return team.agent_chat_id
    return settings.agent_chat_id if team.is_default else None


async def default_team(session: AsyncSession) -> Team:
    team = await session.scalar(select(Team).where(Team.is_default).order_by(Team.id).limit(1))
    if team is None:  # the migration makes it; a lead cannot delete it
        raise RuntimeError("there is no default team: run the database migrations")
    return team


async def team_of(session: AsyncSession, ticket: Ticket) -> Team:
    """The ticket's team (the default team for a ticket that has none)."""
    team = await session.get(Team, ticket.team_id) if ticket.team_id is not None else None
    return team or await default_team(session)


async def all_teams(session: AsyncSession) -> list[Team]:
    return list(await session.scalars(select(Team).order_by(Team.id)))


async def team_of_group(session: AsyncSession, settings: Settings, chat_id: int) -> Team | None:
    """The team whose forum group this is; None for any other chat."""
    for team in await all_teams(session):
        if group_of(team, settings) == chat_id:
            return team
    return None


async def agent_groups(session: AsyncSession, settings: Settings) -> set[int]:
    groups = {group_of(team, settings) for team in await all_teams(session)}
    return {group for group in groups if group is not None}


def names_match(name: str, wanted: str) -> bool:
    """The same team's name, ignoring case and the difference between "second-line" and
    "Second line"."""
    return _folded(name) == _folded(wanted)


def _folded(name: str) -> str:
    return " ".join(name.translate(_SEPARATORS).casefold().split())


async def find_team(session: AsyncSession, name: str) -> Team | None:
    for team in await all_teams(session):
        if names_match(team.name, name):
            return team
    return None


async def team_for_tags(session: AsyncSession, tags: Sequence[str]) -> Team | None:
    """The catalogue of services: the team owning the first of ``tags`` that any team owns
    (the tags come most relevant first: the bot's best candidate's before the others')."""
    teams = await all_teams(session)
    for tag in tags:
        for team in teams:
            if tag in team.tags:
                return team
    return None
