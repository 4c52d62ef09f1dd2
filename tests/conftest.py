"""Shared fixtures: databases (SQLite always, PostgreSQL where it runs), settings, fake embedder."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import create_engine, create_session_factory, migrate
from core.settings import Settings, get_settings

POSTGRES_ADMIN_URL = os.environ.get(
    "FIRSTLINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
# The end-to-end FAQ's import, started in the background once collection shows it is needed.
E2E_FAQ = pytest.StashKey[tuple[Path, "subprocess.Popen[bytes]"]]()


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _fresh_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test reads settings anew, with its own data directory and no stray .env."""
    for name in list(os.environ):
        if name.startswith("FIRSTLINE_") and name != "FIRSTLINE_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("FIRSTLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """When end-to-end tests will run, start importing their FAQ now, in the background: the
    unit tests that run first hide most of its half a minute."""
    if any("imported_faq" in getattr(item, "fixturenames", ()) for item in items):
        from tests.support.e2e import start_e2e_faq_import

        workdir = Path(tempfile.mkdtemp(prefix="firstline-e2e-faq-"))
        session.config.stash[E2E_FAQ] = (workdir, start_e2e_faq_import(workdir))


def pytest_sessionfinish(session: pytest.Session) -> None:
    started = session.config.stash.get(E2E_FAQ, None)
    if started is not None:
        workdir, process = started
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def imported_faq(request: pytest.FixtureRequest) -> Path:
    """A data directory holding the end-to-end FAQ, imported once a session by `firstline kb
    import` (a real process): end-to-end tests copy it instead of importing again."""
    workdir, process = request.config.stash[E2E_FAQ]
    if process.wait(timeout=300) != 0:
        log = (workdir / "import.log").read_text()[-3000:]
        pytest.fail(f"`firstline kb import` of the end-to-end FAQ failed:\n{log}")
    return workdir / "data"


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated-from-nothing database: a SQLite file, and a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    yield from _scratch_postgres()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A scratch PostgreSQL database of its own (for several processes sharing one)."""
    yield from _scratch_postgres()


def _scratch_postgres() -> Iterator[str]:
    if not _postgres_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL must run under CI=true (.ci/run starts it)")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"firstline_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _postgres_admin(statement: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))
    await engine.dispose()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield create_session_factory(engine)
    await engine.dispose()
