"""Learning from customers' choices, end to end over Telegram: `firstline run` with the real
model against the local fake Bot API, and an editor over the admin API's HTTP.

A customer picks an entry from "did you mean…" → their question is proposed as its phrasing in
GET /api/v1/gaps/proposals → an editor accepts it → another customer asking the same is answered
outright. A 👎 after a pick withdraws it. A question far from every entry gets the plain
"outside what I can help with" reply with the way to a person, not options.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.customers.texts import EN, RU
from bot.formatting import render
from tests.support.e2e import Running, running_firstline
from tests.support.processes import create_token
from tests.support.telegram_people import SentMessage, customer

pytestmark = pytest.mark.model

QUESTION = "почему два платежа за один месяц??"


@dataclass
class Learning:
    running: Running
    editor: dict[str, str]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.running.port}/api/v1"

    def proposals(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.api}/gaps/proposals", headers=self.editor, timeout=30)
        response.raise_for_status()
        return list(response.json())


@pytest.fixture(scope="module")
def learning(tmp_path_factory: pytest.TempPathFactory, imported_faq: Path) -> Iterator[Learning]:
    workdir = tmp_path_factory.mktemp("learning-e2e")
    with running_firstline(workdir, imported_faq) as (running, env):
        token = create_token(env, "editor", "Edith")
        yield Learning(running, {"Authorization": f"Bearer {token}"})


def _pick(learning: Learning, user_id: int, question: str, label: str) -> SentMessage:
    """The customer asks, is offered options, and picks the one labelled ``label``."""
    telegram = learning.running.telegram
    user = customer(user_id)
    telegram.send_text(user, question)
    offer = telegram.wait_for_messages(user_id, 1)[0]
    assert offer.text == RU.did_you_mean, offer.text
    data = next(data for text, data in offer.buttons if text == label)
    telegram.press(user, offer, data)
    return telegram.wait_for_messages(user_id, 2)[1]


def test_a_customers_pick_accepted_by_an_editor_answers_the_next_customer_outright(
    learning: Learning,
) -> None:
    running = learning.running
    answer = _pick(learning, 601, QUESTION, "Деньги списали дважды")
    assert answer.text.startswith(render(running.faq["double-charge"]["answer"]))
    proposed = [p for p in learning.proposals() if p["text"] == QUESTION]
    assert [(p["faq_key"], p["source"], p["language"]) for p in proposed] == [
        ("double-charge", "customer choice", "ru")
    ]
    accepted = httpx.post(
        f"{learning.api}/gaps/proposals/{proposed[0]['proposal_id']}",
        json={"accept": True},
        headers=learning.editor,
        timeout=30,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["entry_changed"] is True
    assert QUESTION not in {p["text"] for p in learning.proposals()}

    running.telegram.send_text(customer(602), QUESTION)
    reply = running.telegram.wait_for_messages(602, 1)[0]
    assert reply.text.startswith(render(running.faq["double-charge"]["answer"]))
    decided = running.rows(
        "SELECT m.outcome, m.reason FROM conversation_messages m JOIN customers c"
        " ON c.id = m.customer_id WHERE c.telegram_user_id = ? AND m.direction = 'in'",
        602,
    )
    assert decided == [("answer", "confident")]


def test_a_thumbs_down_after_a_pick_withdraws_its_proposal(learning: Learning) -> None:
    telegram = learning.running.telegram
    question = "код не подходит"
    answer = _pick(learning, 611, question, "Как ввести промокод?")
    assert question in {p["text"] for p in learning.proposals()}
    telegram.press(customer(611), answer, "vote:0")
    telegram.wait_for_messages(611, 3)
    assert question not in {p["text"] for p in learning.proposals()}


@pytest.mark.parametrize(
    ("user_id", "text", "texts"),
    [(621, "какая погода в Киеве?", RU), (622, "tell me a joke", EN)],
)
def test_a_question_far_from_every_entry_gets_a_plain_reply_and_the_way_to_a_person(
    learning: Learning, user_id: int, text: str, texts: Any
) -> None:
    telegram = learning.running.telegram
    telegram.send_text(customer(user_id, language_code=None), text)
    reply = telegram.wait_for_messages(user_id, 1)[0]
    assert reply.text.startswith(texts.off_topic.split("{topics}")[0])
    assert reply.text.count("«") >= 3 + 1  # three examples and the button's name
    assert reply.buttons == [(texts.talk_button, "human")]
