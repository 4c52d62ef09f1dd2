"""What the agents' group shows catches up with what happened while Telegram refused: a card
and a topic name that could not be edited lag (recorded with the change) until they can be; an
agent's correction of a reply still waiting in the outbox follows the reply."""

from __future__ import annotations

import asyncio
from itertools import count
from typing import Any

from sqlalchemy import func, select
from telegram import Update

from bot.agents.desk import Desk
from core.queues import OutboxMessage, QueueStatus
from handoff.models import Ticket
from tests.bot.test_forgery import GROUP, OLGA, desk, handed_off, press, ticket_now  # noqa: F401
from tests.support.offline_bot import OfflineBot
from tests.support.telegram_people import customer

CARD_AND_TOPIC = {"editMessageText", "editForumTopic"}
_ids = count(900_000)


def calls_to(bot: OfflineBot, endpoint: str) -> list[dict[str, Any]]:
    return [params for name, params in bot.request.calls if name == endpoint]


def in_topic(
    bot: OfflineBot, thread: int, message_id: int, text: str, *, edit: bool = False
) -> Update:
    """Olga writes (or corrects what she wrote) in the ticket's topic."""
    message = {
        "message_id": message_id,
        "date": 0,
        "chat": {"id": GROUP, "type": "supergroup", "title": "Agents", "is_forum": True},
        "from": OLGA,
        "text": text,
        "message_thread_id": thread,
        "is_topic_message": True,
    }
    kind = "edited_message" if edit else "message"
    return Update.de_json({"update_id": next(_ids), kind: message}, bot.bot)


async def lagging(bot: OfflineBot) -> int:
    async with bot.services.sessions() as session:
        query = select(func.count()).where(Ticket.card_shown_revision < Ticket.card_revision)
        return int(await session.scalar(query) or 0)


async def test_a_take_telegram_refused_to_show_is_shown_once_it_takes_edits_again(
    desk: OfflineBot,  # noqa: F811
) -> None:
    ticket, thread, card = await handed_off(desk, customer(40, "Ира"))
    assert await lagging(desk) == 0
    desk.request.down |= CARD_AND_TOPIC
    await press(
        desk, OLGA, f"desk:take:{ticket.id}", chat_id=GROUP, message_id=card, thread_id=thread
    )
    assert (await ticket_now(desk, ticket.id)).assignee_id is not None  # the take stands
    assert await lagging(desk) == 1
    await Desk(desk.services, desk.bot).refresh_lagging()  # still refused: still lagging
    assert await lagging(desk) == 1

    desk.request.down.clear()
    assert await Desk(desk.services, desk.bot).refresh_lagging() == 1
    assert await lagging(desk) == 0
    shown = calls_to(desk, "editMessageText")[-1]
    assert shown["message_id"] == card and "Owner: @olga_support" in shown["text"]
    assert calls_to(desk, "editForumTopic")[-1]["name"].startswith("🟢")
    assert await Desk(desk.services, desk.bot).refresh_lagging() == 0  # nothing left to do


async def test_a_correction_of_a_reply_still_waiting_follows_the_reply(
    desk: OfflineBot,  # noqa: F811
) -> None:
    ticket, thread, card = await handed_off(desk, customer(41, "Ира"))
    await press(
        desk, OLGA, f"desk:take:{ticket.id}", chat_id=GROUP, message_id=card, thread_id=thread
    )
    desk.request.down.add("copyMessage")
    await desk.process_update(in_topic(desk, thread, 7001, "Ваш заказ 123 в пути"))
    await desk.process_update(in_topic(desk, thread, 7001, "Ваш заказ 124 в пути", edit=True))
    assert [p for p in calls_to(desk, "editMessageText") if p["chat_id"] == 41] == []

    desk.request.down.clear()
    await asyncio.sleep(0.2)  # the reply's next attempt is due
    await desk.outbox.drain()
    [copied] = [p for p in calls_to(desk, "copyMessage") if p["chat_id"] == 41][-1:]
    [edit] = [p for p in calls_to(desk, "editMessageText") if p["chat_id"] == 41]
    assert edit["text"] == "Ваш заказ 124 в пути"
    assert edit["message_id"] == desk.request.message_id(copied)
    async with desk.services.sessions() as session:
        statuses = list(await session.scalars(select(OutboxMessage.status)))
    assert set(statuses) == {QueueStatus.DONE}
