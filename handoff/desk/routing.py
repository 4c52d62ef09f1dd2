"""Routing rules: a handed-off conversation's words, language and topic set its priority and tags,
and may send it to a team.

Example: keywords ["списали дважды", "двічі списали", "charged twice"] → urgent, tag billing.
Keywords match case-insensitively on word boundaries after folding ё→е; the most urgent
priority of all matching rules wins and their tags add up; the first matching rule that names a
team (in the rules' order) chooses it. A rule with ``returning_days`` reads the customer's
earlier tickets: it applies only when its team resolved one of them within that many days (a
customer back about the same matter reaches the specialists who helped them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import utcnow
from handoff.models import Priority, RoutingRule, Ticket

PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


@dataclass
class Routing:
    priority: Priority | None = None
    tags: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # the names of the rules that matched
    team_id: int | None = None


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def keyword_found(keyword: str, text: str) -> bool:
    folded = _fold(keyword)
    return bool(folded) and re.search(rf"(?<!\w){re.escape(folded)}(?!\w)", text) is not None


@dataclass(frozen=True)
class Asked:
    """What a handoff is matched on."""

    texts: Sequence[str]
    language: str
    tags: Sequence[str]
    # The customer's earlier tickets: each team that resolved one, and when it last did.
    helped_by: Mapping[int, datetime] = field(default_factory=dict)
    now: datetime = field(default_factory=utcnow)


def matches(rule: RoutingRule, asked: Asked, text: str) -> bool:
    """Whether the rule applies; ``text`` is the handoff's texts folded."""
    if rule.keywords and not any(keyword_found(keyword, text) for keyword in rule.keywords):
        return False
    if rule.language and rule.language != asked.language:
        return False
    if rule.tag and rule.tag not in asked.tags:
        return False
    return not rule.returning_days or _helped_lately(rule, asked)


def _helped_lately(rule: RoutingRule, asked: Asked) -> bool:
    helped = asked.helped_by.get(rule.team_id) if rule.team_id is not None else None
    window = timedelta(days=rule.returning_days or 0)
    return helped is not None and helped >= asked.now - window


def apply_rules(rules: Sequence[RoutingRule], asked: Asked) -> Routing:
    text = _fold("\n".join(asked.texts))
    routing = Routing()
    for rule in rules:
        if not rule.enabled or not matches(rule, asked, text):
            continue
        routing.rules.append(rule.name)
        if rule.priority and (
            routing.priority is None
            or PRIORITY_ORDER.index(Priority(rule.priority))
            > PRIORITY_ORDER.index(routing.priority)
        ):
            routing.priority = Priority(rule.priority)
        routing.tags += [tag for tag in rule.add_tags if tag not in routing.tags]
        if routing.team_id is None:
            routing.team_id = rule.team_id
    return routing


async def route(
    session: AsyncSession,
    *,
    texts: Sequence[str],
    language: str,
    tags: Sequence[str],
    customer_id: int | None = None,
) -> Routing:
    rules = list(await session.scalars(select(RoutingRule).order_by(RoutingRule.id)))
    returning = customer_id is not None and any(rule.returning_days for rule in rules)
    helped_by = await _teams_that_helped(session, customer_id) if returning else {}
    return apply_rules(rules, Asked(texts, language, tags, helped_by))


async def _teams_that_helped(session: AsyncSession, customer_id: int | None) -> dict[int, datetime]:
    """Each team that resolved one of the customer's tickets, and when it last did."""
    rows = await session.execute(
        select(Ticket.team_id, func.max(Ticket.resolved_at))
        .where(
            Ticket.customer_id == customer_id,
            Ticket.team_id.is_not(None),
            Ticket.resolved_at.is_not(None),
        )
        .group_by(Ticket.team_id)
    )
    return {team_id: resolved for team_id, resolved in rows.tuples() if team_id and resolved}


async def save_rule(
    session: AsyncSession,
    name: str,
    *,
    keywords: Sequence[str] = (),
    language: str | None = None,
    tag: str | None = None,
    priority: Priority | None = None,
    add_tags: Sequence[str] = (),
    team_id: int | None = None,
    returning_days: int | None = None,
) -> RoutingRule:
    """Create or replace the rule with this name."""
    rule = await session.scalar(select(RoutingRule).where(RoutingRule.name == name))
    if rule is None:
        rule = RoutingRule(name=name)
        session.add(rule)
    rule.keywords = list(keywords)
    rule.language = language
    rule.tag = tag
    rule.priority = priority.value if priority else None
    rule.add_tags = list(add_tags)
    rule.team_id = team_id
    rule.returning_days = returning_days
    rule.enabled = True
    await session.flush()
    return rule
