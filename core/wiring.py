"""Where Firstline is assembled: settings → database → knowledge base → answer engine."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.database import create_engine, create_session_factory, migrate, utcnow
from core.settings import Settings
from handoff.desk.actions import DatabaseDesk, TicketDesk
from knowledge_base.formats import FaqFormat, parse_faq
from knowledge_base.language import load_language_models
from knowledge_base.repository import count_entries
from retrieval.centring import LanguageCentredEmbedder
from retrieval.decision import Decision
from retrieval.embedder import Embedder, load_embedder, model_signature
from retrieval.engine import AnswerEngine, load_off_topic_references
from retrieval.evaluation import EvalFile, Metrics, measure
from retrieval.reference_cache import REFERENCE_FILE, ReferenceCachedEmbedder
from retrieval.service import DecisionService
from retrieval.sync import IndexFollower, import_and_index

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
    # Carries out agents' actions from the API: the bot's desk once it runs, else the database's.
    desk: TicketDesk = field(init=False)
    # What business hours, waits and service levels read as "now" (tests set their own).
    clock: Callable[[], datetime] = utcnow
    # Tells the outbox's sender that rows were committed (the bot sets it while it runs; until
    # then rows wait in the database for it).
    wake_outbox: Callable[[], None] = lambda: None

    def __post_init__(self) -> None:
        self.desk = DatabaseDesk(self.sessions)

    async def close(self) -> None:
        if self.decisions.follower is not None:
            await self.decisions.follower.stop()
        self.decisions.close()
        await self.database.dispose()


def configured_embedder(settings: Settings) -> LanguageCentredEmbedder:
    """The model the settings name, computing on the CPU threads they allow, its vectors centred
    per language on the built-in off-topic messages (the same sentences in each language), whose
    own vectors are kept beside the index."""
    model = load_embedder(
        settings.embedding_model,
        settings.resolved_models_dir,
        settings.embedding_threads,
        settings.embedding_runtime,
    )
    references = load_off_topic_references()
    signature = model_signature(
        settings.embedding_model, settings.resolved_models_dir, settings.embedding_runtime
    )
    cached = ReferenceCachedEmbedder(
        model, references, settings.index_dir / REFERENCE_FILE, signature
    )
    return LanguageCentredEmbedder(cached, references)


async def open_database(settings: Settings) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    database = create_engine(settings.resolved_database_url)
    await migrate(database)
    return database, create_session_factory(database)


async def open_services(
    settings: Settings, *, embedder: Embedder | None = None, load_demo: bool = False
) -> Services:
    """Migrate the database, load the model and open (or rebuild) the index."""
    # The model and the language detector load in threads from the start: their native code
    # runs beside the event loop, which migrates the database (and whatever the caller does
    # until its first await).
    loop = asyncio.get_running_loop()
    languages = loop.run_in_executor(None, load_language_models)
    model: asyncio.Future[Embedder] = loop.create_future()
    if embedder is None:
        model = loop.run_in_executor(None, configured_embedder, settings)
    else:
        model.set_result(embedder)
    database, sessions = await open_database(settings)
    answers = AnswerEngine(await model, thresholds=settings.decision)
    decisions = DecisionService(answers, compute_threads=settings.embedding_threads)
    await languages
    # Opens the index and keeps it in step with edits made by any process (other replicas,
    # `firstline kb import`) within about a second.
    await IndexFollower(sessions, decisions).open(settings.index_dir)
    async with sessions() as session:
        empty = await count_entries(session) == 0
    services = Services(settings, database, sessions, answers, decisions)
    if load_demo and empty:
        await load_demo_faq(services)
    return services


async def load_demo_faq(services: Services) -> None:
    """Fill an empty knowledge base with the bundled demo FAQ, so a first run has something to say."""
    data = resources.files("knowledge_base").joinpath("demo/demo_faq.json").read_bytes()
    try:
        report = await import_and_index(
            services.sessions,
            services.decisions,
            parse_faq(data, FaqFormat.JSON),
            author=DEMO_AUTHOR,
        )
    except IntegrityError:  # replicas starting together: another one loaded it first
        logger.info("the demo FAQ was loaded by another replica")
        return
    logger.info(
        "the knowledge base was empty: loaded the demo FAQ (%d entries)", len(report.created)
    )


@asynccontextmanager
async def scratch_services(
    settings: Settings, eval_file: EvalFile, embedder: Embedder
) -> AsyncIterator[Services]:
    """A throw-away database and index holding only the eval file's FAQ."""
    with tempfile.TemporaryDirectory(prefix="firstline-eval-") as workdir:
        scratch = settings.model_copy(update={"data_dir": Path(workdir), "database_url": None})
        services = await open_services(scratch, embedder=embedder)
        try:
            await import_and_index(
                services.sessions, services.decisions, eval_file.faq, author="eval"
            )
            yield services
        finally:
            await services.close()


@dataclass(frozen=True)
class EvalRun:
    """An eval file's metrics and the decision on each of its queries, in the file's order."""

    eval_file: EvalFile
    decisions: list[Decision]

    @property
    def metrics(self) -> Metrics:
        return measure([query.expected for query in self.eval_file.queries], self.decisions)

    def as_dict(self) -> dict[str, Any]:
        """The ``firstline eval --json`` shape (DESIGN.md)."""
        results = [
            {
                "text": query.text,
                "lang": query.lang,
                "expected": query.expected,
                "decision": decision.to_dict(),
            }
            for query, decision in zip(self.eval_file.queries, self.decisions, strict=True)
        ]
        return {"name": self.eval_file.name, "metrics": self.metrics.as_dict(), "results": results}


async def run_eval(settings: Settings, eval_file: EvalFile, embedder: Embedder) -> EvalRun:
    """Decide every query of the file against its own FAQ, away from the live knowledge base."""
    async with scratch_services(settings, eval_file, embedder) as services:
        answers = services.answers

        def decide_all() -> list[Decision]:
            prepared = answers.prepare_batch([query.text for query in eval_file.queries])
            return [answers.conclude(item) for item in prepared]

        return EvalRun(eval_file, await asyncio.to_thread(decide_all))
