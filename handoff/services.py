"""The running system's parts that the bot and the admin API share, handed to them by the entry
point (``firstline.assembly`` puts them together)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.database import utcnow
from core.settings import Settings
from handoff.desk.actions import DatabaseDesk, TicketDesk
from retrieval.engine import AnswerEngine
from retrieval.opening import close_decisions
from retrieval.service import DecisionService


class OutboxWaker(Protocol):
    def __call__(self, *chat_ids: int) -> None: ...


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
    # Tells the outbox's sender that rows were committed for these chats (none named: look at
    # the whole outbox). The bot sets it while it runs; until then rows wait in the database.
    wake_outbox: OutboxWaker = field(default=lambda *chat_ids: None)

    def __post_init__(self) -> None:
        self.desk = DatabaseDesk(self.sessions)

    async def close(self) -> None:
        await close_decisions(self.decisions)
        await self.database.dispose()
