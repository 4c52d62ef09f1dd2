"""The database: declarative base, engine and sessions, migrations (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection, Dialect, ExceptionContext
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from core.settings import Settings, get_settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock's key for migrations: any fixed number no other lock of ours uses.
MIGRATION_LOCK = 0x46_69_72_73_74_6C  # "Firstl"
MIGRATION_LOCK_POLL_SECONDS = 0.2
CLIENT_TIMEOUT_MARGIN_SECONDS = 1.0
# How long a start waits for a database it cannot reach yet (started together with it, say).
START_WAIT_SECONDS = 60.0
CONNECT_FAILURE = "cannot connect to the database"
# SQLSTATE classes psycopg reports as OperationalError: connection exception, transaction
# rollback (deadlock, serialization), insufficient resources, object not in prerequisite state
# (lock not available), operator intervention (statement timeout, shutdown), system error.
OPERATIONAL_SQLSTATE_CLASSES = ("08", "40", "53", "55", "57", "58")


class Base(DeclarativeBase):
    """Declarative base of every table; Alembic's ``env.py`` targets its metadata."""


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite forgets the zone, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_engine(url: str, settings: Settings | None = None) -> AsyncEngine:
    """An async engine on which no wait is unbounded (the settings' database timeouts).

    SQLite gets foreign keys on and a busy timeout for writers in other processes; PostgreSQL
    gets connect, statement and idle-transaction timeouts, a ping before each checkout, and its
    faults reported as ``OperationalError`` (see :func:`_report_postgresql_faults`).
    """
    settings = settings or get_settings()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings)
    engine = create_async_engine(
        url,
        hide_parameters=True,  # errors are logged: never with customers' words in them
        pool_pre_ping=True,
        pool_timeout=settings.database_timeout,
        connect_args={
            "timeout": settings.database_connect_timeout,
            # The server cancels a slow statement (or lock wait) itself, a clean error on a
            # connection that stays usable. The client's own bound, a moment later so that the
            # server's wins when it can answer, is for when it cannot (a partition): the
            # connection is then dropped, which SQLAlchemy bounds by 2 s more.
            "command_timeout": settings.database_timeout + CLIENT_TIMEOUT_MARGIN_SECONDS,
            "server_settings": {
                "statement_timeout": _milliseconds(settings.database_timeout),
                # A transaction left open (a stuck task) would hold its row locks for good.
                "idle_in_transaction_session_timeout": _milliseconds(
                    settings.database_idle_transaction_timeout
                ),
            },
        },
    )
    event.listen(engine.sync_engine, "do_connect", _connect_or_report)
    event.listen(engine.sync_engine, "handle_error", _report_postgresql_faults)
    return engine


def _milliseconds(seconds: float) -> str:
    return str(max(1, round(seconds * 1000)))


def _connect_or_report(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Connects; a network failure becomes the driver's OperationalError, so that SQLAlchemy
    reports it as ``sqlalchemy.exc.OperationalError`` like every other database fault."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, TimeoutError) as error:
        raise dialect.loaded_dbapi.OperationalError(f"{CONNECT_FAILURE}: {error!r}") from error


def _report_postgresql_faults(context: ExceptionContext) -> BaseException | None:
    """Faults of the database, not of the work, as ``sqlalchemy.exc.OperationalError``.

    asyncpg leaves a client timeout or a broken socket unwrapped, and SQLAlchemy reports a
    server's cancel, shutdown or deadlock as a bare ``DBAPIError``; psycopg (and the DB-API)
    call them operational errors. One type lets a caller tell "retry later" from "this is wrong".
    """
    error = context.original_exception
    if isinstance(error, OSError | TimeoutError):
        context.is_disconnect = True  # the connection's state is unknown: never reuse it
    elif not str(getattr(error, "sqlstate", None) or "").startswith(OPERATIONAL_SQLSTATE_CLASSES):
        return None
    if isinstance(context.sqlalchemy_exception, OperationalError):
        return None
    return OperationalError(
        context.statement,
        context.parameters,
        error,
        connection_invalidated=context.is_disconnect,
    )


class SqliteOnTheLoop(aiosqlite.Connection):
    """aiosqlite that runs each call on the event loop instead of handing it to its thread.

    A statement on a local SQLite file takes tens of microseconds; handing each call (cursor,
    execute, fetch, close, commit: several per statement) to aiosqlite's thread and back cost
    more than the work, in GIL hand-overs: the put on aiosqlite's queue was 17 % of the event
    loop's samples in the whole-bot benchmark. The price: a slow statement, or a wait for
    another process's write lock (bounded by the busy timeout), holds the loop meanwhile. One
    process runs the bot on SQLite and its one connection serialises the work anyway.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def _sqlite_on_the_loop(connector: Callable[[], sqlite3.Connection]) -> SqliteOnTheLoop:
    connection = SqliteOnTheLoop(connector, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: it never holds up exit
    return connection


def _sqlite_engine(url: str, settings: Settings) -> AsyncEngine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # One connection: SQLite has one writer at a time anyway, and writers queueing in our
    # event loop beat writers sleeping in SQLite's busy handler (measured: 75 -> see README).
    # The busy timeout bounds a wait for another process's write lock ("database is locked"
    # after it); the pool timeout bounds the queue for our one connection.
    connector = partial(
        sqlite3.connect,
        path or ":memory:",
        timeout=settings.database_timeout,
        check_same_thread=False,  # opened in aiosqlite's thread, used on the event loop's
    )
    engine = create_async_engine(
        url,
        hide_parameters=True,  # errors are logged: never with customers' words in them
        async_creator=lambda: _sqlite_on_the_loop(connector),
        pool_size=1,
        max_overflow=0,
        pool_timeout=settings.database_timeout,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL makes NORMAL safe from corruption; it skips an fsync on every commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


async def open_database(settings: Settings) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """The settings' database, migrated, and its sessions."""
    database = create_engine(settings.resolved_database_url, settings)
    await migrate(database)
    return database, create_session_factory(database)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed when the block ends, rolled back whole if it raises."""
    async with sessions() as session, session.begin():
        yield session


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def migrate(engine: AsyncEngine, *, wait_seconds: float = START_WAIT_SECONDS) -> None:
    """Bring the schema to the newest migration (run at every start; a no-op when current).

    A database that cannot be reached yet (still starting beside us, a restart, a moment of
    overload) is waited for, up to ``wait_seconds``, rather than ending the process at once.
    Replicas starting together on one PostgreSQL take turns: each migrates inside a transaction
    that first holds an advisory lock, so the later ones find the schema current. Every
    statement keeps the engine's timeout (a migration that needs longer runs with a larger
    FIRSTLINE_DATABASE_TIMEOUT).
    """

    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    deadline = time.monotonic() + wait_seconds
    delay = 0.5
    while True:
        try:
            async with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    await _hold_migration_lock(connection)
                await connection.run_sync(upgrade)
            return
        except OperationalError as error:
            if CONNECT_FAILURE not in str(error) or time.monotonic() + delay > deadline:
                raise
            logger.warning("the database cannot be reached yet; trying again in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _hold_migration_lock(connection: AsyncConnection) -> None:
    """Wait for the migration lock, held until the transaction ends (commit, rollback or a
    lost connection), polling so that no statement waits past the statement timeout."""
    waited = False
    while not (
        await connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
        )
    ).scalar_one():
        if not waited:
            logger.info("waiting for another process to finish migrating the database")
            waited = True
        await asyncio.sleep(MIGRATION_LOCK_POLL_SECONDS)
