"""Requests for a person, small talk and "not what I asked" in ru/uk/en; language detection."""

from __future__ import annotations

import pytest

from knowledge_base.language import detect_language
from retrieval.intents import Conversational, asks_for_human, conversational_intent, says_not_helped

HUMAN_REQUESTS = [
    "оператор",
    "Оператора!",
    "позовите живого человека",
    "хочу поговорить с менеджером",
    "соедините со специалистом, бот не помогает",
    "дайте поддержку живую",
    "можно с человеком пообщаться?",
    "переключите на сотрудника",
    "нужен живой оператор срочно",
    "ваш бот не помогает",
    "з людиною з'єднайте",
    "можна оператора?",
    "покличте менеджера",
    "хочу поговорити з людиною",
    "потрібен живий консультант",
    "agent please",
    "talk to a real person",
    "human!!",
    "can I speak with someone from support",
    "connect me to an agent",
    "I want a live person",
    "representative",
    # one slipped letter in the word the request hinges on
    "аператора позавите срочно",
    "хочу с менеджерм поговорить",
    "з'єднайте з оператрром",
    "i want to speak to an operater",
    "humna please",
    "переключите к оператору",
    "дайте оператора, бот не допомагає",
    "speek to a persn",
]
NOT_HUMAN_REQUESTS = [
    "как поменять пароль",
    "як скасувати підписку",
    "how do I change my agent settings",
    "персональные данные",
    "where is my order",
    "сколько стоит подписка для человека с инвалидностью",
    "agenda for the meeting",
    "как сменить оператора связи на ваш",
    "перейти к вам от другого оператора с номером",
    "зараз в іншого оператора, можна до вас перейти?",
    "есть какой то кредит от оператора?",
    "can I keep my number when I move to another operator",
]


@pytest.mark.parametrize("text", HUMAN_REQUESTS)
def test_requests_for_a_person_are_recognised(text: str) -> None:
    assert asks_for_human(text)


@pytest.mark.parametrize("text", NOT_HUMAN_REQUESTS)
def test_ordinary_questions_are_not_requests_for_a_person(text: str) -> None:
    assert not asks_for_human(text)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Привет!", Conversational.GREETING),
        ("Добрый день", Conversational.GREETING),
        ("доброго ранку", Conversational.GREETING),
        ("hello there", Conversational.GREETING),
        ("спасибо большое!!", Conversational.THANKS),
        ("дякую", Conversational.THANKS),
        ("thanks a lot 🙏", Conversational.THANKS),
        ("thank you so much", Conversational.THANKS),
        ("ок, понятно", Conversational.SMALLTALK),
        ("как дела?", Conversational.SMALLTALK),
        ("are you a bot?", Conversational.SMALLTALK),
        ("бувай", Conversational.SMALLTALK),
    ],
)
def test_small_talk_is_recognised(text: str, intent: Conversational) -> None:
    assert conversational_intent(text) is intent


@pytest.mark.parametrize(
    "text",
    [
        "привет, как отменить подписку?",
        "thanks, but where is my refund",
        "ok so how do I pay",
        "🙂",
    ],
)
def test_a_message_with_a_question_is_not_small_talk(text: str) -> None:
    assert conversational_intent(text) is None


@pytest.mark.parametrize(
    "text",
    ["не то", "это не то, что я спрашивал", "це не те", "that's not what I asked", "не помогло"],
)
def test_complaints_about_the_answer_are_recognised(text: str) -> None:
    assert says_not_helped(text)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Как отменить подписку?", "ru"),
        ("не могу войти в аккаунт", "ru"),
        ("Як скасувати підписку?", "uk"),
        ("коли відповідь", "uk"),
        ("добрий день, де моє замовлення", "uk"),
        ("How do I cancel?", "en"),
        ("мой email не приходит", "ru"),
        ("12345 !!!", None),
        ("", None),
    ],
)
def test_language_detection(text: str, language: str | None) -> None:
    assert detect_language(text) == language
