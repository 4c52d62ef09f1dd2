"""Where Firstline is assembled: settings → database → knowledge base → answer engine."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.database import create_engine, create_session_factory, migrate
from core.settings import Settings
from knowledge_base.formats import FaqFormat, parse_faq
from knowledge_base.repository import count_entries
from retrieval.embedder import Embedder, load_embedder
from retrieval.engine import AnswerEngine
from retrieval.service import DecisionService
from retrieval.sync import import_and_index, published_entries

logger = logging.getLogger(__name__)

DEMO_AUTHOR = "demo-faq"


@dataclass
class Services:
    """The running system's parts, shared by the command line, the bot and the admin API."""

    settings: Settings
    database: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    answers: AnswerEngine
    decisions: DecisionService
    # What each part of the running process reports for /readyz ("ok", "off: …", "error: …").
    status: dict[str, str] = field(default_factory=dict)

    async def close(self) -> None:
        self.decisions.close()
        await self.database.dispose()


async def open_database(settings: Settings) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    database = create_engine(settings.resolved_database_url)
    await migrate(database)
    return database, create_session_factory(database)


async def open_services(
    settings: Settings, *, embedder: Embedder | None = None, load_demo: bool = False
) -> Services:
    """Migrate the database, load the model and open (or rebuild) the index."""
    database, sessions = await open_database(settings)
    answers = AnswerEngine(
        embedder or load_embedder(settings.embedding_model, settings.models_dir),
        thresholds=settings.decision,
    )
    async with sessions() as session:
        answers.open(settings.index_dir, await published_entries(session))
        empty = await count_entries(session) == 0
    services = Services(settings, database, sessions, answers, DecisionService(answers))
    if load_demo and empty:
        await load_demo_faq(services)
    return services


async def load_demo_faq(services: Services) -> None:
    """Fill an empty knowledge base with the bundled demo FAQ, so a first run has something to say."""
    data = resources.files("knowledge_base").joinpath("demo/demo_faq.json").read_bytes()
    report = await import_and_index(
        services.sessions, services.answers, parse_faq(data, FaqFormat.JSON), author=DEMO_AUTHOR
    )
    logger.info(
        "the knowledge base was empty: loaded the demo FAQ (%d entries)", len(report.created)
    )
