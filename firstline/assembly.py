"""Where Firstline is assembled: settings → database → knowledge base → answer engine → the
services the bot and the admin API share."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from importlib import resources

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import open_database
from core.settings import Settings
from handoff.insights.labels import labelled_questions
from handoff.services import Services
from knowledge_base.formats import FaqFormat, parse_faq
from knowledge_base.repository import count_entries
from retrieval.centring import LanguageCentredEmbedder
from retrieval.embedder import Embedder
from retrieval.entries import load_off_topic_references
from retrieval.loading import load_embedder, model_signature
from retrieval.opening import open_decisions
from retrieval.reference_cache import REFERENCE_FILE, ReferenceCachedEmbedder, startup_references
from retrieval.sync import import_and_index

logger = logging.getLogger(__name__)

DEMO_AUTHOR = "demo-faq"


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
        model, startup_references(references), settings.index_dir / REFERENCE_FILE, signature
    )
    return LanguageCentredEmbedder(cached, references)


async def open_services(
    settings: Settings, *, embedder: Embedder | None = None, load_demo: bool = False
) -> Services:
    """Migrate the database, load the model and open (or rebuild) the index."""
    # The model loads in a thread from the start: its native code runs beside the event loop,
    # which migrates the database (and whatever the caller does until its first await).
    loop = asyncio.get_running_loop()
    model: asyncio.Future[Embedder] = loop.create_future()
    if embedder is None:
        model = loop.run_in_executor(None, configured_embedder, settings)
    else:
        model.set_result(embedder)
    database, sessions = await open_database(settings)
    embedder = await model
    decisions = await open_decisions(
        settings, sessions, embedder, labelled=partial(_labelled_questions, sessions)
    )
    async with sessions() as session:
        empty = await count_entries(session) == 0
    services = Services(settings, database, sessions, decisions.engine, decisions)
    if load_demo and empty:
        await load_demo_faq(services)
    return services


async def _labelled_questions(
    sessions: async_sessionmaker[AsyncSession],
) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        return await labelled_questions(session)


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
