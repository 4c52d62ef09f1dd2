"""One entry, several languages, end to end: `firstline run` with the real model over the fake
Bot API. An editor adds translations over the admin API; customers get the answer in their
language, or the main language's with one line saying so, and the analytics count those."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import buttons
from bot.customers.texts import EN, RU, UK
from bot.formatting import render
from tests.fake_bot_api import FakeBotApi, customer
from tests.test_desk_e2e import desk_with_admin

pytestmark = pytest.mark.model

UK_REFUND = {
    "question": "Як повернути гроші за підписку?",
    "alt_questions": ["Хочу повернення коштів"],
    "answer": "1. Напишіть «повернення» в цей чат і вкажіть дату списання.\n"
    "2. Гроші повернуться на картку за 3–10 робочих днів.",
}
EN_REFUND = {
    "question": "How do I get a refund?",
    "alt_questions": ["I want my money back"],
    "answer": "1. Write “refund” in this chat with the date of the charge.\n"
    "2. The money is back on your card in 3–10 working days.",
}


@dataclass
class Deployment:
    telegram: FakeBotApi
    url: str
    admin: dict[str, str]

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self.admin | kwargs.pop("headers", {})
        return httpx.request(
            method, f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kwargs
        )

    def translate(self, key: str, language: str, translation: dict[str, Any]) -> None:
        etag = self.call("GET", f"/faq/{key}").headers["ETag"]
        written = self.call(
            "PUT",
            f"/faq/{key}/translations/{language}",
            headers={"If-Match": etag},
            json=translation,
        )
        assert written.status_code == 200, written.text

    def ask(self, user: dict[str, Any], text: str, replies_before: int = 0) -> str:
        self.telegram.send_text(user, text)
        return self.telegram.wait_for_messages(user["id"], replies_before + 1)[-1].text


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, imported_faq: Path
) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("translations-e2e")
    with desk_with_admin(workdir, imported_faq) as (running, url, admin):
        yield Deployment(running.telegram, url, {"Authorization": f"Bearer {admin}"})


def _main_answer(deployment: Deployment, key: str) -> str:
    return str(deployment.call("GET", f"/faq/{key}").json()["answer"])


def test_each_customer_gets_the_answer_in_their_language_or_a_note(deployment: Deployment) -> None:
    deployment.translate("refund", "uk", UK_REFUND)
    russian_answer = render(_main_answer(deployment, "refund"))

    ukrainian = deployment.ask(customer(901, "Оксана", "uk"), "Як повернути гроші за підписку?")
    assert render(UK_REFUND["answer"]) in ukrainian
    assert russian_answer not in ukrainian
    assert UK.anything_else in ukrainian

    russian = deployment.ask(customer(902, "Ольга", "ru"), "Как вернуть деньги за подписку?")
    assert russian_answer in russian and RU.anything_else in russian

    english = deployment.ask(customer(903, "Anne", "en"), "How do I get a refund?")
    note = EN.not_translated.format(language=EN.in_language["ru"])
    assert english.startswith(f"<i>{note}</i>")  # one line, before the answer
    assert russian_answer in english and EN.anything_else in english

    # The customer picks English; the editor adds the English translation: the answer follows.
    chooser = customer(904, "Taras", "uk")
    deployment.telegram.send_command(chooser, "/language")
    menu = deployment.telegram.wait_for_messages(904, 1)[-1]
    deployment.telegram.press(chooser, menu, buttons.language("en"))
    deployment.telegram.wait_for_messages(904, 2)
    deployment.translate("refund", "en", EN_REFUND)
    chosen = deployment.ask(chooser, "Як повернути гроші за підписку?", replies_before=2)
    assert render(EN_REFUND["answer"]) in chosen and note not in chosen

    report = deployment.call("GET", "/translations").json()
    refund = next(entry for entry in report["entries"] if entry["faq_key"] == "refund")
    assert refund["other_language"] == {"en": 1}
    assert refund["by_language"] == {"uk": 1, "ru": 1, "en": 2}
    assert refund["translated"] == ["en", "uk"] and refund["missing"] == []
    assert report["entries"][0]["faq_key"] == "refund"  # the editors' first to-do


def test_the_api_answers_in_the_conversations_language(deployment: Deployment) -> None:
    deployment.translate(
        "change-plan",
        "uk",
        {"question": "Як змінити тариф?", "answer": "Тариф змінюється в *Профілі*."},
    )
    asked = {"text": "Как сменить тариф?"}
    in_ukrainian = deployment.call("POST", "/answer", json=asked | {"language": "uk"}).json()
    assert in_ukrainian["faq_key"] == "change-plan"
    assert in_ukrainian["answer"] == "Тариф змінюється в *Профілі*."
    assert in_ukrainian["answer_language"] == "uk"
    in_english = deployment.call("POST", "/answer", json=asked | {"language": "en"}).json()
    assert in_english["answer_language"] == "ru"
    assert in_english["answer"] == _main_answer(deployment, "change-plan")
