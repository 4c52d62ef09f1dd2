"""Database faults: nothing waits on the database past a bound, and the engine recovers.

PostgreSQL is reached through a TCP proxy (tests/support/tcp_proxy.py) that can black-hole the network
or refuse connections; SQLite is locked by a second process. The timeouts are set small here
(1 s) so that every bound is measured in seconds; the defaults are in core.settings.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from threading import get_ident

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.database import (
    CLIENT_TIMEOUT_MARGIN_SECONDS,
    create_engine,
    create_session_factory,
    migrate,
    transaction,
)
from core.settings import Settings
from tests.support.tcp_proxy import Mode, TcpProxy

TIMEOUT = 1.0
# A black-holed statement: the client's timeout, then SQLAlchemy's 2 s to drop the connection.
DEAD_NETWORK_BOUND = TIMEOUT + CLIENT_TIMEOUT_MARGIN_SECONDS + 2.0
SLACK = 1.5  # two shared cores under a parallel suite
ROOT = Path(__file__).resolve().parents[2]

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def short_timeouts() -> Settings:
    return Settings(database_timeout=TIMEOUT, database_connect_timeout=TIMEOUT)


@dataclass(frozen=True)
class Proxied:
    """An engine on a scratch PostgreSQL database, reached through a proxy the test breaks."""

    proxy: TcpProxy
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def proxied(database_url: str, short_timeouts: Settings) -> AsyncIterator[Proxied]:
    with TcpProxy(5432) as proxy:
        url = make_url(database_url).set(port=proxy.port).render_as_string(hide_password=False)
        engine = create_engine(url, short_timeouts)
        try:
            yield Proxied(proxy, engine, create_session_factory(engine))
        finally:
            proxy.mode = Mode.PASS
            await engine.dispose()


async def _select_one(sessions: async_sessionmaker[AsyncSession]) -> float:
    """Seconds a `SELECT 1` in its own transaction took to fail (a ping that gets no answer
    fails as TimeoutError: SQLAlchemy passes it on unwrapped)."""
    started = time.monotonic()
    with pytest.raises((OperationalError, TimeoutError)):
        async with transaction(sessions) as session:
            await session.execute(text("SELECT 1"))
    return time.monotonic() - started


@postgresql_only
async def test_a_black_holed_database_fails_a_statement_within_its_bound(
    proxied: Proxied,
) -> None:
    """A partition, not a refusal: no answer ever comes, yet nobody waits past the bound."""
    proxy, sessions = proxied.proxy, proxied.sessions
    with pytest.raises(OperationalError) as raised:
        async with transaction(sessions) as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
            proxy.mode = Mode.BLACKHOLE
            started = time.monotonic()
            await session.execute(text("SELECT 1"))
    in_transaction = time.monotonic() - started  # the rollback on the way out included
    assert raised.value.connection_invalidated

    # A new unit of work: the pooled connection's ping, or a new connection, times out.
    fresh = await _select_one(sessions)
    await proxied.engine.dispose()
    new_connection = await _select_one(sessions)

    assert TIMEOUT <= in_transaction < DEAD_NETWORK_BOUND + SLACK
    assert fresh < DEAD_NETWORK_BOUND + SLACK
    assert new_connection < TIMEOUT + SLACK

    proxy.mode = Mode.PASS
    async with transaction(sessions) as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


@postgresql_only
async def test_after_refusing_for_a_while_the_engine_recovers(proxied: Proxied) -> None:
    """A restart: open connections are cut, new ones refused for 3 s, then all is well again."""
    proxy, sessions = proxied.proxy, proxied.sessions
    async with transaction(sessions) as session:
        await session.execute(text("CREATE TABLE kept (n integer)"))
    proxy.mode = Mode.REFUSE
    proxy.drop_connections()
    refused_at = time.monotonic()
    failures: list[float] = []
    while time.monotonic() - refused_at < 3:
        failures.append(await _select_one(sessions))
        await asyncio.sleep(0.2)
    proxy.mode = Mode.PASS

    async with transaction(sessions) as session:  # the dead pooled connection is pinged away
        await session.execute(text("INSERT INTO kept VALUES (1)"))
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM kept"))).scalar_one() == 1
    assert failures and max(failures) < 0.5  # refused is told at once, not waited out


@postgresql_only
async def test_a_start_waits_for_a_database_still_refusing(proxied: Proxied) -> None:
    """The database comes up a little after us (compose, a restart): the start waits for it
    instead of ending, and gives up with the error after its bound."""
    proxied.proxy.mode = Mode.REFUSE
    with pytest.raises(OperationalError, match="cannot connect"):
        await migrate(proxied.engine, wait_seconds=1)
    waiting = asyncio.create_task(migrate(proxied.engine, wait_seconds=30))
    await asyncio.sleep(2)
    assert not waiting.done()
    proxied.proxy.mode = Mode.PASS
    await asyncio.wait_for(waiting, 15)
    async with transaction(proxied.sessions) as session:
        assert await session.scalar(text("SELECT count(*) FROM alembic_version")) == 1


@postgresql_only
async def test_a_slow_statement_is_cancelled_by_the_server_and_the_connection_kept(
    database_url: str, short_timeouts: Settings
) -> None:
    engine = create_engine(database_url, short_timeouts)
    sessions = create_session_factory(engine)
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout") as raised:
            async with transaction(sessions) as session:
                await session.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < TIMEOUT + SLACK
        assert not raised.value.connection_invalidated  # the server's cancel: a clean error
        async with transaction(sessions) as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


# A replica's start-up, as far as the schema goes: imports done, it migrates on "go".
MIGRATING_REPLICA = """
import asyncio, sys
from core.database import create_engine, migrate

async def main(url: str) -> None:
    engine = create_engine(url)
    print("ready", flush=True)
    sys.stdin.readline()
    await migrate(engine)
    await engine.dispose()

asyncio.run(main(sys.argv[1]))
"""


@postgresql_only
async def test_migrations_from_two_replicas_at_once_both_succeed(database_url: str) -> None:
    """Two processes migrate a fresh database at the same moment: one migrates, one waits."""
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATING_REPLICA, database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(2)
    ]
    try:
        for replica in replicas:
            assert replica.stdout is not None and replica.stdout.readline().strip() == "ready"
        for replica in replicas:
            assert replica.stdin is not None
            replica.stdin.write("go\n")
            replica.stdin.flush()
        outcomes = [replica.communicate(timeout=120) for replica in replicas]
        assert [replica.returncode for replica in replicas] == [0, 0], outcomes

        engine = create_engine(database_url)
        async with engine.connect() as connection:
            versions = await connection.execute(text("SELECT version_num FROM alembic_version"))
            assert len(versions.all()) == 1
        await engine.dispose()
    finally:
        for replica in replicas:
            replica.kill()
            replica.wait()


async def test_sqlite_locked_by_another_process_fails_in_time_with_a_clear_error(
    tmp_path: Path, short_timeouts: Settings
) -> None:
    """Another process (a backup, `firstline kb import`) holds the write lock for longer than
    the bound: the write fails after the bound as "database is locked", then works again."""
    path = tmp_path / "locked.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", short_timeouts)
    sessions = create_session_factory(engine)
    await migrate(engine)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            async with transaction(sessions) as session:
                await session.execute(text("UPDATE alembic_version SET version_num = version_num"))
        waited = time.monotonic() - started
        assert TIMEOUT * 0.9 <= waited < TIMEOUT + SLACK

        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
        async with transaction(sessions) as session:
            await session.execute(text("UPDATE alembic_version SET version_num = version_num"))
    finally:
        holder.kill()
        holder.wait()
        await engine.dispose()


async def test_sqlite_statements_run_on_the_event_loops_thread(tmp_path: Path) -> None:
    """No hand-over to another thread per call (see core.database.SqliteOnTheLoop): the
    statement's own SQL function reports the thread that ran it."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'loop.sqlite3'}", Settings())
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            raw.driver_connection._conn.create_function("thread_running_sqlite", 0, get_ident)
            ran_on = await connection.scalar(text("SELECT thread_running_sqlite()"))
        assert ran_on == get_ident()
    finally:
        await engine.dispose()
