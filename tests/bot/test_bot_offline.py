"""Fast tests of the bot's handlers and delivery rules, with PTB's network layer swapped out.

As in python-telegram-bot's own suite: a ``BaseRequest`` that records every call and answers like
Telegram, and ``await application.process_update(update)``. Hand-written vectors, no model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.customers.texts import EN, RU, UK
from bot.delivery import (
    SINGLE_ATTEMPT,
    FloodGuard,
    PerChatUpdateProcessor,
    RetryingRateLimiter,
)
from core.settings import DecisionThresholds, Settings
from firstline.assembly import open_services
from handoff.conversations import conversation, get_customer
from handoff.services import Services
from knowledge_base.formats import FaqEntryData
from retrieval.sync import import_and_index
from tests.support.fakes import KeywordEmbedder
from tests.support.offline_bot import OfflineBot, RecordingRequest
from tests.support.telegram_people import customer

FAQ = [
    FaqEntryData(key="password", question="Забыл пароль", answer="Нажмите *Забыли пароль?*."),
    FaqEntryData(key="refund", question="Вернуть деньги за подписку", answer="Напишите «возврат»."),
]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    settings = settings.model_copy(
        update={
            "telegram_token": SecretStr("123:abc"),
            "decision": DecisionThresholds(answer_min=0.9, answer_margin=0.1, clarify_min=0.7),
            "flood_burst": 3,
            "flood_per_minute": 1,
        }
    )
    embedder = KeywordEmbedder(["пароль", "деньг", "вернуть", "подписк"])
    services = await open_services(settings, embedder=embedder)
    await import_and_index(services.sessions, services.decisions, FAQ, author="test")
    yield services
    await services.close()


@pytest.fixture
async def bot(services: Services) -> AsyncIterator[tuple[OfflineBot, RecordingRequest]]:
    offline = OfflineBot(services)
    await offline.application.initialize()
    yield offline, offline.request
    await offline.application.shutdown()


_ids = iter(range(1, 1_000_000))


def text_update(application: Any, user: dict[str, Any], text: str) -> Update:
    message = {
        "message_id": next(_ids),
        "date": 0,
        "chat": {"id": user["id"], "type": "private"},
        "from": user,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return Update.de_json({"update_id": next(_ids), "message": message}, application.bot)


async def test_a_question_gets_the_answer_with_vote_buttons(bot: Any) -> None:
    application, request = bot
    await application.process_update(text_update(application, customer(1), "забыл пароль"))
    [reply] = request.sent(1)
    assert reply["text"].startswith("Нажмите <b>Забыли пароль?</b>.")
    assert reply["parse_mode"] == "HTML"
    buttons = [b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["vote:1", "vote:0", "human"]


async def test_language_command_switches_and_the_choice_sticks(bot: Any) -> None:
    application, request = bot
    user = customer(2, language_code="ru")
    await application.process_update(text_update(application, user, "/language"))
    query = {
        "id": "q1",
        "from": user,
        "chat_instance": "2",
        "data": "lang:uk",
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 2, "type": "private"},
            "text": RU.choose_language,
        },
    }
    await application.process_update(
        Update.de_json({"update_id": next(_ids), "callback_query": query}, application.bot)
    )
    assert request.sent(2)[-1]["text"] == UK.language_set
    await application.process_update(text_update(application, user, "thank you so much, bye"))
    assert request.sent(2)[-1]["text"] == UK.thanks_reply  # chosen, not re-detected


async def test_the_reply_follows_the_language_the_customer_writes_in(bot: Any) -> None:
    application, request = bot
    user = customer(3, language_code="ru")
    await application.process_update(text_update(application, user, "thanks a lot, that helped"))
    assert request.sent(3)[-1]["text"] == EN.thanks_reply


async def test_a_failing_handler_ends_in_an_apology_not_silence(
    bot: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    application, request = bot

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(services.decisions, "decide", broken)
    await application.process_update(text_update(application, customer(4), "забыл пароль"))
    assert request.sent(4)[-1]["text"] == RU.apology


async def test_a_flood_is_answered_once_and_every_message_is_stored(bot: Any) -> None:
    application, request = bot
    for n in range(6):
        # greetings: a handoff would pass the chat to a person's topic instead
        await application.process_update(text_update(application, customer(5), "привет" + "!" * n))
    texts = [params["text"] for params in request.sent(5)]
    assert texts.count(RU.rate_limited) == 1
    assert len(texts) == 3 + 1  # the burst answered, then one notice


async def test_replicas_share_one_flood_limit_per_chat(services: Services) -> None:
    """Two replicas (each its own application and guard) taking turns at one chat's messages
    allow it one burst between them, not one each."""
    replicas = [OfflineBot(services), OfflineBot(services)]
    for replica in replicas:
        await replica.application.initialize()
    try:
        for n in range(6):
            replica = replicas[n % 2]
            await replica.process_update(text_update(replica, customer(15), "привет" + "!" * n))
    finally:
        for replica in replicas:
            await replica.application.shutdown()
    texts = [params["text"] for replica in replicas for params in replica.request.sent(15)]
    assert texts.count(RU.rate_limited) == 1
    assert len(texts) == 3 + 1


async def test_group_messages_get_no_reply(bot: Any) -> None:
    application, request = bot
    update = Update.de_json(
        {
            "update_id": next(_ids),
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -500, "type": "group", "title": "g"},
                "from": customer(6),
                "text": "забыл пароль",
            },
        },
        application.bot,
    )
    await application.process_update(update)
    assert request.sent() == []


# --- delivery rules ----------------------------------------------------------------------------


class ScriptedCall:
    """A Bot API call that fails with the given errors in turn, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return {"ok": True}


async def test_429_waits_retry_after_and_5xx_backs_off_then_succeeds() -> None:
    limiter = RetryingRateLimiter(backoff=0.01)
    send = ScriptedCall(RetryAfter(0), NetworkError("Internal Server Error (500)"))
    assert await limiter.process_request(send, (), {}, "sendMessage", {}, None) == {"ok": True}
    assert send.calls == 3 and limiter.retries == 2


@pytest.mark.parametrize(
    "failure",
    [TimedOut(), BadRequest("Message is not modified")],
    ids=["timeout: the message may have arrived", "400: fails the same way again"],
)
async def test_timeouts_and_bad_requests_are_not_retried(failure: Exception) -> None:
    limiter = RetryingRateLimiter(backoff=0.01)
    send = ScriptedCall(failure, failure)
    with pytest.raises(type(failure)):
        await limiter.process_request(send, (), {}, "sendMessage", {}, None)
    assert send.calls == 1


async def test_a_single_attempt_call_leaves_the_retrying_to_its_caller() -> None:
    """The outbox and the card's edits ask for one attempt: they back off themselves, and a
    chat's lane does not wait through retries in place."""
    limiter = RetryingRateLimiter(backoff=0.01)
    send = ScriptedCall(NetworkError("Bad Gateway"))
    with pytest.raises(NetworkError):
        await limiter.process_request(send, (), {}, "sendMessage", {}, SINGLE_ATTEMPT)
    assert send.calls == 1 and limiter.retries == 0


async def test_a_failed_answer_to_a_press_does_not_fail_the_press() -> None:
    limiter = RetryingRateLimiter(backoff=0.01)
    answer = ScriptedCall(NetworkError("Bad Gateway"))
    assert await limiter.process_request(answer, (), {}, "answerCallbackQuery", {}, None) is True
    assert answer.calls == 1


async def test_updates_run_in_order_within_a_chat_and_concurrently_across_chats() -> None:
    processor = PerChatUpdateProcessor(16)
    log: list[str] = []

    def update(chat: int) -> Update:
        return Update.de_json(
            {
                "update_id": next(_ids),
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": chat, "type": "private"},
                    "text": "x",
                },
            },
            None,
        )

    async def work(name: str, delay: float) -> None:
        log.append(f"start {name}")
        await asyncio.sleep(delay)
        log.append(f"end {name}")

    await asyncio.gather(
        processor.process_update(update(1), work("a1", 0.05)),
        processor.process_update(update(1), work("a2", 0.0)),
        processor.process_update(update(2), work("b1", 0.0)),
    )
    assert log.index("end a1") < log.index("start a2")  # same chat: one after another
    assert log.index("end b1") < log.index("end a1")  # other chat: did not wait


def test_the_flood_guard_refills_with_time_and_warns_once_a_flood() -> None:
    guard = FloodGuard(per_minute=60, burst=2)
    start = datetime(2026, 12, 7, tzinfo=UTC)
    bucket = None
    verdicts = []
    for _ in range(4):
        admitted, warn, bucket = guard.admit(bucket, start)
        verdicts.append((admitted, warn))
    assert verdicts == [(True, False), (True, False), (False, True), (False, False)]
    assert guard.admit(bucket, start + timedelta(seconds=1))[:2] == (True, False)
    _, _, calm = guard.admit(bucket, start + timedelta(minutes=5))
    assert not calm.warned  # the next flood is told again


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("😀😀🙏", RU.not_text),
        ("\x00\x01\x02 binary \ufffd", RU.not_text),
        ("   ", RU.not_text),
        ("пароль " * 585, None),  # 4,095 characters, Telegram's longest message
        ("<b>'; DROP TABLE customers; --</b> & {name} %s", None),
    ],
)
async def test_odd_messages_get_a_reply_and_are_stored(
    bot: Any, services: Services, text: str, expected: str | None
) -> None:
    application, request = bot
    user = customer(7)
    await application.process_update(text_update(application, user, text))
    [reply] = request.sent(7)
    if expected is not None:
        assert reply["text"] == expected
    assert reply["text"] != RU.apology
    async with services.sessions() as session:
        stored = await get_customer(session, user_id=7)
        assert stored is not None
        first, *_ = await conversation(session, stored.id)
    assert first.text == text.replace("\x00", "")  # PostgreSQL refuses NUL in text
