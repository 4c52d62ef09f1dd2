"""Two replicas on one database (PostgreSQL, and one SQLite file): each replica's index follows
FAQ edits made through the other (or by another process) within about a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from core.database import transaction
from core.settings import DecisionThresholds, Settings
from firstline.assembly import open_services
from handoff.services import Services
from knowledge_base.formats import FaqEntryData
from knowledge_base.repository import change_entry, create_entry, get_entry, set_deleted
from retrieval.embedder import Vectors
from retrieval.sync import import_and_index, refresh_index
from tests.support.fakes import KeywordEmbedder

TOPICS = ["пароль", "деньг", "вернуть", "подписк", "доставк", "курьер"]
FAQ = [
    FaqEntryData(key="password", question="Забыл пароль", answer="Нажмите «Забыли пароль?»."),
    FaqEntryData(key="refund", question="Вернуть деньги за подписку", answer="Напишите «возврат»."),
]
DELIVERY = FaqEntryData(key="delivery", question="Сколько идёт доставка", answer="1–3 дня.")
# The follower looks every second; the edit is applied within that plus the time to embed it.
FOLLOW_BOUND = 2.5


class CountingEmbedder(KeywordEmbedder):
    """Remembers every text it embedded: the follower must re-embed only what changed."""

    def __init__(self, topics: Sequence[str]) -> None:
        super().__init__(topics)
        self.texts: list[str] = []

    def encode(
        self,
        texts: Sequence[str],
        *,
        passages: bool = False,
        languages: Sequence[str | None] | None = None,
    ) -> Vectors:
        self.texts.extend(texts)
        return super().encode(texts, passages=passages, languages=languages)


@pytest.fixture
async def two_replicas(
    settings: Settings, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Services, Services]]:
    """Two running processes' services on one database, each with its own data directory."""
    opened: list[Services] = []
    for name in ("a", "b"):
        replica = settings.model_copy(
            update={
                "database_url": database_url,
                "data_dir": tmp_path / name,
                "decision": DecisionThresholds(answer_min=0.9, answer_margin=0.1, clarify_min=0.7),
            }
        )
        opened.append(await open_services(replica, embedder=CountingEmbedder(TOPICS)))
        if name == "a":
            await import_and_index(opened[0].sessions, opened[0].decisions, FAQ, author="test")
    try:
        yield opened[0], opened[1]
    finally:
        for services in opened:
            await services.close()


async def _answered_with(services: Services, text: str) -> str | None:
    return (await services.decisions.decide(text, "ru")).faq_key


async def _seconds_until(check: Callable[[], Awaitable[bool]]) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < FOLLOW_BOUND, "the other replica did not follow"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_an_entry_created_through_one_replica_is_answered_by_the_other(
    two_replicas: tuple[Services, Services],
) -> None:
    a, b = two_replicas
    assert await _answered_with(b, "сколько идёт доставка") is None
    assert isinstance(b.answers.embedder, CountingEmbedder)
    embedded_before = len(b.answers.embedder.texts)
    async with transaction(a.sessions) as session:
        entry = await create_entry(session, DELIVERY, author="editor")
    await refresh_index(a.decisions, [entry])
    assert await _answered_with(a, "сколько идёт доставка") == "delivery"  # at once where made

    async def b_answers() -> bool:
        return await _answered_with(b, "сколько идёт доставка") == "delivery"

    await _seconds_until(b_answers)
    # The follower embedded the new entry only: the others were left as they were.
    embedded = b.answers.embedder.texts[embedded_before:]
    assert embedded == ["Сколько идёт доставка", "Сколько идёт доставка\n1–3 дня."]


async def test_an_entry_deleted_through_one_replica_stops_being_answered_by_the_other(
    two_replicas: tuple[Services, Services],
) -> None:
    a, b = two_replicas
    assert await _answered_with(b, "забыл пароль") == "password"
    async with transaction(a.sessions) as session:
        entry = await get_entry(session, key="password")
        assert entry is not None
        await set_deleted(session, entry, True, author="editor", expected_version=None)
    await refresh_index(a.decisions, [entry])
    assert await _answered_with(a, "забыл пароль") is None

    async def b_forgot() -> bool:
        return await _answered_with(b, "забыл пароль") is None

    await _seconds_until(b_forgot)


async def test_an_edited_answer_and_an_unpublished_entry_reach_the_other_replica(
    two_replicas: tuple[Services, Services],
) -> None:
    a, b = two_replicas
    async with transaction(a.sessions) as session:
        refund = await get_entry(session, key="refund")
        password = await get_entry(session, key="password")
        assert refund is not None and password is not None
        new_answer = FaqEntryData(key="refund", question=refund.question, answer="Новый ответ.")
        await change_entry(session, refund, new_answer, author="editor", expected_version=None)
        draft = FaqEntryData(
            key="password", question=password.question, answer=password.answer, status="draft"
        )
        await change_entry(session, password, draft, author="editor", expected_version=None)
    await refresh_index(a.decisions, [refund, password])

    async def b_follows() -> bool:
        refund_decision = await b.decisions.decide("вернуть деньги за подписку", "ru")
        return (
            refund_decision.answer == "Новый ответ."
            and await _answered_with(b, "забыл пароль") is None
        )

    await _seconds_until(b_follows)


async def test_an_import_by_another_process_reaches_a_running_replica(
    two_replicas: tuple[Services, Services], settings: Settings, database_url: str, tmp_path: Path
) -> None:
    """What `firstline kb import` does beside a running server: its own services, then exit."""
    _, b = two_replicas
    cli = await open_services(
        settings.model_copy(update={"database_url": database_url, "data_dir": tmp_path / "cli"}),
        embedder=KeywordEmbedder(TOPICS),
    )
    try:
        courier = FaqEntryData(key="courier", question="Где курьер", answer="Смотрите трек.")
        await import_and_index(cli.sessions, cli.decisions, [courier], author="cli")
    finally:
        await cli.close()

    async def b_answers() -> bool:
        return await _answered_with(b, "где курьер") == "courier"

    await _seconds_until(b_answers)
