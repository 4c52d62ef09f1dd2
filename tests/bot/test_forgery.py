"""Forged button presses: Telegram does not check callback data (python-telegram-bot documents it
as client-controlled), so every press is checked against where it was pressed and what we stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from telegram import Update

from bot.customers.texts import RU
from core.settings import DecisionThresholds, Settings
from firstline.assembly import open_services
from handoff.models import Agent, Customer, Ticket, TicketStatus
from knowledge_base.formats import FaqEntryData
from retrieval.sync import import_and_index
from tests.bot.test_bot_offline import text_update
from tests.support.fakes import KeywordEmbedder
from tests.support.offline_bot import OfflineBot
from tests.support.telegram_people import agent, customer

GROUP = -100500
OLGA = agent(9001, "Olga", "olga_support")
FAQ = [
    FaqEntryData(key="password", question="Забыл пароль", answer="Нажмите «Забыли пароль?»."),
    FaqEntryData(key="refund", question="Вернуть деньги", answer="Напишите «возврат»."),
]
_ids = iter(range(10_000, 1_000_000))


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[OfflineBot]:
    settings = settings.model_copy(
        update={
            "telegram_token": SecretStr("123:abc"),
            "agent_chat_id": GROUP,
            "decision": DecisionThresholds(answer_min=0.9, answer_margin=0.1, clarify_min=0.5),
        }
    )
    services = await open_services(settings, embedder=KeywordEmbedder(["пароль", "деньг"]))
    await import_and_index(services.sessions, services.decisions, FAQ, author="test")
    offline = OfflineBot(services)
    await offline.application.initialize()
    yield offline
    await offline.application.shutdown()
    await services.close()


async def press(
    desk: OfflineBot,
    user: dict[str, Any],
    data: str,
    *,
    chat_id: int,
    message_id: int,
    thread_id: int | None = None,
) -> None:
    chat = (
        {"id": chat_id, "type": "supergroup", "title": "Agents", "is_forum": True}
        if chat_id < 0
        else {"id": chat_id, "type": "private"}
    )
    message: dict[str, Any] = {"message_id": message_id, "date": 0, "chat": chat, "text": "…"}
    if thread_id is not None:
        message.update(message_thread_id=thread_id, is_topic_message=True)
    query = {
        "id": str(next(_ids)),
        "from": user,
        "chat_instance": "1",
        "message": message,
        "data": data,
    }
    await desk.process_update(
        Update.de_json({"update_id": next(_ids), "callback_query": query}, None)
    )


async def handed_off(desk: OfflineBot, user: dict[str, Any]) -> tuple[Ticket, int, int]:
    """The customer asks for a person: their ticket, its topic and its card's message id."""
    await desk.process_update(text_update(desk, user, "/human"))
    async with desk.services.sessions() as session:
        ticket = await session.scalar(
            select(Ticket)
            .join(Customer, Customer.id == Ticket.customer_id)
            .where(Customer.telegram_user_id == user["id"], Ticket.status == TicketStatus.NEW)
        )
    assert ticket is not None and ticket.card_message_id is not None
    [created] = [
        params for endpoint, params in desk.request.calls if endpoint == "createForumTopic"
    ][-1:]
    cards = [p for p in desk.request.sent(GROUP) if "desk:take" in str(p.get("reply_markup"))]
    thread = int(cards[-1]["message_thread_id"])
    assert created["name"]
    return ticket, thread, ticket.card_message_id


async def agents(desk: OfflineBot) -> int:
    async with desk.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Agent)) or 0)


async def ticket_now(desk: OfflineBot, ticket_id: int) -> Ticket:
    async with desk.services.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    return ticket


def alerts(desk: OfflineBot) -> list[str]:
    return [
        str(params.get("text", ""))
        for endpoint, params in desk.request.calls
        if endpoint == "answerCallbackQuery"
    ]


async def test_a_desk_button_forged_in_a_private_chat_makes_no_one_an_agent(
    desk: OfflineBot,
) -> None:
    mallory = customer(31, "Mallory")
    ticket, _, _ = await handed_off(desk, customer(30))
    await press(desk, mallory, f"desk:take:{ticket.id}", chat_id=31, message_id=1)
    assert await agents(desk) == 0
    assert (await ticket_now(desk, ticket.id)).assignee_id is None
    assert "only in the agents' group" in alerts(desk)[-1]


async def test_a_desk_button_for_another_ticket_than_the_topics_is_refused(
    desk: OfflineBot,
) -> None:
    first, thread, card = await handed_off(desk, customer(32))
    await press(
        desk,
        OLGA,
        f"desk:close:{first.id + 1000}",
        chat_id=GROUP,
        message_id=card,
        thread_id=thread,
    )
    assert (await ticket_now(desk, first.id)).is_active
    assert "older ticket" in alerts(desk)[-1]


async def closed_with_rating_request(desk: OfflineBot, user: dict[str, Any]) -> tuple[Ticket, int]:
    ticket, thread, card = await handed_off(desk, user)
    await press(
        desk, OLGA, f"desk:close:{ticket.id}", chat_id=GROUP, message_id=card, thread_id=thread
    )
    [request] = [p for p in desk.request.sent(user["id"]) if "rate:" in str(p.get("reply_markup"))]
    return await ticket_now(desk, ticket.id), desk.request.message_id(request)


async def test_a_rating_counts_once_only_on_the_request_for_the_customers_closed_ticket(
    desk: OfflineBot,
) -> None:
    user = customer(33)
    open_ticket, _, _ = await handed_off(desk, customer(34))
    # Forged: an open ticket of someone else's, then one's own open ticket.
    await press(desk, user, f"rate:{open_ticket.id}:1", chat_id=33, message_id=1)
    closed, request_id = await closed_with_rating_request(desk, user)
    await press(desk, user, f"rate:{closed.id}:1", chat_id=33, message_id=request_id + 50)
    assert (await ticket_now(desk, closed.id)).rating is None
    assert (await ticket_now(desk, open_ticket.id)).rating is None
    assert alerts(desk)[-1] == RU.button_expired
    await press(desk, user, f"rate:{closed.id}:5", chat_id=33, message_id=request_id)
    assert (await ticket_now(desk, closed.id)).rating == 5
    await press(desk, user, f"rate:{closed.id}:1", chat_id=33, message_id=request_id)
    assert (await ticket_now(desk, closed.id)).rating == 5  # once
    low_alerts = [p for p in desk.request.sent(GROUP) if "Low rating" in str(p.get("text"))]
    assert low_alerts == []


async def test_a_pick_of_an_entry_that_was_not_offered_answers_nothing(desk: OfflineBot) -> None:
    user = customer(35)
    await press(desk, user, "pick:1", chat_id=35, message_id=77)
    [reply] = desk.request.sent(35)
    assert reply["text"] == RU.button_expired
