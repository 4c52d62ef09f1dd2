"""What a customer's message says before any search: cleaned, its language, and the reason when
no search is needed (empty, not text, a request for a person, a greeting, the bot failing them
again); and the conversation's earlier questions the engine compares it with."""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge_base.language import detect_language
from retrieval.decision import Outcome, Reason, Turn
from retrieval.intents import Conversational, asks_for_human, conversational_intent, says_not_helped

MAX_TEXT_CHARS = 4000
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# Markup customers type or paste: tags and Markdown marks say nothing about language or intent.
_MARKUP = re.compile(r"</?[a-zA-Z][^<>]{0,40}>|[_*`~|\\]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")
_CONVERSATIONAL_REASONS = {
    Conversational.GREETING: Reason.GREETING,
    Conversational.THANKS: Reason.THANKS,
    Conversational.SMALLTALK: Reason.SMALLTALK,
}


def settle(
    text: str, language: str | None, history: Sequence[Turn]
) -> tuple[str, str | None, Reason | None]:
    """The cleaned text, its language, and the reason if no search is needed to decide."""
    stripped = text[:MAX_TEXT_CHARS].strip() if isinstance(text, str) else ""
    if not stripped:
        return stripped, language, Reason.EMPTY
    if _CONTROL.search(stripped) or not _LETTER.search(stripped):
        return stripped, language, Reason.NOT_TEXT
    plain = _MARKUP.sub(" ", stripped)
    language = customer_language(stripped, language)
    if asks_for_human(plain):
        return stripped, language, Reason.CUSTOMER_REQUEST
    if says_not_helped(plain) and bot_tried(history):
        return stripped, language, Reason.REPEATED_FAILURE
    intent = conversational_intent(plain)
    if intent is not None:
        return stripped, language, _CONVERSATIONAL_REASONS[intent]
    return stripped, language, None


def customer_language(text: str, stated: str | None) -> str | None:
    """The language a customer's message is in: detected, else the one the caller states."""
    return detect_language(_MARKUP.sub(" ", text)) or stated


def earlier_questions(history: Sequence[Turn]) -> list[str]:
    """The customer's last few messages, when the bot already tried to help (else none): a
    question asked again nearly word for word means the bot is failing them."""
    if not bot_tried(history):
        return []
    return [turn.text for turn in history if turn.from_customer and turn.text.strip()][-3:]


def bot_tried(history: Sequence[Turn]) -> bool:
    """Whether the bot already answered or offered options in this conversation."""
    return any(
        not turn.from_customer and turn.outcome in (Outcome.ANSWER, Outcome.CLARIFY)
        for turn in history
    )
