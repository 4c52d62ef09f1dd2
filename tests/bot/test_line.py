"""Business hours in the conversation, with a controllable clock: out-of-hours handoffs, "how
long?", the "we are open" message (once, also after a restart), service-level alerts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from telegram.error import BadRequest

from bot.customers.texts import RU
from bot.line import warn_about_service_levels, welcome_waiting_customers
from core.database import transaction
from core.queues import delivery_states
from core.settings import DecisionThresholds, Settings
from firstline.assembly import open_services
from handoff.conversations import CustomerProfile, conversation, get_customer, register_customer
from handoff.desk import tickets
from handoff.line import availability
from handoff.line.hours import BusinessHours
from handoff.line.schedule import SpecialDay
from handoff.line.sla import DEFAULT_TARGETS
from handoff.models import Priority, Ticket, TicketEvent
from handoff.services import Services
from retrieval.decision import Decision, Outcome, Reason
from retrieval.sync import import_and_index
from tests.bot.test_bot_offline import FAQ, text_update
from tests.support.fake_bot_api import customer
from tests.support.fakes import KeywordEmbedder
from tests.support.offline_bot import OfflineBot, RecordingRequest

KYIV = "Europe/Kyiv"
WEEKDAYS_9_TO_18 = "mon-fri 09:00-18:00"
FRIDAY_EVENING = datetime(2026, 12, 4, 20, 0, tzinfo=UTC) - timedelta(hours=2)  # 20:00 in Kyiv
MONDAY_OPENING = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # 09:00 in Kyiv
# Handed to a person: the keyword test model sees any question it has no word for as off-topic
# (no ticket), so the line is reached by asking for a person.
HANDED_OFF = "позовите оператора"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(FRIDAY_EVENING)


def _line_settings(settings: Settings, database_url: str) -> Settings:
    return settings.model_copy(
        update={
            "database_url": database_url,
            "telegram_token": SecretStr("123:abc"),
            "timezone": KYIV,
            "business_hours": WEEKDAYS_9_TO_18,
            "decision": DecisionThresholds(answer_min=0.9, answer_margin=0.1, clarify_min=0.7),
        }
    )


async def _services(settings: Settings, clock: Clock) -> Services:
    services = await open_services(
        settings, embedder=KeywordEmbedder(["пароль", "деньг", "вернуть", "подписк"])
    )
    services.clock = clock
    return services


@pytest.fixture
async def line(
    settings: Settings, database_url: str, clock: Clock
) -> AsyncIterator[tuple[Services, OfflineBot, RecordingRequest]]:
    services = await _services(_line_settings(settings, database_url), clock)
    await import_and_index(services.sessions, services.decisions, FAQ, author="test")
    offline = OfflineBot(services)
    await offline.application.initialize()
    yield services, offline, offline.request
    await offline.application.shutdown()
    await services.close()


async def _say(app: OfflineBot, user: dict[str, Any], text: str) -> None:
    await app.process_update(text_update(app, user, text))


async def _welcome(services: Services, app: OfflineBot) -> int:
    """The job's "we're online" part, then what it queued delivered."""
    told = await welcome_waiting_customers(services, app.bot)
    await app.outbox.drain()
    return told


# --- the conversation ----------------------------------------------------------------------


async def test_a_friday_evening_handoff_is_told_monday_morning_and_only_once(line: Any) -> None:
    services, app, request = line
    user = customer(1, "Анна", language_code="ru")
    await _say(app, user, HANDED_OFF)
    [handoff] = request.sent(1)
    assert handoff["text"].startswith(RU.handoff_requested)
    assert "Специалист ответит в понедельник в 9:00" in handoff["text"]

    services.clock.now = FRIDAY_EVENING + timedelta(hours=3)
    await _say(app, user, "/human")
    assert "в понедельник" not in request.sent(1)[-1]["text"]  # told once per closed period


async def test_out_of_hours_the_bot_keeps_answering_and_says_when_we_open(line: Any) -> None:
    _, app, request = line
    user = customer(2, "Анна", language_code="ru")
    await _say(app, user, HANDED_OFF)
    await _say(app, user, "забыл пароль")
    assert request.sent(2)[-1]["text"].startswith("Нажмите <b>Забыли пароль?</b>.")
    await _say(app, user, "сколько ещё ждать?")
    assert request.sent(2)[-1]["text"] == RU.wait_closed.format(opening="в понедельник в 9:00")


async def test_a_holiday_moves_the_opening(line: Any) -> None:
    services, app, request = line
    async with transaction(services.sessions) as session:
        hours = BusinessHours.parse(
            WEEKDAYS_9_TO_18,
            timezone=KYIV,
            special_days=[SpecialDay(date(2026, 12, 7), note="team day")],
        )
        await availability.save_business_hours(session, hours)
    user = customer(3, "Оля", language_code="uk")
    await _say(app, user, "покличте оператора")
    assert "Фахівець відповість у вівторок о 9:00" in request.sent(3)[-1]["text"]


async def test_while_open_the_customer_hears_the_queue_and_can_ask_how_long(line: Any) -> None:
    services, app, request = line
    services.clock.now = MONDAY_OPENING + timedelta(hours=2)
    first, second = customer(4, "Анна"), customer(5, "Борис")
    await _say(app, first, HANDED_OFF)
    await _say(app, second, "хочу поговорить с живым человеком")
    # No history yet: 15 minutes a turn, one agent on duty; the second in line waits two turns.
    assert RU.queue_wait.format(position=2, wait="около получаса") in request.sent(5)[-1]["text"]
    await _say(app, second, "скоро ответите?")
    assert request.sent(5)[-1]["text"] == RU.queue_wait.format(position=2, wait="около получаса")


# --- the "we are open" message -------------------------------------------------------------


async def test_we_are_open_is_sent_once_at_opening_also_after_a_restart(
    line: Any, settings: Settings, database_url: str
) -> None:
    services, app, request = line
    user = customer(6, "Анна", language_code="ru")
    await _say(app, user, HANDED_OFF)
    services.clock.now = MONDAY_OPENING - timedelta(minutes=1)
    assert await _welcome(services, app) == 0  # still closed

    restarted = await _services(_line_settings(settings, database_url), services.clock)
    try:
        restarted.clock.now = MONDAY_OPENING + timedelta(minutes=1)
        assert await _welcome(restarted, app) == 1
        assert request.sent(6)[-1]["text"] == RU.line_open.format(
            position=1, wait="примерно 15 минут"
        )
        restarted.clock.now += timedelta(minutes=1)
        assert await _welcome(restarted, app) == 0
    finally:
        await restarted.close()
    again = await _services(_line_settings(settings, database_url), services.clock)
    try:
        assert await _welcome(again, app) == 0
    finally:
        await again.close()
    assert sum(RU.line_open[:20] in m["text"] for m in request.sent(6)) == 1


# --- service levels ------------------------------------------------------------------------

HANDOFF = Decision(Outcome.HANDOFF, Reason.LOW_CONFIDENCE, "ru")


async def _ticket(services: Services, opened: datetime, priority: Priority, user_id: int) -> int:
    async with transaction(services.sessions) as session:
        customer_row = await register_customer(session, CustomerProfile(user_id, user_id, "Ann"))
        ticket, _ = await tickets.escalate(
            session, customer_row, subject="x", decision=HANDOFF, opening_message_id=None
        )
        ticket.priority = priority
        ticket.created_at = opened
        return ticket.id


async def _sla_events(services: Services, ticket_id: int) -> list[tuple[str, str]]:
    async with services.sessions() as session:
        events = await session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
        return [
            (row.action, (row.details or {}).get("kind", ""))
            for row in events
            if row.action.startswith("sla_")
        ]


async def test_service_levels_warn_then_breach_once_counted_in_open_hours(line: Any) -> None:
    services, app, _ = line
    urgent = await _ticket(services, MONDAY_OPENING, Priority.URGENT, 10)
    friday_normal = await _ticket(
        services, MONDAY_OPENING - timedelta(days=2, hours=15, minutes=5), Priority.NORMAL, 11
    )  # Friday 17:55 in Kyiv: 5 open minutes before the weekend
    services.clock.now = MONDAY_OPENING + timedelta(minutes=13)
    alerts = await warn_about_service_levels(services, app.bot)
    assert [(a.ticket.id, a.stage, a.kind) for a in alerts] == [
        (urgent, "sla_warning", "first_response")
    ]
    services.clock.now = MONDAY_OPENING + timedelta(minutes=16)
    await warn_about_service_levels(services, app.bot)
    await warn_about_service_levels(services, app.bot)
    assert await _sla_events(services, urgent) == [
        ("sla_warning", "first_response"),
        ("sla_breach", "first_response"),
    ]
    # Friday's ticket has had 5 + 16 open minutes, far from its 4-hour target.
    assert DEFAULT_TARGETS.targets[Priority.NORMAL].first_response_minutes == 240
    assert await _sla_events(services, friday_normal) == []


async def test_the_wait_grows_with_the_place_in_the_queue(line: Any) -> None:
    services, _, _ = line
    now = MONDAY_OPENING + timedelta(hours=1)
    ids = [await _ticket(services, now, Priority.NORMAL, 20 + n) for n in range(4)]
    async with services.sessions() as session:
        hours = await availability.business_hours(session, services.settings)
        estimates = []
        for ticket_id in ids:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            estimates.append(await availability.expected_wait(session, ticket, hours, now))
    assert [e.position for e in estimates] == [1, 2, 3, 4]
    bounds = [e.minutes or 10_000 for e in estimates]
    assert bounds == sorted(bounds)


async def test_one_failing_customer_does_not_stop_the_others_hearing_we_are_open(
    line: Any,
) -> None:
    services, app, request = line
    for user_id in (30, 31):
        await _say(app, customer(user_id, "Анна", language_code="ru"), HANDED_OFF)
    services.clock.now = MONDAY_OPENING + timedelta(minutes=1)
    request.fail_for[30] = BadRequest("Chat not found")
    assert await _welcome(services, app) == 2
    attempts = [m["chat_id"] for m in request.sent() if m["text"].startswith(RU.line_open[:20])]
    assert sorted(attempts) == [30, 31]  # one failed; the other still went out
    async with services.sessions() as session:
        for user_id, delivery in ((30, "failed"), (31, "delivered")):
            stored = await get_customer(session, user_id=user_id)
            assert stored is not None
            [told] = [
                m
                for m in await conversation(session, stored.id)
                if (m.text or "").startswith(RU.line_open[:20])
            ]
            assert (await delivery_states(session, [told.id]))[told.id] == delivery
    assert await _welcome(services, app) == 0  # never twice, even so


async def test_a_reopened_ticket_waits_for_an_answer_again(line: Any) -> None:
    services, app, _ = line
    services.clock.now = MONDAY_OPENING
    ticket_id = await _ticket(services, MONDAY_OPENING, Priority.URGENT, 40)
    async with transaction(services.sessions) as session:
        ticket = await session.get(Ticket, ticket_id)
        agent = await tickets.register_agent(session, tickets.AgentProfile(900, "Olga", "olga"))
        assert ticket is not None and (await tickets.take(session, ticket, agent)).won
        tickets.note_agent_reply(session, ticket, agent, "text")
        # the desk stamps replies with the wall clock; this round happens on the fake one
        ticket.first_response_at = ticket.responded_at = MONDAY_OPENING + timedelta(minutes=20)
        assert await tickets.close(session, ticket, agent)
    async with transaction(services.sessions) as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and not ticket.awaits_response
        tickets.reopen(session, ticket)
        ticket.reopened_at = MONDAY_OPENING + timedelta(hours=1)
        assert ticket.awaits_response
    services.clock.now = MONDAY_OPENING + timedelta(hours=1, minutes=16)
    alerts = await warn_about_service_levels(services, app.bot)
    assert {(a.stage, a.kind) for a in alerts} == {("sla_breach", "first_response")}
