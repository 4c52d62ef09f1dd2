"""The admin API in-process over HTTP (httpx's ASGI transport), on a real database and index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from admin_api.app import create_app
from admin_api.tokens import Role, issue_token
from core.database import transaction
from core.settings import DecisionThresholds, Settings
from firstline.assembly import open_services
from handoff.services import Services
from knowledge_base.formats import FaqEntryData
from retrieval.sync import import_and_index
from tests.support.fakes import KeywordEmbedder

FAQ = [
    FaqEntryData(key="password", question="Забыл пароль", answer="Нажмите «Забыли пароль?»."),
    FaqEntryData(key="refund", question="Вернуть деньги за подписку", answer="Напишите «возврат»."),
]
TOPICS = ["пароль", "деньг", "вернуть", "подписк", "доставк"]


@dataclass
class ApiHarness:
    services: Services
    client: httpx.AsyncClient
    tokens: dict[Role, str]

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def answer(self, text: str) -> dict[str, object]:
        response = await self.client.post(
            "/api/v1/answer", json={"text": text}, headers=self.auth(Role.AGENT)
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


@asynccontextmanager
async def api_harness(
    settings: Settings, database_url: str, *, self_calibrated: bool = False
) -> AsyncIterator[ApiHarness]:
    """The API on the test FAQ, with fixed thresholds (or, ``self_calibrated``, those the engine
    fits to the FAQ itself)."""
    fixed = DecisionThresholds(answer_min=0.9, answer_margin=0.1, clarify_min=0.7)
    settings = settings.model_copy(
        update={"database_url": database_url} | ({} if self_calibrated else {"decision": fixed})
    )
    services = await open_services(settings, embedder=KeywordEmbedder(TOPICS))
    await import_and_index(services.sessions, services.decisions, FAQ, author="test")
    tokens: dict[Role, str] = {}
    async with transaction(services.sessions) as session:
        for role in Role:
            tokens[role] = (await issue_token(session, name=f"{role}-ann", role=role)).secret
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield ApiHarness(services, client, tokens)
    finally:
        await services.close()
