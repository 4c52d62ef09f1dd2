"""A local fake of the Telegram Bot API over real HTTP, for end-to-end tests and the benchmark.

It plays both sides Telegram stands between: customers (and agents) write through
``send_text``/``press``/``send_media``…, and the bot under test talks to it exactly as to
api.telegram.org (``FIRSTLINE_TELEGRAM_API_URL``): getUpdates long polling, or webhook delivery
with the secret token after setWebhook. Faults (429 with retry_after, 5xx) can be injected
(telegram_faults.py). It runs its own event loop in a thread; the test side is plain synchronous Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.processes import free_port
from tests.support.telegram_faults import InjectedFaults
from tests.support.telegram_html import telegram_text_problem
from tests.support.telegram_people import (
    BOT_ID,
    BOT_USERNAME,
    SentMessage,
    TelegramPeople,
    agent,
    customer,
    group_chat,
)

# What a test needs besides the server: the people in it (their home is telegram_people.py).
__all__ = ["FakeBotApi", "SentMessage", "agent", "customer"]

RECEIVING = {"getUpdates", "getMe", "setWebhook", "deleteWebhook"}
RAW_STRING_FIELDS = {
    "text",
    "caption",
    "name",
    "secret_token",
    "url",
    "callback_query_id",
    "parse_mode",
}


class FakeBotApi(TelegramPeople, InjectedFaults):
    """Start with ``with FakeBotApi() as telegram:``; ``telegram.url`` is the API root."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        InjectedFaults.__init__(self)
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sent: list[SentMessage] = []
        self._sent_by_chat: dict[int, list[SentMessage]] = {}
        self.last_update_id = 0
        self.edits: list[SentMessage] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.webhook: dict[str, Any] | None = None
        self.update_times: dict[int, float] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_update: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._webhook_delivered = 0
        # Every message either side sent, by (chat, message id): what copyMessage copies.
        self._contents: dict[tuple[int, int], dict[str, Any]] = {}
        self.topics: dict[tuple[int, int], str] = {}  # (group, thread) -> the topic's name
        self.pins: list[tuple[int, int]] = []
        self.blocked: set[int] = set()  # chats whose user blocked the bot
        # The newest update the bot confirmed (asked for an offset past it): Telegram forgets it.
        self.confirmed_update_id = 0
        self._stopping = False
        # Called with each message the bot sent, right after it is recorded (before the answer).
        self.after_send: Callable[[SentMessage], None] | None = None
        self._thread_ids = itertools.count(500)

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FakeBotApi:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["POST", "GET"])]
        )
        # Long polls still open when a test ends are cut after a second, not waited out.
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Bot API did not start")
            time.sleep(0.02)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._new_update = asyncio.Event()
        delivery = self._loop.create_task(self._deliver_webhooks())
        assert self._server is not None
        self._loop.run_until_complete(self._server.serve())
        delivery.cancel()
        self._loop.run_until_complete(asyncio.gather(delivery, return_exceptions=True))
        self._loop.close()

    def stop(self) -> None:
        self._stopping = True
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)  # long polls return now
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def add_update(self, body: dict[str, Any]) -> int:
        with self._changed:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **body})
            self.update_times[update_id] = time.perf_counter()
            self.last_update_id = update_id
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)
        return update_id

    # --- what the bot did ------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        with self._lock:
            return list(self._sent_by_chat.get(chat_id, []))

    def wait_for_messages(self, chat_id: int, count: int, timeout: float = 30) -> list[SentMessage]:
        """Block until the bot has sent at least ``count`` messages to the chat; return them all."""
        self.wait_until(
            lambda: len(self.messages_to(chat_id)) >= count,
            timeout,
            lambda: f"expected {count} messages to {chat_id}, got {self.messages_to(chat_id)}",
        )
        return self.messages_to(chat_id)

    def wait_until(
        self, condition: Callable[[], bool], timeout: float = 30, describe: Callable[[], str] = str
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out: {describe()}")
            with self._changed:
                self._changed.wait(min(remaining, 0.1))

    def wait_until_found(self, find: Callable[[], list[Any]], timeout: float = 30) -> list[Any]:
        """Block until ``find`` returns something; return it."""
        found: list[Any] = []

        def condition() -> bool:
            found[:] = find()
            return bool(found)

        self.wait_until(condition, timeout, lambda: "nothing found")
        return found

    @property
    def webhook_delivered(self) -> int:
        """The newest update the bot's webhook answered 200 for."""
        return self._webhook_delivered

    # --- the bot's side: the Bot API --------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params = _parse_params(await request.body(), request.headers.get("content-type", ""))
        with self._lock:
            self.calls.append((method, params))
        fault = self.fault_for(method, sends=method not in RECEIVING)
        if fault is not None:
            extra = {"parameters": {"retry_after": fault.retry_after}} if fault.retry_after else {}
            return _error(fault.status, "Injected failure", **extra)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, f"Not Found: method {method}")
        result = await handler(params)
        if isinstance(result, JSONResponse):
            return result
        with self._changed:
            self._changed.notify_all()
        return JSONResponse({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Firstline",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        self.confirmed_update_id = max(self.confirmed_update_id, offset - 1)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        assert self._new_update is not None
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
                if ready or time.monotonic() >= deadline or self._stopping:
                    return ready
                self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._new_update.wait(), max(0.0, deadline - time.monotonic())
                )

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        assert self._new_update is not None
        self._new_update.set()
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        if int(params["chat_id"]) in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        text = str(params.get("text", ""))
        problem = telegram_text_problem(text, params.get("parse_mode"))
        if problem:
            return _error(400, f"Bad Request: {problem}")
        return self._message_result(self._record(params, "sendMessage", text))

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._record_edit(params, "editMessageReplyMarkup", "")

    def _record_edit(self, params: dict[str, Any], method: str, text: str) -> dict[str, Any]:
        edit = SentMessage(
            int(params["message_id"]),
            int(params["chat_id"]),
            text,
            params.get("parse_mode"),
            params.get("reply_markup"),
            time.perf_counter(),
            method,
            params,
        )
        with self._lock:
            self.edits.append(edit)
        return self._message_result(edit)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.callback_answers.append(params)
        return True

    async def _api_copyMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        source = self._contents.get((int(params["from_chat_id"]), int(params["message_id"])))
        if source is None:
            return _error(400, "Bad Request: message to copy not found")
        text = str(source.get("text") or source.get("caption") or "")
        copied = self._record(params, "copyMessage", text)
        with self._lock:
            self._contents[(chat_id, copied.message_id)] = source
        return {"message_id": copied.message_id}

    async def _api_createForumTopic(self, params: dict[str, Any]) -> Any:
        name = str(params["name"])
        if not 1 <= len(name) <= 128:
            return _error(400, "Bad Request: TOPIC_NAME_INVALID")
        thread_id = next(self._thread_ids)
        with self._lock:
            self.topics[(int(params["chat_id"]), thread_id)] = name
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    async def _api_editForumTopic(self, params: dict[str, Any]) -> Any:
        topic = (int(params["chat_id"]), int(params["message_thread_id"]))
        name = str(params.get("name", ""))
        with self._lock:
            if topic not in self.topics:
                return _error(400, "Bad Request: message thread not found")
            if self.topics[topic] == name:
                return _error(400, "Bad Request: TOPIC_NOT_MODIFIED")
            if not 1 <= len(name) <= 128:
                return _error(400, "Bad Request: TOPIC_NAME_INVALID")
            self.topics[topic] = name
        return True

    async def _api_deleteForumTopic(self, params: dict[str, Any]) -> Any:
        with self._lock:
            if self.topics.pop((int(params["chat_id"]), int(params["message_thread_id"])), None):
                return True
        return _error(400, "Bad Request: message thread not found")

    async def _api_pinChatMessage(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.pins.append((int(params["chat_id"]), int(params["message_id"])))
        return True

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        problem = telegram_text_problem(text, params.get("parse_mode"))
        if problem:
            return _error(400, f"Bad Request: {problem}")
        return self._record_edit(params, "editMessageText", text)

    def _record(self, params: dict[str, Any], method: str, text: str) -> SentMessage:
        message = SentMessage(
            next(self._message_ids),
            int(params["chat_id"]),
            text,
            params.get("parse_mode"),
            params.get("reply_markup"),
            time.perf_counter(),
            method,
            params,
        )
        with self._lock:
            self.sent.append(message)
            self._sent_by_chat.setdefault(message.chat_id, []).append(message)
        if self.after_send is not None:
            self.after_send(message)
        return message

    def _message_result(self, message: SentMessage) -> dict[str, Any]:
        return {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": group_chat(message.chat_id)
            if message.chat_id < 0
            else {"id": message.chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Firstline"},
            "text": message.text,
        }

    async def _deliver_webhooks(self) -> None:
        """Post updates to the bot's webhook, in order, retrying until it answers 200."""
        assert self._new_update is not None
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                await self._new_update.wait()
                self._new_update.clear()
                while self.webhook is not None:
                    with self._lock:
                        pending = [
                            u for u in self._updates if u["update_id"] > self._webhook_delivered
                        ]
                    if not pending:
                        break
                    update = pending[0]
                    headers = {}
                    if self.webhook.get("secret_token"):
                        headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
                    try:
                        response = await client.post(
                            self.webhook["url"], json=update, headers=headers
                        )
                        delivered = response.status_code == 200
                    except httpx.HTTPError:
                        delivered = False
                    if delivered:
                        self._webhook_delivered = update["update_id"]
                    else:
                        await asyncio.sleep(0.2)


def _parse_params(body: bytes, content_type: str) -> dict[str, Any]:
    if "application/json" in content_type:
        return dict(json.loads(body or b"{}"))
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        if key in RAW_STRING_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _error(status: int, description: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error_code": status, "description": description, **extra}, status_code=status
    )
