"""One leader among replicas: what must run once — polling Telegram (it allows one getUpdates at a
time), the timed jobs (service-level alerts, "we're online") — runs only in the replica holding
a PostgreSQL session advisory lock. The lock lives on a connection of its own: when that replica
dies or loses the database, PostgreSQL releases it and another replica takes over. On SQLite one
process runs the bot, so it always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

# The advisory lock's key: any fixed number no other lock of ours uses.
LEADER_LOCK = 0x46_4C_4C_44  # "FLLD"


class Leadership:
    """``async with leadership.held():`` waits until this replica leads; ``lost`` is set when it
    no longer does (its lock connection failed)."""

    def __init__(
        self, engine: AsyncEngine, *, retry_seconds: float = 5.0, check_seconds: float = 5.0
    ) -> None:
        self.engine = engine
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.lost = asyncio.Event()

    @property
    def shared(self) -> bool:
        """Whether several processes can share the database (and so need a leader)."""
        return self.engine.dialect.name == "postgresql"

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        self.lost.clear()
        if not self.shared:
            yield
            return
        connection = await self._acquire()
        watch = asyncio.create_task(self._watch(connection))
        try:
            yield
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
            with contextlib.suppress(Exception):  # a dead connection takes the lock with it
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK}
                )
            with contextlib.suppress(Exception):
                await connection.close()

    async def _acquire(self) -> AsyncConnection:
        while True:
            connection: AsyncConnection | None = None
            try:
                connection = await self.engine.connect()
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                got = await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}
                )
                if got:
                    logger.info("this replica leads: it polls Telegram and runs the timed jobs")
                    return connection
            except Exception as error:
                logger.warning("could not ask for the lead (%s)", type(error).__name__)
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
            await asyncio.sleep(self.retry_seconds)

    async def _watch(self, connection: AsyncConnection) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), self.check_seconds)
            except Exception as error:
                logger.warning("this replica lost the lead (%s)", type(error).__name__)
                self.lost.set()
                return
