"""What every handler and job receives: python-telegram-bot's context, typed, with our state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from telegram.ext import Application, CallbackContext, ExtBot

from bot.delivery import FloodGuard
from handoff.services import Services

STATE_KEY = "firstline"


@dataclass
class BotState:
    """What the handlers share: the services and the flood limit."""

    services: Services
    flood: FloodGuard


class FirstlineContext(
    CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
):
    """The context of our handlers (``ContextTypes(context=FirstlineContext)``)."""

    @property
    def state(self) -> BotState:
        return cast(BotState, self.bot_data[STATE_KEY])

    @property
    def services(self) -> Services:
        return self.state.services


def state_of(application: Application[Any, Any, Any, Any, Any, Any]) -> BotState:
    return cast(BotState, application.bot_data[STATE_KEY])
