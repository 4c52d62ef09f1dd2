"""The python-telegram-bot application: handlers wired in one place, run by polling or webhook."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import buttons
from bot.agents import handlers as agents
from bot.agents.desk import Desk
from bot.agents.remote_desk import DeskRequest, TelegramDesk, perform_desk_request
from bot.context import STATE_KEY, BotState, FirstlineContext
from bot.customers import handlers, media, presses
from bot.delivery import FloodGuard, PerChatUpdateProcessor, RetryingRateLimiter
from bot.inbox import InboxPoller, InboxProcessor, raw_update, store_updates
from bot.line import keep_cards_current, watch_the_line
from bot.outbox import OutboxSender
from core.leadership import Leadership
from core.queues import InboxUpdate, OutboxMessage, release_claims
from handoff.desk.actions import DatabaseDesk
from handoff.services import Services

logger = logging.getLogger(__name__)

DEFAULT_WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_START_DELAY = 60.0


def build_application(services: Services) -> Application:
    """The bot with every handler, the error handler and our delivery rules, not yet started."""
    settings = services.settings
    if settings.telegram_token is None:
        raise ValueError("FIRSTLINE_TELEGRAM_TOKEN is not set")
    api = settings.telegram_api_url.rstrip("/")
    # No updater of python-telegram-bot's: it confirms updates before they are stored. Ours
    # (bot.inbox) stores them first; the update queue carries only our own DeskRequests.
    application = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(PerChatUpdateProcessor())
        .rate_limiter(RetryingRateLimiter())
        .updater(None)
        .context_types(ContextTypes(context=FirstlineContext))
        .build()
    )
    application.bot_data[STATE_KEY] = BotState(
        services, FloodGuard(settings.flood_per_minute, settings.flood_burst)
    )
    private = filters.ChatType.PRIVATE
    # Every team's forum group: teams (and their groups) change while the bot runs, so the
    # handlers take any supergroup and ignore those that are no team's.
    agents_group = filters.ChatType.SUPERGROUP
    application.add_handlers(
        [
            MessageHandler(agents_group & filters.UpdateType.EDITED, agents.agent_edit),
            MessageHandler(
                agents_group & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL,
                agents.agent_message,
            ),
            CallbackQueryHandler(agents.agent_button, pattern=buttons.pattern(buttons.DESK)),
        ]
    )
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=private),
            CommandHandler("help", handlers.help_command, filters=private),
            CommandHandler("human", handlers.human_command, filters=private),
            CommandHandler("language", handlers.language_command, filters=private),
            MessageHandler(private & filters.UpdateType.EDITED, media.edited_message),
            MessageHandler(private & filters.FORWARDED & filters.TEXT, media.forwarded_text),
            MessageHandler(private & filters.TEXT, handlers.text_message),
            MessageHandler(private & filters.UpdateType.MESSAGE, media.media_message),
            *(
                CallbackQueryHandler(pressed, pattern=buttons.pattern(kind))
                for kind, pressed in (
                    (buttons.VOTE, presses.vote_pressed),
                    (buttons.PICK, presses.pick_pressed),
                    (buttons.NONE, presses.none_pressed),
                    (buttons.HUMAN, presses.human_pressed),
                    (buttons.RATE, presses.rate_pressed),
                    (buttons.LANGUAGE, presses.language_pressed),
                )
            ),
            CallbackQueryHandler(presses.unknown_pressed),
            ChatMemberHandler(handlers.added_to_group, ChatMemberHandler.MY_CHAT_MEMBER),
            TypeHandler(DeskRequest, perform_desk_request),
        ]
    )
    application.add_error_handler(handlers.on_error)
    return application


class BotRunner:
    """Starts the bot beside the admin API and keeps its state in ``services.status["bot"]``.

    Updates go through the inbox (stored, then processed) and replies through the outbox
    (stored, then delivered). Telegram may be unreachable when the process starts; the runner
    keeps trying (the API serves meanwhile, the webhook stores what arrives, and /readyz says
    why the bot is not ready), except on a token Telegram rejects.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self.application = build_application(services)
        settings = services.settings
        self.webhook_url = settings.webhook_url
        self.webhook_secret = (
            settings.webhook_secret.get_secret_value()
            if settings.webhook_secret
            else secrets.token_urlsafe(32)
        )
        self.inbox = InboxProcessor(
            self.application,
            services.sessions,
            give_up=lambda update: handlers.apologise(services, update),
        )
        self.outbox = OutboxSender(
            self.application.bot,
            services.sessions,
            retry_seconds=settings.delivery_retry_seconds,
            max_retry_seconds=settings.delivery_retry_max_seconds,
            give_up_after=timedelta(hours=settings.delivery_give_up_hours),
        )
        self.poller: InboxPoller | None = None
        self.leadership = Leadership(services.database)
        self._lead_task: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._initialized = False
        self._started = False
        self._set_status("starting")

    def _set_status(self, status: str) -> None:
        self.services.status["bot"] = status

    def start(self) -> None:
        self._task = asyncio.create_task(self._start_with_retries())

    async def _start_with_retries(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.application.initialize()
                self._initialized = True
                break
            except InvalidToken as error:
                self._set_status("error: Telegram rejected the token")
                logger.error("the bot is off: Telegram rejected the token (%s)", error)
                return
            except TelegramError as error:
                self._set_status(f"starting: Telegram unreachable ({error})")
                logger.warning("Telegram is unreachable (%s); retrying in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_START_DELAY)
        await self.application.start()
        self._started = True
        bot = self.application.bot
        if self.services.database.dialect.name == "sqlite":
            # One process runs the bot on SQLite: whatever it claimed before was cut off by a
            # crash, and need not wait for the lease to run out.
            for model in (InboxUpdate, OutboxMessage):
                await release_claims(self.services.sessions, model)
        self.services.wake_outbox = self.outbox.wake
        self.outbox.start()
        self.services.desk = TelegramDesk(self.application)
        self.inbox.start()
        if self.webhook_url:
            await bot.set_webhook(
                self.webhook_url, secret_token=self.webhook_secret, allowed_updates=Update.ALL_TYPES
            )
            mode = f"webhook at {self.webhook_url}"
        else:
            mode = "polling"
        self._lead_task = asyncio.create_task(self._lead(), name="firstline-lead")
        self._set_status("ok")
        logger.info("the Telegram bot @%s is running (%s)", bot.username, mode)

    async def _lead(self) -> None:
        """What runs once among replicas, for as long as this one leads: polling, the line's
        job, and showing what a crash left unshown."""
        while True:
            async with self.leadership.held():
                bot = self.application.bot
                await Desk(self.services, bot).resume()
                job_queue = self.application.job_queue
                assert job_queue is not None  # python-telegram-bot[job-queue] is a dependency
                settings = self.services.settings
                jobs = [
                    job_queue.run_repeating(
                        watch_the_line,
                        interval=settings.line_check_seconds,
                        first=1,
                        name="watch-the-line",
                    ),
                    job_queue.run_repeating(
                        keep_cards_current,
                        interval=settings.delivery_retry_seconds,
                        name="keep-cards-current",
                    ),
                ]
                if not self.webhook_url:
                    await bot.delete_webhook()
                    self.poller = InboxPoller(bot, self.services.sessions, self.inbox)
                    self.poller.start()
                try:
                    await self.leadership.lost.wait()
                finally:
                    for job in jobs:
                        job.schedule_removal()
                    if self.poller is not None:
                        await self.poller.stop()
                        self.poller = None

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.services.desk = DatabaseDesk(self.services.sessions)
        if self._lead_task is not None:
            self._lead_task.cancel()
            await asyncio.gather(self._lead_task, return_exceptions=True)
        await self.inbox.stop()
        await self.outbox.stop()
        self.services.wake_outbox = lambda *chat_ids: None
        if self._started:
            await self.application.stop()
            self._started = False
        if self._initialized:
            await self.application.shutdown()
            self._initialized = False
        self._set_status("stopped")

    def webhook_router(self) -> APIRouter:
        """The route Telegram posts updates to (webhook mode): the secret token checked, the
        update stored in the inbox, and only then 200 — a crash after it loses nothing."""
        router = APIRouter(include_in_schema=False)
        path = urlsplit(self.webhook_url or "").path or DEFAULT_WEBHOOK_PATH

        @router.post(path)
        async def telegram_webhook(request: Request) -> Response:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
                return JSONResponse({"error": "wrong secret token"}, status_code=403)
            body = await request.body()
            try:
                update = raw_update(json.loads(body), body.decode())
            except (ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
                return JSONResponse({"error": f"not a Telegram update: {error}"}, status_code=400)
            try:
                await store_updates(self.services.sessions, [update])
            except Exception as error:  # not stored: Telegram must send it again
                logger.warning(
                    "update %s not stored (%s): Telegram will retry",
                    update.update_id,
                    type(error).__name__,
                )
                return JSONResponse({"error": "not stored, send again"}, status_code=503)
            self.inbox.wake(update.chat_key)
            return Response(status_code=200)

        return router
