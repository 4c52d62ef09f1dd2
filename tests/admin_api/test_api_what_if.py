"""An editor asks what publishing an edit would change, over HTTP: the customers' recent
questions decided on the live FAQ and on the FAQ with the edit, and nothing saved."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from admin_api.tokens import Role
from core.database import transaction
from core.settings import Settings
from handoff.conversations import CustomerProfile, record_message, register_customer
from handoff.models import Direction, MessageKind
from tests.support.api_harness import ApiHarness, api_harness

DELIVERY = {"question": "Где моя доставка?", "answer": "Посылка едет 3 дня.", "language": "ru"}


@pytest.fixture
async def api(settings: Settings, database_url: str) -> AsyncIterator[ApiHarness]:
    async with api_harness(settings, database_url) as harness:
        yield harness


async def _customers_asked(api: ApiHarness, *texts: str) -> None:
    """Each text asked by its own customer and decided by the live bot, as the bot keeps it."""
    for number, text in enumerate(texts, start=1):
        decision = await api.services.decisions.decide(text)
        async with transaction(api.services.sessions) as session:
            customer = await register_customer(session, CustomerProfile(number, number, "Ann"))
            question = record_message(
                session, customer, Direction.INBOUND, MessageKind.TEXT, text=text
            )
            question.outcome, question.reason = decision.decision.value, decision.reason.value
            question.faq_key = decision.faq_key


async def _what_if(api: ApiHarness, key: str, body: dict[str, object], role: Role = Role.EDITOR):
    return await api.client.post(f"/api/v1/faq/{key}/what-if", json=body, headers=api.auth(role))


async def test_a_new_entry_shows_which_customers_questions_it_would_answer(
    api: ApiHarness,
) -> None:
    await _customers_asked(api, "где доставка заказа", "забыл пароль", "где доставка заказа")
    response = await _what_if(api, "delivery", {"entry": DELIVERY, "text": "доставка когда?"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["replayed"] == 2  # distinct questions
    assert body["before"] | {"clarified": 1} == {  # nothing fits: the off-topic reply
        "answered": 1,
        "clarified": 1,
        "handed_off": 0,
        "answered_with_entry": 0,
    }
    assert (body["after"]["answered"], body["after"]["answered_with_entry"]) == (2, 1)
    assert body["changed"] == 1
    [change] = body["changes"]
    assert change["text"] == "где доставка заказа"
    assert change["before"]["faq_key"] is None
    assert (change["after"]["decision"], change["after"]["faq_key"]) == ("answer", "delivery")
    assert body["text_before"]["faq_key"] is None
    assert body["text_after"]["faq_key"] == "delivery"
    # Nothing was saved and the live bot decides as before.
    missing = await api.client.get("/api/v1/faq/delivery", headers=api.auth(Role.EDITOR))
    assert missing.status_code == 404
    assert (await api.answer("где доставка заказа"))["faq_key"] is None


async def test_an_edit_that_loses_a_question_shows_it(api: ApiHarness) -> None:
    await _customers_asked(api, "забыл пароль")
    edited = {"question": "Вернуть деньги за доставку", "answer": "Пишите в чат.", "language": "ru"}
    body = (await _what_if(api, "password", {"entry": edited})).json()
    assert body["before"]["answered_with_entry"] == 1
    assert body["after"]["answered_with_entry"] == 0
    assert [change["text"] for change in body["changes"]] == ["забыл пароль"]
    assert body["text_before"] is None and body["text_after"] is None
    assert (await api.answer("забыл пароль"))["faq_key"] == "password"


async def test_with_no_history_the_replay_is_empty_and_the_question_still_decided(
    api: ApiHarness,
) -> None:
    body = (await _what_if(api, "delivery", {"entry": DELIVERY, "text": "где доставка"})).json()
    assert body["replayed"] == 0 and body["changed"] == 0 and body["changes"] == []
    assert body["text_after"]["faq_key"] == "delivery"


@pytest.mark.parametrize(
    ("role", "body", "status", "says"),
    [
        (Role.AGENT, {"entry": DELIVERY}, 403, "editor"),
        (Role.EDITOR, {"entry": {**DELIVERY, "question": ""}}, 422, "question"),
        (Role.EDITOR, {"entry": {**DELIVERY, "language": "de"}}, 422, "language"),
        (Role.EDITOR, {"text": "где доставка"}, 422, "entry"),
        (Role.EDITOR, {"entry": DELIVERY, "text": "я" * 100_001}, 422, "text"),
        (Role.EDITOR, {"entry": {**DELIVERY, "answer": "a\x00b"}}, 400, "NUL"),
    ],
    ids=[
        "an agent",
        "an empty question",
        "a language the FAQ does not keep",
        "no entry",
        "a huge question",
        "a NUL in the answer",
    ],
)
async def test_a_request_it_cannot_answer_gets_a_clear_error(
    api: ApiHarness, role: Role, body: dict[str, object], status: int, says: str
) -> None:
    response = await _what_if(api, "delivery", body, role)
    assert response.status_code == status, response.text
    assert says in response.text


async def test_malformed_json_is_refused_politely(api: ApiHarness) -> None:
    response = await api.client.post(
        "/api/v1/faq/delivery/what-if",
        content=b"{not json",
        headers=api.auth(Role.EDITOR) | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]
