"""The webhook's intake over HTTP, through the whole admin app: a Telegram update is stored before
the 200, once however often it comes, whatever the customer typed; what is not an update is
refused clearly, and a stranger without the secret gets nothing stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from admin_api.app import create_app
from bot.application import BotRunner
from core.queues import InboxUpdate
from core.settings import Settings
from firstline.assembly import open_services
from handoff.services import Services
from tests.support.fakes import KeywordEmbedder

SECRET = "the-webhook-secret-0123456789-abcdef"
PATH = "/hooks/telegram"


@pytest.fixture
async def webhook(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    settings = settings.model_copy(
        update={
            "telegram_token": SecretStr("123:abc"),
            "webhook_url": f"https://support.example.com{PATH}",
            "webhook_secret": SecretStr(SECRET),
        }
    )
    services = await open_services(settings, embedder=KeywordEmbedder(["пароль"]))
    app = create_app(services)
    app.include_router(BotRunner(services).webhook_router())  # as `firstline run` does
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        yield client, services
    await services.close()


def _update(update_id: int, text: str) -> dict[str, Any]:
    chat = {"id": 42, "type": "private", "first_name": "Ann"}
    message = {"message_id": 1, "date": 0, "chat": chat, "from": {**chat, "is_bot": False}}
    return {"update_id": update_id, "message": {**message, "text": text}}


async def _stored(services: Services) -> list[tuple[int, str]]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.payload).order_by(InboxUpdate.id)
        )
    return [(update_id, json.loads(payload)["message"]["text"]) for update_id, payload in rows]


async def test_any_text_a_customer_types_is_stored_once_before_the_200(
    webhook: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = webhook
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    odd = ["\u0000 nul", "😀" * 2000, "<b>&amp;</b> ' OR 1=1 --", "", "x" * 4096]
    for number, text in enumerate(odd, start=1):
        sent = await client.post(PATH, json=_update(number, text), headers=headers)
        assert sent.status_code == 200, (text[:20], sent.text)
    again = await client.post(PATH, json=_update(1, odd[0]), headers=headers)  # Telegram re-sends
    assert again.status_code == 200
    assert await _stored(services) == list(enumerate(odd, start=1))


@pytest.mark.parametrize(
    "body",
    [b"", b"\xff\xfe binary", b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}'],
    ids=["empty", "binary", "malformed", "a list", "no update id", "a string id"],
)
async def test_what_is_not_an_update_gets_a_clear_400_and_nothing_is_stored(
    webhook: tuple[httpx.AsyncClient, Services], body: bytes
) -> None:
    client, services = webhook
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    refused = await client.post(PATH, content=body, headers=headers)
    assert refused.status_code == 400
    assert "not a Telegram update" in refused.json()["error"]
    assert await _stored(services) == []


async def test_without_the_secret_nothing_is_stored_and_a_huge_body_is_refused(
    webhook: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = webhook
    forged = await client.post(
        PATH, json=_update(1, "hi"), headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
    )
    assert forged.status_code == 403
    huge = await client.post(
        PATH,
        content=b"x" * (2 * 1024 * 1024),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert huge.status_code == 413
    assert await _stored(services) == []
