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
    """The team's forum group: its own, or FIRSTLINE_AGENT_CHAT_ID for the default team and
    for a small team working in a topic of that main group."""
    if team.agent_chat_id is not None:
        return team.agent_chat_id
    return settings.agent_chat_id if team.is_default or team.in_main_group else None


def is_topic_team(team: Team, settings: Settings) -> bool:
    """A small team working in the main agents' group (it has a group there to work in)."""
    return team.in_main_group and group_of(team, settings) is not None


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
    """The team whose forum group this is (in the main group, the default team rather than the
    small teams working in a topic of it); None for any other chat."""
    for team in await teams_in_group(session, settings, chat_id):
        if not team.in_main_group:
            return team
    return None


async def teams_in_group(session: AsyncSession, settings: Settings, chat_id: int) -> list[Team]:
    return [team for team in await all_teams(session) if group_of(team, settings) == chat_id]


async def acting_team(
    session: AsyncSession,
    settings: Settings,
    chat_id: int,
    topic_id: int | None,
    current: int | None,
) -> Team | None:
    """The team an agent acts for in this group (their team from now on): a small team's own
    topic makes them one of it; anywhere else they stay in their team (``current``) if it works
    in this group, or become one of the group's own. None outside the agents' groups."""
    here = await teams_in_group(session, settings, chat_id)
    for team in here:
        if topic_id is not None and team.in_main_group and team.desk_topic_id == topic_id:
            return team
    for team in here:
        if team.id == current:
            return team
    return await team_of_group(session, settings, chat_id) or (here[0] if here else None)


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
