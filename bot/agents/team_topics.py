"""A small team's own topic in the main agents' group. The bot opens it, named after the team;
each ticket that reaches the team is announced there with a link to the customer's topic (where
its agents answer, as everyone does), and writing there makes an agent one of the team."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.agents.topics import Topic
from bot.formatting import escape
from bot.outbox import Purpose, enqueue, text_params
from core.database import transaction
from handoff.desk.teams import all_teams, group_of, is_topic_team
from handoff.models import Team, Ticket
from handoff.services import Services

logger = logging.getLogger(__name__)

TEAM_TOPIC_MARK = "👥"
TOPIC_NAME_LIMIT = 128


def welcome(team: Team) -> str:
    name = escape(team.name)
    return (
        f"{TEAM_TOPIC_MARK} <b>{name}</b>'s own topic. Each ticket that reaches {name} is "
        "announced here with a link to the customer's topic, where you answer as usual. "
        f"Write anything here to become one of {name}: tickets for {name} are then yours to "
        "take, and the wait customers hear counts you."
    )


def arrival(ticket: Ticket, title: str, transfer: str | None, topic: Topic) -> str:
    """The announcement of a ticket that reached the team: what it is, where from, the link."""
    passed = f"\nPassed on {escape(transfer)}" if transfer else ""
    return (
        f"Ticket #{ticket.id}: {escape(title)}{passed}\n"
        f'<a href="{topic_link(topic)}">Open the customer\'s topic</a>'
    )


def topic_link(topic: Topic) -> str:
    """The topic's address for members of the group (a supergroup's id is -100 and its number)."""
    number = str(topic.chat_id).removeprefix("-100")
    return f"https://t.me/c/{number}/{topic.thread_id}"


async def open_team_topics(services: Services, bot: ExtBot[Any]) -> None:
    """Open the topic of every small team in the main group that has none yet (a new team)."""
    async with services.sessions() as session:
        waiting = [
            team
            for team in await all_teams(session)
            if is_topic_team(team, services.settings) and team.desk_topic_id is None
        ]
    for team in waiting:
        await open_team_topic(services, bot, team)


async def open_team_topic(services: Services, bot: ExtBot[Any], team: Team) -> Topic | None:
    """The small team's topic in the main group, opened on first need; None for a team with a
    group of its own, or while Telegram does not take it (the line's job tries again)."""
    group = group_of(team, services.settings)
    if not team.in_main_group or group is None:
        return None
    if team.desk_topic_id is not None:
        return Topic(group, team.desk_topic_id)
    name = f"{TEAM_TOPIC_MARK} {' '.join(team.name.split())}"[:TOPIC_NAME_LIMIT]
    try:
        created = await bot.create_forum_topic(group, name)
    except TelegramError as error:
        logger.warning("team %s's topic not opened yet: %s", team.name, error)
        return None
    thread_id = created.message_thread_id
    async with transaction(services.sessions) as session:
        claimed = await session.execute(
            update(Team)
            .where(Team.id == team.id, Team.desk_topic_id.is_(None))
            .values(desk_topic_id=thread_id)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            params = text_params(welcome(team), thread_id=thread_id)
            await enqueue(session, group, params, purpose=Purpose.NOTICE)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        # Another replica opened one at the same moment: theirs stays.
        await _close_spare(bot, Topic(group, thread_id))
        async with services.sessions() as session:
            theirs = await session.get(Team, team.id, populate_existing=True)
        if theirs is None or theirs.desk_topic_id is None:
            return None
        thread_id = theirs.desk_topic_id
    team.desk_topic_id = thread_id
    services.wake_outbox(group)
    return Topic(group, thread_id)


async def _close_spare(bot: ExtBot[Any], topic: Topic) -> None:
    try:
        await bot.delete_forum_topic(topic.chat_id, topic.thread_id)
    except TelegramError as error:
        logger.info("a spare team topic %s stays: %s", topic.thread_id, error)
