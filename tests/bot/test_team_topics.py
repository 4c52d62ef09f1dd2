"""A small team's own topic in the main agents' group, opened by the bot against an offline
Telegram: once, with a line saying what it is for; once too when two replicas open it at the same
moment; again on the next round when Telegram refused; never for a team with a group of its own.
Its tickets' service-level alerts name it, in the topic the whole main group shares."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot.agents.team_topics import TEAM_TOPIC_MARK, open_team_topic, open_team_topics
from bot.agents.topics import Topic
from bot.line import warn_about_service_levels
from core.database import transaction, utcnow
from core.queues import OutboxMessage
from handoff.models import Team, TeamLevel, Ticket
from tests.bot.test_forgery import GROUP, desk, handed_off  # noqa: F401
from tests.support.offline_bot import OfflineBot
from tests.support.telegram_people import customer


async def _small_team(bot: OfflineBot, **fields: Any) -> Team:
    async with transaction(bot.services.sessions) as session:
        team = Team(name="Partners", level=TeamLevel.DEPARTMENT, tags=[], **fields)
        session.add(team)
        await session.flush()
        return team


async def _stored_topic(bot: OfflineBot, team: Team) -> int | None:
    async with bot.services.sessions() as session:
        return await session.scalar(select(Team.desk_topic_id).where(Team.id == team.id))


async def _welcomes(bot: OfflineBot) -> list[OutboxMessage]:
    async with bot.services.sessions() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP))
        return [row for row in rows if "own topic" in str(row.params.get("text"))]


def _calls(bot: OfflineBot, endpoint: str) -> list[dict[str, Any]]:
    return [params for name, params in bot.request.calls if name == endpoint]


async def test_the_topic_opens_once_and_says_what_it_is_for(desk: OfflineBot) -> None:  # noqa: F811
    team = await _small_team(desk, in_main_group=True)
    await open_team_topics(desk.services, desk.bot)
    await open_team_topics(desk.services, desk.bot)  # the next round: nothing to do
    [created] = _calls(desk, "createForumTopic")
    assert (int(created["chat_id"]), created["name"]) == (GROUP, f"{TEAM_TOPIC_MARK} Partners")
    thread = await _stored_topic(desk, team)
    assert thread is not None
    [welcome] = await _welcomes(desk)
    assert welcome.params["message_thread_id"] == thread
    assert "Write anything here to become one of Partners" in welcome.params["text"]


async def test_two_replicas_opening_it_at_once_keep_one(desk: OfflineBot) -> None:  # noqa: F811
    team = await _small_team(desk, in_main_group=True)
    async with desk.services.sessions() as session:  # the other replica read it before ours opened
        stale = await session.get(Team, team.id)
    assert stale is not None and stale.desk_topic_id is None
    ours = await open_team_topic(desk.services, desk.bot, team)
    theirs = await open_team_topic(desk.services, desk.bot, stale)
    stored = await _stored_topic(desk, team)
    assert stored is not None and theirs == ours == Topic(GROUP, stored)
    assert len(_calls(desk, "createForumTopic")) == 2
    [deleted] = _calls(desk, "deleteForumTopic")
    assert int(deleted["message_thread_id"]) != ours.thread_id  # the spare one goes
    assert len(await _welcomes(desk)) == 1


async def test_a_refused_topic_is_opened_on_the_next_round(desk: OfflineBot) -> None:  # noqa: F811
    team = await _small_team(desk, in_main_group=True)
    desk.request.down.add("createForumTopic")
    await open_team_topics(desk.services, desk.bot)
    assert await _stored_topic(desk, team) is None and not await _welcomes(desk)
    desk.request.down.clear()
    await open_team_topics(desk.services, desk.bot)
    assert await _stored_topic(desk, team) is not None and len(await _welcomes(desk)) == 1


async def test_a_team_with_a_group_of_its_own_gets_no_topic(desk: OfflineBot) -> None:  # noqa: F811
    team = await _small_team(desk, agent_chat_id=-100777)
    await open_team_topics(desk.services, desk.bot)
    assert await open_team_topic(desk.services, desk.bot, team) is None
    assert not _calls(desk, "createForumTopic")


async def test_a_small_team_s_late_ticket_is_called_out_by_the_team_s_name(
    desk: OfflineBot,  # noqa: F811
) -> None:
    team = await _small_team(desk, in_main_group=True)
    ticket, thread, _ = await handed_off(desk, customer(50, "Ира"))
    async with transaction(desk.services.sessions) as session:
        await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id)
            .values(team_id=team.id, created_at=utcnow() - timedelta(hours=5))
        )
    await warn_about_service_levels(desk.services, desk.bot)
    async with desk.services.sessions() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP))
        alerts = [row.params for row in rows if "🚨" in str(row.params.get("text"))]
    assert [(alert["message_thread_id"], alert["text"]) for alert in alerts] == [
        (thread, f"🚨 Partners: ticket #{ticket.id} missed its first response target of 4.0 h.")
    ]
