"""Agents' actions from the admin API, carried out by the bot like actions in the agents' group.

The API puts a ``DeskRequest`` on the application's update queue (our own event beside
Telegram's updates); a ``TypeHandler`` performs it with the desk's functions, so a
reply from the API reaches the customer and shows in the ticket's topic exactly like one typed
there, and the API learns whether it worked.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from telegram.error import TimedOut
from telegram.ext import Application

from bot.agents.at_ticket import AtTicket
from bot.agents.desk import Desk
from bot.agents.escalation import pass_ticket
from bot.agents.ticket_acts import announce_take, close_ticket, send_text
from bot.context import FirstlineContext, state_of
from bot.formatting import TELEGRAM_MESSAGE_LIMIT, escape, render_messages
from core.database import transaction
from handoff.desk.actions import (
    ActionKind,
    ActionRefused,
    AgentAction,
    Refusal,
    apply_in_database,
    check,
)

logger = logging.getLogger(__name__)

# Longer than any Telegram retry (RetryingRateLimiter) takes: past it, something is stuck.
RESULT_TIMEOUT = 120.0
API_MARK = "(admin API)"


@dataclass
class DeskRequest:
    action: AgentAction
    # The agents' group: an API action queues behind what agents do there (bot.delivery keys
    # its per-chat order on this), so a close from the API and one from the group never cross.
    chat_id: int | None
    result: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class TelegramDesk:
    """The ``TicketDesk`` while the bot runs."""

    def __init__(self, application: Application) -> None:
        self.application = application

    async def perform(self, action: AgentAction) -> None:
        services = state_of(self.application).services
        request = DeskRequest(action, services.settings.agent_chat_id)
        await self.application.update_queue.put(request)
        try:
            await asyncio.wait_for(asyncio.shield(request.result), RESULT_TIMEOUT)
        except TimeoutError:
            raise ActionRefused(
                Refusal.PENDING,
                "the bot has not finished this yet (Telegram is slow or unreachable); it may "
                "still happen: check the ticket before trying again",
            ) from None


async def perform_desk_request(request: DeskRequest, context: FirstlineContext) -> None:
    """The TypeHandler's callback: do the action, hand the outcome back to the API."""
    desk = Desk(context.services, context.bot)
    try:
        await _perform(desk, request.action)
    except ActionRefused as refusal:
        request.result.set_exception(refusal)
    except TimedOut:  # the message may well have arrived: say so rather than invite a resend
        request.result.set_exception(
            ActionRefused(
                Refusal.PENDING,
                "Telegram did not confirm in time; the message may have arrived: check the "
                "ticket before sending it again",
            )
        )
    except Exception as error:
        request.result.set_exception(error)
        raise  # the error handler logs it with the request
    else:
        request.result.set_result(None)


async def _perform(desk: Desk, action: AgentAction) -> None:
    async with transaction(desk.services.sessions) as session:
        checked = await check(session, action)
        if action.kind in (ActionKind.NOTE, ActionKind.PRIORITY):
            await apply_in_database(session, checked)
    at = AtTicket(desk, checked.agent, checked.customer, checked.ticket)
    if checked.took:
        await announce_take(at)
    who = escape(checked.agent.mention)
    if action.kind == ActionKind.REPLY:
        await _reply(at, action.text or "", who)
    elif action.kind == ActionKind.NOTE:
        await at.say(f"📝 Note by {who} {API_MARK}:\n{escape(action.text or '')}")
    elif action.kind == ActionKind.PRIORITY:
        await desk.refresh(checked.ticket.id)
        await at.say(f"{who} set the priority to {action.priority} {API_MARK}.")
    elif action.kind == ActionKind.CLOSE:
        await close_ticket(at)
    elif action.kind == ActionKind.ESCALATE and action.team_id is not None:
        await pass_ticket(at, action.team_id, action.text or "")


async def _reply(at: AtTicket, text: str, who: str) -> None:
    """The reply goes through the outbox: the ticket's messages show it as pending until
    Telegram takes it, and the topic says so if it never does."""
    parts = render_messages(text, TELEGRAM_MESSAGE_LIMIT, as_html=escape)
    for number, part in enumerate(parts):
        echo = f"📤 {who} {API_MARK}:" if number == 0 else None
        await send_text(at, part, text if number == 0 else "", echo=echo)
