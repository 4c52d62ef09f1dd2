"""Every inline button's callback data, built and parsed here and nowhere else.

Telegram carries callback data as the client sends it (python-telegram-bot documents it as
client-controlled): a parser returns None for anything malformed, and the handlers still check
the press against what was stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from handoff.conversations import NONE_OF_THESE

# The prefix of each kind: what the application routes presses on.
VOTE = "vote"
PICK = "pick"
NONE = NONE_OF_THESE  # stored as the customer's message too: the knowledge-gap reports read it
HUMAN = "human"
RATE = "rate"
LANGUAGE = "lang"
DESK = "desk"


def pattern(kind: str) -> str:
    """The CallbackQueryHandler pattern of one kind of button."""
    return rf"^{kind}(:|$)"


def vote(helpful: bool) -> str:
    return f"{VOTE}:{int(helpful)}"


def pick(faq_id: int) -> str:
    return f"{PICK}:{faq_id}"


def rate(ticket_id: int, stars: int) -> str:
    return f"{RATE}:{ticket_id}:{stars}"


def language(code: str) -> str:
    return f"{LANGUAGE}:{code}"


def desk(action: str, ticket_id: int, argument: str | None = None) -> str:
    return f"{DESK}:{action}:{ticket_id}" + (f":{argument}" if argument else "")


def parse_vote(data: str) -> bool | None:
    """True for "it helped", False for "not that"."""
    argument = _argument(data, VOTE)
    return {"1": True, "0": False}.get(argument or "")


def parse_pick(data: str) -> int | None:
    argument = _argument(data, PICK)
    return int(argument) if argument and argument.isdigit() else None


def parse_rate(data: str) -> tuple[int, int] | None:
    """(ticket id, stars 1–5)."""
    ticket_id, _, stars = (_argument(data, RATE) or "").partition(":")
    if ticket_id.isdigit() and stars.isdigit() and 1 <= int(stars) <= 5:
        return int(ticket_id), int(stars)
    return None


def parse_language(data: str) -> str | None:
    return _argument(data, LANGUAGE)


@dataclass(frozen=True)
class DeskPress:
    action: str  # take, prio, setprio, card, close
    ticket_id: int
    argument: str | None


def parse_desk(data: str) -> DeskPress | None:
    action, _, rest = (_argument(data, DESK) or "").partition(":")
    ticket_id, _, argument = rest.partition(":")
    if not action or not ticket_id.isdigit():
        return None
    return DeskPress(action, int(ticket_id), argument or None)


def _argument(data: str, kind: str) -> str | None:
    prefix, _, argument = data.partition(":")
    return argument if prefix == kind else None
