"""The whole bot end to end: `firstline run` as a process, the real model, a local fake Bot API.

The customers below write to the fake Telegram; the process polls it (or gets webhooks), decides
with the real default model over an imported FAQ, and replies. The fake refuses what Telegram
refuses (broken HTML, over-long texts), so a reply that would break in Telegram fails here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.customers.texts import EN, RU, UK
from bot.formatting import render
from tests.support.e2e import Running, bot_ready, firstline_environment, running_firstline
from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import free_port, start_firstline, stop_firstline
from tests.support.telegram_people import MEDIA, customer

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, imported_faq: Path) -> Iterator[Running]:
    with running_firstline(tmp_path_factory.mktemp("bot-e2e"), imported_faq) as (running, _):
        yield running


def _answer_html(running: Running, key: str, language: str = "ru") -> str:
    """The entry's answer as the bot sends it in this language (the demo FAQ's busiest entries
    are translated; the others answer in Russian, after a one-line note)."""
    entry = running.faq[key]
    return render(entry.get("translations", {}).get(language, entry)["answer"])


def test_start_greets_in_the_customers_language_and_offers_a_person(running: Running) -> None:
    telegram = running.telegram
    for user_id, code, texts in ((101, "ru", RU), (102, "uk", UK), (103, "en", EN)):
        telegram.send_command(customer(user_id, "Ann", code), "/start")
        greeting = telegram.wait_for_messages(user_id, 1)[0]
        assert greeting.text.startswith(texts.greeting.split("{name}")[0] + "Ann")
        assert greeting.keyboard == [texts.human_button]


@pytest.mark.parametrize(
    ("user_id", "text", "key", "language", "texts"),
    [
        (111, "забыл пароль от аккаунта, что делать", "forgot-password", "ru", RU),
        (112, "як скасувати підписку", "cancel-subscription", "uk", UK),
        (113, "i forgot my password", "forgot-password", "en", EN),
    ],
)
def test_a_faq_question_gets_its_answer_in_the_customers_language(
    running: Running, user_id: int, text: str, key: str, language: str, texts: Any
) -> None:
    running.telegram.send_text(customer(user_id, language_code=None), text)
    reply = running.telegram.wait_for_messages(user_id, 1)[0]
    assert reply.text.startswith(_answer_html(running, key, language))
    assert reply.text.endswith(f"<i>{texts.anything_else}</i>")
    assert reply.buttons == [
        (texts.helped_button, "vote:1"),
        (texts.not_that_button, "vote:0"),
        (texts.talk_button, "human"),
    ]
    assert reply.parse_mode == "HTML"


@pytest.mark.parametrize(
    ("user_id", "text", "texts"),
    [
        (121, "позовите живого оператора", RU),
        (122, "хочу поговорити з людиною", UK),
        (123, "agent please", EN),
    ],
)
def test_a_request_for_a_human_opens_a_ticket_with_the_conversation(
    running: Running, user_id: int, text: str, texts: Any
) -> None:
    user = customer(user_id, language_code="en")
    running.telegram.send_text(user, text)
    assert running.telegram.wait_for_messages(user_id, 1)[0].text.startswith(
        texts.handoff_requested
    )
    running.telegram.send_command(user, "/human")
    assert running.telegram.wait_for_messages(user_id, 2)[1].text.startswith(texts.handoff_already)
    tickets = running.rows(
        "SELECT t.status, t.reason, t.subject FROM tickets t JOIN customers c"
        " ON c.id = t.customer_id WHERE c.telegram_user_id = ?",
        user_id,
    )
    assert tickets == [("new", "customer_request", text)]


def test_the_persistent_button_asks_for_a_person(running: Running) -> None:
    running.telegram.send_text(customer(124), RU.human_button)
    assert running.telegram.wait_for_messages(124, 1)[0].text.startswith(RU.handoff_requested)


def test_media_gets_a_polite_reply_and_is_kept_for_the_agent(running: Running) -> None:
    user = customer(131)
    for content in MEDIA.values():
        running.telegram.send_message(user, content)
    replies = running.telegram.wait_for_messages(131, len(MEDIA))
    for reply, kind in zip(replies, MEDIA, strict=True):
        assert RU.media_names[kind] in reply.text  # type: ignore[index]
    kept = running.rows(
        "SELECT m.kind, m.file_id, m.text FROM conversation_messages m JOIN customers c"
        " ON c.id = m.customer_id WHERE c.telegram_user_id = ? AND m.direction = 'in'"
        " ORDER BY m.id",
        131,
    )
    assert kept[:4] == [
        ("sticker", "STICKER1", None),
        ("voice", "VOICE1", None),
        ("photo", "PHOTO-big", "вот скриншот ошибки"),
        ("document", "DOC1", None),
    ]
    assert [row[0] for row in kept[4:]] == ["location", "contact"]


def test_edits_and_forwards_get_a_polite_reply(running: Running) -> None:
    user = customer(132)
    message_id = running.telegram.send_text(user, "привет")
    running.telegram.wait_for_messages(132, 1)
    running.telegram.edit_text(user, message_id, "привет, забыл пароль")
    assert running.telegram.wait_for_messages(132, 2)[1].text == RU.edited
    origin = {"type": "hidden_user", "sender_user_name": "Someone", "date": 1}
    running.telegram.send_message(user, {"text": "ваш заказ отменён", "forward_origin": origin})
    assert running.telegram.wait_for_messages(132, 3)[2].text == RU.forwarded


def test_markup_from_customers_and_answers_never_breaks_a_reply(running: Running) -> None:
    name = "<b>Bob</b> & *Co* _x_ [x](y)"
    user = customer(141, name)
    running.telegram.send_command(user, "/start")
    greeting = running.telegram.wait_for_messages(141, 1)[0]
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; *Co* _x_ [x](y)" in greeting.text
    running.telegram.send_text(user, "Что входит в семейный тариф Семья?")
    answer = running.telegram.wait_for_messages(141, 2)[1]
    assert answer.text.startswith(
        "Тариф <b>Семья</b>: 5 экранов, a &lt; b &amp; c &gt; d, <code>код_1</code>, "
        '<a href="https://example.com/?a=1&amp;b=2">сайт</a>.'
    )
    running.telegram.send_text(user, "<b>*[x](y)* & </b> _оператор_ <script>")
    assert running.telegram.wait_for_messages(141, 3)[2].text.startswith(RU.handoff_requested)


def test_a_long_answer_arrives_whole_in_several_messages(running: Running) -> None:
    running.telegram.send_text(customer(151), "как настроить телевизор LG по шагам")
    running.telegram.wait_until(
        lambda: (
            bool(running.telegram.messages_to(151))
            and bool(running.telegram.messages_to(151)[-1].buttons)
        )
    )
    parts = running.telegram.messages_to(151)
    assert len(parts) >= 2
    assert all(len(part.text) <= 4096 for part in parts)
    assert [bool(part.buttons) for part in parts] == [False] * (len(parts) - 1) + [True]
    whole = " ".join(" ".join(part.text for part in parts).split())
    assert whole.startswith(" ".join(_answer_html(running, "tv-setup-guide").split()))
    assert all(f"{step}. Очень подробный шаг" in whole for step in range(1, 8))


def test_votes_are_stored_against_the_entry_and_not_that_offers_a_person(
    running: Running,
) -> None:
    telegram = running.telegram
    user = customer(161)
    telegram.send_text(user, "забыл пароль от аккаунта, что делать")
    answer = telegram.wait_for_messages(161, 1)[0]
    telegram.press(user, answer, "vote:1")
    telegram.wait_until(
        lambda: any(a.get("text") == RU.vote_thanks for a in telegram.callback_answers)
    )
    telegram.press(user, answer, "vote:0")  # a change of mind changes the vote
    follow_up = telegram.wait_for_messages(161, 2)[1]
    assert follow_up.text.startswith((RU.other_options, RU.handoff_not_helped))
    votes = running.rows(
        "SELECT v.faq_key, v.helpful, e.key FROM answer_votes v"
        " JOIN faq_entries e ON e.id = v.faq_entry_id JOIN customers c ON c.id = v.customer_id"
        " WHERE c.telegram_user_id = ?",
        161,
    )
    assert votes == [("forgot-password", 0, "forgot-password")]


def test_clarify_offers_entries_a_press_answers_and_none_hands_off(running: Running) -> None:
    telegram = running.telegram
    user = customer(171)
    telegram.send_text(user, "почему два платежа за один месяц??")
    offer = telegram.wait_for_messages(171, 1)[0]
    assert offer.text == RU.did_you_mean
    assert offer.buttons[0] == ("Деньги списали дважды", offer.buttons[0][1])
    assert offer.buttons[-1] == (RU.none_of_these, "none")
    assert 3 <= len(offer.buttons) <= 4
    telegram.press(user, offer, offer.buttons[0][1])
    answer = telegram.wait_for_messages(171, 2)[1]
    assert answer.text.startswith(_answer_html(running, "double-charge"))
    telegram.send_text(user, "почему два платежа за один месяц??")
    again = telegram.wait_for_messages(171, 3)[2]
    assert again.text.startswith(
        RU.handoff_not_helped
    )  # the same question again: the bot is failing
    user2 = customer(172)
    telegram.send_text(user2, "почему два платежа за один месяц??")
    offer2 = telegram.wait_for_messages(172, 1)[0]
    telegram.press(user2, offer2, "none")
    assert telegram.wait_for_messages(172, 2)[1].text.startswith(RU.handoff_not_helped)
    decided = running.rows(
        "SELECT m.outcome, m.reason FROM conversation_messages m JOIN customers c"
        " ON c.id = m.customer_id WHERE c.telegram_user_id = ? AND m.direction = 'in'"
        " AND m.kind = 'text' ORDER BY m.id",
        171,
    )
    assert [outcome for outcome, _ in decided] == ["clarify", "handoff"]
    assert decided[1][1] == "repeated_failure"


def test_injected_429_and_500_lose_no_reply_and_duplicate_none(running: Running) -> None:
    telegram = running.telegram
    telegram.fail("sendMessage", 500, times=2)
    telegram.fail("sendMessage", 429, retry_after=1)
    telegram.fail("sendMessage", 502)
    user = customer(181)
    for text in ("забыл пароль от аккаунта, что делать", "как удалить аккаунт", "спасибо"):
        telegram.send_text(user, text)
    # The first reply's back-off alone is 2 + 4 + 8 + 16 s (DELIVERY_RETRY_SECONDS doubling):
    # the bound leaves room for a loaded machine (60 s was missed once under a parallel load).
    replies = telegram.wait_for_messages(181, 3, timeout=120)
    with pytest.raises(AssertionError):
        telegram.wait_for_messages(181, 4, timeout=2)
    assert replies[0].text.startswith(_answer_html(running, "forgot-password"))
    assert replies[2].text == RU.thanks_reply


def test_in_a_group_the_bot_says_once_it_works_in_private_then_stays_silent(
    running: Running,
) -> None:
    telegram = running.telegram
    telegram.add_bot_to_group(-1001, by=customer(191))
    assert telegram.wait_for_messages(-1001, 1)[0].text == RU.private_only
    telegram.send_group_text(-1001, customer(191), "забыл пароль")
    telegram.send_text(customer(192), "спасибо")  # a private message after it, as a marker
    telegram.wait_for_messages(192, 1)
    assert len(telegram.messages_to(-1001)) == 1


def test_a_flood_gets_one_polite_notice_and_every_message_is_kept(running: Running) -> None:
    telegram = running.telegram
    user = customer(201)
    for n in range(20):  # greetings: a handoff would pass the chat to a person's topic instead
        telegram.send_text(user, "привет" + "!" * n)
    telegram.wait_until(
        lambda: sum(m.text == RU.rate_limited for m in telegram.messages_to(201)) == 1
    )
    telegram.wait_until(lambda: len(_inbound(running, 201)) == 20)
    assert sum(m.text == RU.rate_limited for m in telegram.messages_to(201)) == 1


def _inbound(running: Running, user_id: int) -> list[tuple[Any, ...]]:
    return running.rows(
        "SELECT m.text, m.telegram_message_id FROM conversation_messages m JOIN customers c"
        " ON c.id = m.customer_id WHERE c.telegram_user_id = ? AND m.direction = 'in'"
        " ORDER BY m.id",
        user_id,
    )


def test_the_whole_conversation_is_stored_in_order_with_telegram_ids(running: Running) -> None:
    telegram = running.telegram
    user = customer(211)
    sent_ids = [telegram.send_text(user, text) for text in ("здравствуйте", "как удалить аккаунт")]
    replies = telegram.wait_for_messages(211, 2)

    def stored() -> list[tuple[Any, ...]]:
        return running.rows(
            "SELECT m.direction, m.telegram_message_id FROM conversation_messages m JOIN customers c"
            " ON c.id = m.customer_id WHERE c.telegram_user_id = ? ORDER BY m.id",
            211,
        )

    # The reply is stored before it is sent (the outbox); its Telegram id once it was delivered.
    telegram.wait_until(lambda: len(stored()) == 4 and all(row[1] for row in stored()))
    assert stored() == [
        ("in", sent_ids[0]),
        ("out", replies[0].message_id),
        ("in", sent_ids[1]),
        ("out", replies[1].message_id),
    ]


def test_webhook_mode_answers_and_refuses_a_wrong_secret(tmp_path: Path) -> None:
    with FakeBotApi() as telegram:
        port = free_port()
        url = f"http://127.0.0.1:{port}/hooks/telegram"
        env = firstline_environment(tmp_path / "data", telegram, port, FIRSTLINE_WEBHOOK_URL=url)
        process = start_firstline(env, port, ready=bot_ready, log=tmp_path / "firstline.log")
        try:
            assert telegram.webhook is not None and telegram.webhook["url"] == url
            assert len(telegram.webhook["secret_token"]) >= 32
            forged = httpx.post(
                url,
                json={"update_id": 1, "message": {}},
                headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
            )
            assert forged.status_code == 403
            telegram.send_text(customer(301), "i forgot my password")
            reply = telegram.wait_for_messages(301, 1)[0]
            assert reply.buttons[0] == (EN.helped_button, "vote:1")
            assert not any(method == "getUpdates" for method, _ in telegram.calls)
        finally:
            stop_firstline(process)
    assert "Traceback" not in (tmp_path / "firstline.log").read_text()
