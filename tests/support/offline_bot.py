"""The bot without a network, for fast tests: PTB's request layer swapped for one that answers
like Telegram and records every call (as python-telegram-bot's own suite does), fed through the
inbox and the outbox exactly as ``firstline run`` feeds it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import func, select
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.application import build_application
from bot.customers.handlers import apologise
from bot.inbox import InboxProcessor, raw_update, store_updates
from bot.outbox import OutboxSender
from core.queues import InboxUpdate, QueueStatus
from handoff.services import Services
from tests.support.telegram_people import BOT_ID


class RecordingRequest(BaseRequest):
    """Answers the Bot API like Telegram would, records each call; no network."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_with: Exception | None = None
        self.down: set[str] = set()  # endpoints that answer 502 until taken out again
        self.fail_for: dict[int, Exception] = {}  # the next message to this chat fails so
        self.message_ids: dict[int, int] = {}  # the message id each sent message got
        self._message_id = 0

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        self.calls.append((endpoint, params))
        if endpoint in self.down:
            return 502, json.dumps({"ok": False, "description": "Bad Gateway"}).encode()
        if endpoint == "sendMessage" and int(params["chat_id"]) in self.fail_for:
            raise self.fail_for.pop(int(params["chat_id"]))
        if self.fail_with is not None and endpoint == "sendMessage":
            error, self.fail_with = self.fail_with, None
            raise error
        if endpoint == "getMe":
            result: Any = {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Firstline",
                "username": "fl",
            }
        elif endpoint in ("sendMessage", "copyMessage"):
            self._message_id += 1
            self.message_ids[id(params)] = self._message_id
            chat_id = int(params["chat_id"])
            result = {
                "message_id": self._message_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private"},
                "text": params.get("text", ""),
            }
        elif endpoint == "createForumTopic":
            self._message_id += 1
            result = {
                "message_thread_id": self._message_id,
                "name": params["name"],
                "icon_color": 0,
            }
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def message_id(self, params: dict[str, Any]) -> int:
        """The message id Telegram gave the message sent with these parameters."""
        return self.message_ids[id(params)]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            params
            for endpoint, params in self.calls
            if endpoint == "sendMessage" and chat_id in (None, params["chat_id"])
        ]


class OfflineBot:
    """The application with PTB's network layer swapped out (as PTB's own tests do), fed the
    way ``firstline run`` feeds it: each update stored in the inbox, processed from there, and
    what it sends delivered from the outbox."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.application = build_application(services)
        self.request = RecordingRequest()
        self.application.bot._request = (self.request, self.request)
        self.inbox = InboxProcessor(
            self.application,
            services.sessions,
            give_up=lambda update: apologise(services, update),
            retry_seconds=0.01,
        )
        self.outbox = OutboxSender(self.application.bot, services.sessions, retry_seconds=0.01)

    @property
    def bot(self) -> Any:
        return self.application.bot

    async def process_update(self, update: Update) -> None:
        """Store the update, process everything due, deliver everything due."""
        await store_updates(self.services.sessions, [raw_update(update.to_dict())])
        while True:
            await self.inbox.drain()
            await self.outbox.drain()
            async with self.services.sessions() as session:
                waiting = await session.scalar(
                    select(func.count()).where(InboxUpdate.status == QueueStatus.PENDING)
                )
            if not waiting:
                return
            await asyncio.sleep(0.01)  # a retry is due in a moment
