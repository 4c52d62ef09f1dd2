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
from tests.support.desk import desk_with_admin
from tests.support.fake_bot_api import FakeBotApi
from tests.support.telegram_people import customer

pytestmark = pytest.mark.model

# An entry the demo FAQ has in Russian only.
UK_DELETE: dict[str, Any] = {
    "question": "Як видалити акаунт?",
    "alt_questions": ["Хочу видалити профіль назавжди"],
    "answer": "1. Скасуйте підписку.\n2. Відкрийте *Профіль → Особисті дані → Видалити акаунт*.",
}
EN_DELETE: dict[str, Any] = {
    "question": "How do I delete my account?",
    "alt_questions": ["Delete my data"],
    "answer": "1. Cancel the subscription.\n2. Open *Profile → Personal data → Delete account*.",
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
    deployment.translate("delete-account", "uk", UK_DELETE)
    russian_answer = render(_main_answer(deployment, "delete-account"))

    ukrainian = deployment.ask(customer(901, "Оксана", "uk"), "Як видалити акаунт?")
    assert render(UK_DELETE["answer"]) in ukrainian
    assert russian_answer not in ukrainian
    assert UK.anything_else in ukrainian

    russian = deployment.ask(customer(902, "Ольга", "ru"), "Как удалить аккаунт?")
    assert russian_answer in russian and RU.anything_else in russian

    english = deployment.ask(customer(903, "Anne", "en"), "How do I delete my account?")
    note = EN.not_translated.format(language=EN.in_language["ru"])
    assert english.startswith(f"<i>{note}</i>")  # one line, before the answer
    assert russian_answer in english and EN.anything_else in english

    # The customer picks English; the editor adds the English translation: the answer follows.
    chooser = customer(904, "Taras", "uk")
    deployment.telegram.send_command(chooser, "/language")
    menu = deployment.telegram.wait_for_messages(904, 1)[-1]
    deployment.telegram.press(chooser, menu, buttons.language("en"))
    deployment.telegram.wait_for_messages(904, 2)
    deployment.translate("delete-account", "en", EN_DELETE)
    chosen = deployment.ask(chooser, "Як видалити акаунт?", replies_before=2)
    assert render(EN_DELETE["answer"]) in chosen and note not in chosen

    report = deployment.call("GET", "/translations").json()
    entry = next(item for item in report["entries"] if item["faq_key"] == "delete-account")
    assert entry["other_language"] == {"en": 1}
    assert entry["by_language"] == {"uk": 1, "ru": 1, "en": 2}
    assert entry["translated"] == ["en", "uk"] and entry["missing"] == []
    assert report["entries"][0]["faq_key"] == "delete-account"  # the editors' first to-do


def test_the_api_answers_in_the_conversations_language(deployment: Deployment) -> None:
    deployment.translate(
        "watch-history",
        "uk",
        {"question": "Як очистити історію переглядів?", "answer": "Історія — у *Профілі*."},
    )
    asked = {"text": "Как очистить историю просмотров?"}
    in_ukrainian = deployment.call("POST", "/answer", json=asked | {"language": "uk"}).json()
    assert in_ukrainian["faq_key"] == "watch-history"
    assert in_ukrainian["answer"] == "Історія — у *Профілі*."
    assert in_ukrainian["answer_language"] == "uk"
    in_english = deployment.call("POST", "/answer", json=asked | {"language": "en"}).json()
    assert in_english["answer_language"] == "ru"
    assert in_english["answer"] == _main_answer(deployment, "watch-history")
