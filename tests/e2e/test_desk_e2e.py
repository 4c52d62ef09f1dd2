"""The human line end to end: `firstline run` against a local fake Bot API with a forum group.

Customers write to the bot; agents work in the forum supergroup FIRSTLINE_AGENT_CHAT_ID, one
topic per customer, exactly as they would in Telegram: press the card's buttons, write in the
topic, use commands. Everything crosses real HTTP; the process decides with the real model.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.customers.texts import RU
from handoff.desk import card
from tests.support.desk import (
    GROUP,
    OLGA,
    PETR,
    UNCOVERED,
    desk_environment,
    hand_off,
    in_topic,
    start_desk,
    take,
    ticket_row,
    topic_name,
    topic_of,
)
from tests.support.e2e import Running, faq_file
from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import stop_firstline
from tests.support.telegram_people import MEDIA, customer

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, imported_faq: Path) -> Iterator[Running]:
    workdir = tmp_path_factory.mktemp("desk-e2e")
    with FakeBotApi() as telegram:
        env = desk_environment(workdir, telegram, imported_faq)
        process = start_desk(workdir, telegram, env)
        try:
            yield Running(
                telegram,
                int(env["FIRSTLINE_API_PORT"]),
                workdir / "data" / "firstline.sqlite3",
                faq_file(workdir)[1],
            )
        finally:
            stop_firstline(process)
        log = (workdir / "firstline.log").read_text()
        assert "Traceback" not in log, log[-3000:]


def test_an_uncovered_question_opens_a_topic_with_the_context_card(running: Running) -> None:
    user = customer(401, "Анна")
    thread, card_message = hand_off(running, user)
    assert running.telegram.wait_for_messages(401, 1)[0].text.startswith(RU.handoff_unsure)
    name = topic_name(running, thread)
    assert name.startswith("🆕 Анна · перевод в последней серии")
    assert UNCOVERED in card_message.text
    assert card.REASONS["low_confidence"] in card_message.text
    assert "candidates" in card_message.text and re.search(r"\(0\.\d\d\)", card_message.text)
    running.telegram.wait_until(lambda: (GROUP, card_message.message_id) in running.telegram.pins)
    assert [label for label, _ in card_message.buttons] == ["🙋 Take", "⚡ Priority", "✅ Close"]


def test_an_agent_takes_replies_notes_uses_templates_and_closes(running: Running) -> None:
    telegram = running.telegram
    user = customer(402, "Борис")
    running.rows(
        "INSERT INTO canned_replies (name, text, updated_at) VALUES"
        " ('hello', 'Здравствуйте, {name}! Уже смотрю.', '2026-12-01 00:00:00')"
    )
    thread, card_message = hand_off(running, user)
    customer_messages = len(telegram.wait_for_messages(402, 1))

    assert take(running, OLGA, card_message) == f"Ticket #{ticket_row(running, 402)[0]} is yours."
    joined = telegram.wait_for_messages(402, customer_messages + 1)[-1]
    assert joined.text == RU.agent_joined.format(agent="Olga")
    assert take(running, PETR, card_message) == "Ticket is @olga_support's."
    telegram.wait_until(lambda: topic_name(running, thread).startswith("🟢"))

    telegram.send_in_topic(GROUP, thread, OLGA, "Здравствуйте! Проверим перевод.")
    reply = telegram.wait_for_messages(402, customer_messages + 2)[-1]
    assert (reply.method, reply.text) == ("copyMessage", "Здравствуйте! Проверим перевод.")

    telegram.send_in_topic(GROUP, thread, OLGA, "// внутреннее: похоже, баг субтитров")
    telegram.send_in_topic(
        GROUP, thread, OLGA, "#note тоже заметка", reply_to=card_message.message_id
    )
    telegram.send_in_topic(GROUP, thread, PETR, "я бы ответил иначе")
    in_topic(running, thread, "Not sent: ticket")
    telegram.send_in_topic(GROUP, thread, OLGA, "/reply hello")
    canned = telegram.wait_for_messages(402, customer_messages + 3)[-1]
    assert canned.text == "Здравствуйте, Борис! Уже смотрю."
    telegram.send_in_topic(GROUP, thread, OLGA, "/faq forgot-password")
    faq_reply = telegram.wait_for_messages(402, customer_messages + 4)[-1]
    assert faq_reply.text.startswith("1. На экране входа")
    sent_texts = [m.text for m in telegram.messages_to(402)]
    assert not any(
        "внутреннее" in text or "заметка" in text or "иначе" in text for text in sent_texts
    )
    notes = running.rows(
        "SELECT details FROM ticket_events WHERE action = 'note' AND ticket_id = ? ORDER BY id",
        ticket_row(running, 402)[0],
    )
    assert [json.loads(details)["text"] for (details,) in notes] == [
        "// внутреннее: похоже, баг субтитров",
        "#note тоже заметка",
    ]
    echo = in_topic(running, thread, "FAQ <code>forgot-password</code> sent")
    assert "proposed to editors as a new phrasing" in echo.text
    proposals = running.rows("SELECT text, source FROM phrasing_proposals")
    assert (UNCOVERED, f"ticket:{ticket_row(running, 402)[0]}") in proposals

    telegram.wait_until(lambda: topic_name(running, thread).startswith("⏳"))  # Olga replied
    telegram.send_text(user, "спасибо, жду")  # a person handles the chat: relayed, not answered
    telegram.send_message(user, MEDIA["photo"])
    telegram.wait_until(lambda: topic_name(running, thread).startswith("🟢"))  # not ⏳ now
    in_topic(running, thread, "👤 спасибо, жду")
    in_topic(running, thread, "вот скриншот ошибки")  # the photo, copied with its caption
    assert len(telegram.messages_to(402)) == customer_messages + 4

    telegram.press_in_group(OLGA, card_message, card_message.buttons[2][1])
    rate_request = telegram.wait_for_messages(402, customer_messages + 5)[-1]
    assert rate_request.text == RU.rate_request
    assert [data for _, data in rate_request.buttons][3].endswith(":4")
    telegram.wait_until(lambda: topic_name(running, thread).startswith("✅"))
    telegram.press(user, rate_request, rate_request.buttons[3][1])
    assert telegram.wait_for_messages(402, customer_messages + 6)[-1].text == RU.rating_thanks
    in_topic(running, thread, "rated ticket")
    assert ticket_row(running, 402)[1:4] == ("closed", _agent_id(running, OLGA), 4)
    telegram.send_text(user, "всё отлично, спасибо Ольге")
    in_topic(running, thread, "Comment on the rating")
    assert running.rows(
        "SELECT rating_comment FROM tickets WHERE id = ?", ticket_row(running, 402)[0]
    ) == [("всё отлично, спасибо Ольге",)]


def _agent_id(running: Running, who: dict[str, Any]) -> int:
    return running.rows("SELECT id FROM agents WHERE telegram_user_id = ?", who["id"])[0][0]


def _close_and_rate(running: Running, user: dict[str, Any], stars: int) -> int:
    """A ticket taken by Olga, closed with /close, rated by the customer; its topic's thread."""
    telegram = running.telegram
    thread, card_message = hand_off(running, user)
    take(running, OLGA, card_message)
    telegram.send_in_topic(GROUP, thread, OLGA, "/close")
    rate_request = telegram.wait_until_found(
        lambda: [m for m in telegram.messages_to(user["id"]) if m.text == RU.rate_request]
    )[-1]
    telegram.press(user, rate_request, rate_request.buttons[stars - 1][1])
    return thread


def test_a_low_rating_alerts_the_team_and_a_reply_after_close_reopens(running: Running) -> None:
    telegram = running.telegram
    user = customer(403, "Вера")
    thread = _close_and_rate(running, user, 1)
    alert = in_topic(running, thread, "Low rating")
    assert "@olga_support" in alert.text
    before = len(telegram.messages_to(403))
    telegram.send_text(user, "всё равно плохо")  # right after the rating: its comment
    telegram.send_text(user, "когда выйдет третий сезон")  # nothing in the FAQ: back to Olga
    assert telegram.wait_for_messages(403, before + 2)[-1].text.startswith(RU.ticket_reopened)
    ticket_id, status, owner, _, _ = ticket_row(running, 403)
    assert (status, owner) == ("open", _agent_id(running, OLGA))
    assert running.rows(
        "SELECT count(*) FROM tickets t JOIN customers c ON c.id = t.customer_id"
        " WHERE c.telegram_user_id = 403"
    ) == [(1,)]
    telegram.wait_until(lambda: topic_name(running, thread).startswith("🟢"))
    assert ticket_id == ticket_row(running, 403)[0]


def test_a_customer_who_blocked_the_bot_gets_a_note_in_the_topic(running: Running) -> None:
    telegram = running.telegram
    user = customer(404, "Глеб")
    thread, card_message = hand_off(running, user)
    take(running, OLGA, card_message)
    telegram.blocked.add(404)
    telegram.send_in_topic(GROUP, thread, OLGA, "Вы ещё здесь?")
    in_topic(running, thread, "Not delivered: the customer has blocked the bot")


def test_agent_commands_with_missing_or_unknown_arguments_get_a_usage_hint(
    running: Running,
) -> None:
    telegram = running.telegram
    thread, card_message = hand_off(running, customer(405, "Дина"))
    take(running, OLGA, card_message)
    forged = ("desk:take:abc", "desk:setprio:1:whenever", "desk:", "desk:close")
    answered = len(telegram.answers_to_presses())
    for data in forged:
        telegram.press_in_group(OLGA, card_message, data)
    telegram.wait_until(lambda: len(telegram.answers_to_presses()) >= answered + len(forged))
    assert ticket_row(running, 405)[1] == "open"  # no forged press changed or closed it
    count = len(telegram.messages_to(405))
    telegram.send_in_topic(GROUP, thread, OLGA, {"sticker": MEDIA["sticker"]["sticker"]})
    sticker = telegram.wait_for_messages(405, count + 1)[-1]
    assert sticker.method == "copyMessage"
    telegram.send_in_topic(GROUP, thread, OLGA, "/reply")
    in_topic(running, thread, "Usage: /reply &lt;template&gt;")
    telegram.send_in_topic(GROUP, thread, OLGA, "/faq no-such-entry")
    in_topic(running, thread, "No published entry 'no-such-entry'")
    telegram.send_in_topic(GROUP, thread, OLGA, "/assign @nobody_here")
    in_topic(running, thread, "I don't know @nobody_here yet")
    telegram.send_in_topic(GROUP, thread, OLGA, "/frobnicate")
    in_topic(running, thread, "Unknown command")
    telegram.send_in_topic(GROUP, None, OLGA, "/reply hello")
    telegram.wait_until_found(
        lambda: [m for m in telegram.messages_to(GROUP) if m.text == card.NOT_A_TICKET_TOPIC]
    )
    telegram.send_in_topic(GROUP, thread, PETR, "привет всем")  # Petr becomes known
    in_topic(running, thread, "Not sent")
    telegram.send_in_topic(GROUP, thread, OLGA, "/assign @petr_support")
    in_topic(running, thread, "handed ticket")
    assert ticket_row(running, 405)[2] == _agent_id(running, PETR)


def test_nothing_is_lost_across_a_restart_in_the_middle_of_a_ticket(
    tmp_path: Path, imported_faq: Path
) -> None:
    with FakeBotApi() as telegram:
        env = desk_environment(tmp_path, telegram, imported_faq)
        process = start_desk(tmp_path, telegram, env)
        running = Running(telegram, 0, tmp_path / "data" / "firstline.sqlite3", {})
        user = customer(406, "Ева")
        try:
            thread, card_message = hand_off(running, user)
            take(running, OLGA, card_message)
        finally:
            stop_firstline(process)
        words = ["первое после перезапуска", "второе", "третье"]
        for text in words:
            telegram.send_text(user, text)
        process = start_desk(tmp_path, telegram, env)

        def relayed() -> list[str]:
            topic = telegram.messages_in_topic(GROUP, thread)
            return [m.text for m in topic if m.text.startswith("👤")]

        try:
            telegram.wait_until(lambda: len(relayed()) >= len(words))
        finally:
            stop_firstline(process)
    assert relayed() == [f"👤 {text}" for text in words]


def test_edits_and_messages_before_a_take_reach_the_other_side(running: Running) -> None:
    telegram = running.telegram
    user = customer(407, "Жанна")
    thread, card_message = hand_off(running, user)
    early = telegram.send_text(user, "номер заказа 12345")  # nobody has taken the ticket yet
    in_topic(running, thread, "👤 номер заказа 12345")
    telegram.edit_text(user, early, "номер заказа 12346")
    in_topic(running, thread, "✏️ номер заказа 12346")
    longest = ("<b>*x* & [a](b) " + "слово " * 800)[:4096]  # Telegram's longest, with markup
    before = len(telegram.messages_in_topic(GROUP, thread))
    telegram.send_text(user, longest)
    telegram.wait_until(lambda: len(telegram.messages_in_topic(GROUP, thread)) >= before + 2)
    relayed = telegram.messages_in_topic(GROUP, thread)[before:]
    assert relayed[0].text.startswith("👤 &lt;b&gt;*x* &amp; [a](b) слово")
    words = " ".join(html.unescape(m.text.removeprefix("👤 ")) for m in relayed).split()
    assert words == longest.split()
    take(running, OLGA, card_message)
    sent = telegram.send_in_topic(GROUP, thread, OLGA, "Смотрю заказ 12364")
    [copy] = telegram.wait_until_found(
        lambda: [m for m in telegram.messages_to(407) if m.text == "Смотрю заказ 12364"]
    )
    telegram.edit_in_topic(GROUP, thread, OLGA, sent, "Смотрю заказ 12346")
    edit = telegram.wait_until_found(
        lambda: [e for e in telegram.edits if e.method == "editMessageText" and e.chat_id == 407]
    )[-1]
    assert (edit.message_id, edit.text) == (copy.message_id, "Смотрю заказ 12346")

    def stored() -> list[tuple[Any, ...]]:
        return running.rows(
            "SELECT text FROM conversation_messages"
            " WHERE telegram_message_id = ? AND agent_id IS NOT NULL",
            copy.message_id,
        )

    telegram.wait_until(lambda: stored() == [("Смотрю заказ 12346",)])


def test_a_later_ticket_reuses_the_topic_and_shows_the_earlier_rating(running: Running) -> None:
    telegram = running.telegram
    user = customer(408, "Зоя")
    thread = _close_and_rate(running, user, 5)
    in_topic(running, thread, "rated ticket")
    first_id = ticket_row(running, 408)[0]
    running.rows(  # two days later: past the reopen window and the rating's comment
        "UPDATE tickets SET resolved_at = datetime('now', '-2 days'),"
        " rated_at = datetime('now', '-2 days') WHERE id = ?",
        first_id,
    )
    telegram.send_text(user, "когда выйдет третий сезон")
    second = in_topic(running, thread, f"<b>Ticket #{first_id + 1}</b>")
    assert f"Earlier tickets: 1 — #{first_id} ★5" in second.text
    assert topic_of(running, 408) == thread
    telegram.wait_until(lambda: topic_name(running, thread).startswith("🆕 Зоя · когда выйдет"))

    telegram.press_in_group(OLGA, second, second.buttons[1][1])
    menu = telegram.wait_until_found(
        lambda: [e for e in telegram.edits if e.message_id == second.message_id]
    )[-1]
    urgent = next(data for label, data in menu.buttons if data.endswith(":urgent"))
    telegram.press_in_group(OLGA, second, urgent)
    telegram.wait_until(lambda: topic_name(running, thread).startswith("🆕🔥"))
    assert ticket_row(running, 408)[4] == "urgent"


def test_how_long_while_open_gets_the_place_in_the_queue_and_the_wait(running: Running) -> None:
    telegram = running.telegram
    user = customer(409, "Вика")
    hand_off(running, user)
    handoff = telegram.wait_for_messages(409, 1)[0].text
    assert re.search(r"Место в очереди: \d+\. Ожидаемое время ответа: \S", handoff)
    telegram.send_text(user, "скоро ответите?")
    status = telegram.wait_for_messages(409, 2)[1].text
    assert re.fullmatch(r"Место в очереди: \d+\. Ожидаемое время ответа: .+\.", status)
