"""The admin API and the bot in one real `firstline run` process, over the fake Bot API: an
editor's edit reaches customers at once; an agent works a ticket over HTTP under the desk's rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.customers.texts import RU
from tests.support.desk import GROUP, OLGA, desk_with_admin, hand_off, in_topic, ticket_row
from tests.support.e2e import Running
from tests.support.telegram_people import customer

pytestmark = pytest.mark.model


@dataclass
class RunningWithApi:
    running: Running
    url: str
    admin: dict[str, str]

    def call(
        self, method: str, path: str, headers: dict[str, str], **kwargs: object
    ) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kwargs
        )  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, imported_faq: Path) -> Iterator[RunningWithApi]:
    workdir = tmp_path_factory.mktemp("api-e2e")
    with desk_with_admin(workdir, imported_faq) as (running, url, admin):
        yield RunningWithApi(running, url, _bearer(admin))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_edit_through_the_api_is_answered_by_the_bot_within_a_second(
    api: RunningWithApi,
) -> None:
    telegram = api.running.telegram
    read = api.call("GET", "/faq/cancel-subscription", api.admin)
    entry = read.json()
    content = {k: entry[k] for k in ("question", "alt_questions", "tags", "language", "status")}
    new_answer = "Отмена теперь в два шага: «Профиль» → «Отменить подписку»."
    edited = api.call(
        "PUT",
        "/faq/cancel-subscription",
        api.admin | {"If-Match": read.headers["ETag"]},
        json=content | {"answer": new_answer},
    )
    assert edited.status_code == 200, edited.text
    edit_done = time.perf_counter()
    user = customer(701, "Ира")
    telegram.send_text(user, entry["question"])
    reply = telegram.wait_for_messages(701, 1)[0]
    assert "Отмена теперь в два шага" in reply.text
    assert reply.received_at - edit_done < 1.0, f"{reply.received_at - edit_done:.2f} s"


def test_an_agent_works_a_ticket_over_the_api_under_the_desks_rules(api: RunningWithApi) -> None:
    telegram = api.running.telegram
    user = customer(702, "Олег")
    thread, _ = hand_off(api.running, user)
    telegram.wait_for_messages(702, 1)
    ticket_id = ticket_row(api.running, 702)[0]
    issued = api.call("POST", "/tokens", api.admin, json={"name": "Vera", "role": "agent"})
    vera = _bearer(issued.json()["token"])

    detail = api.call("GET", f"/tickets/{ticket_id}", vera).json()
    assert detail["conversation"][0]["text"] == "перевод в последней серии ужасный"
    replied = api.call(
        "POST", f"/tickets/{ticket_id}/reply", vera, json={"text": "Исправим <b>завтра</b>!"}
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["assignee_id"] is not None
    to_customer = telegram.wait_for_messages(702, 3)
    assert any("Исправим &lt;b&gt;завтра&lt;/b&gt;!" in m.text for m in to_customer)
    assert "Vera" in in_topic(api.running, thread, "(admin API)").text

    telegram.send_in_topic(GROUP, thread, OLGA, "Я тоже отвечу")
    assert "Only the owner" in in_topic(api.running, thread, "Not sent").text

    sent_before = len(telegram.messages_to(702))
    noted = api.call(
        "POST", f"/tickets/{ticket_id}/notes", vera, json={"text": "проверить субтитры"}
    )
    assert noted.status_code == 201
    assert "проверить субтитры" in in_topic(api.running, thread, "📝 Note by Vera").text
    closed = api.call("POST", f"/tickets/{ticket_id}/close", vera)
    assert closed.json()["status"] == "closed"
    rating = telegram.wait_for_messages(702, sent_before + 1)[-1]
    assert rating.text == RU.rate_request
    assert len(telegram.messages_to(702)) == sent_before + 1  # the note never reached them
