"""Routing rules: a handed-off conversation's words, language and topic set its priority and tags,
and may send it to a team.

Example: keywords ["списали дважды", "двічі списали", "charged twice"] → urgent, tag billing.
Keywords match case-insensitively on word boundaries after folding ё→е; the most urgent
priority of all matching rules wins and their tags add up; the first matching rule that names a
team (in the rules' order) chooses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.models import Priority, RoutingRule

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


def matches(rule: RoutingRule, *, text: str, language: str, tags: Sequence[str]) -> bool:
    """Whether the rule applies; ``text`` is already folded."""
    if rule.keywords and not any(keyword_found(keyword, text) for keyword in rule.keywords):
        return False
    if rule.language and rule.language != language:
        return False
    return not (rule.tag and rule.tag not in tags)


def apply_rules(
    rules: Sequence[RoutingRule], *, texts: Sequence[str], language: str, tags: Sequence[str]
) -> Routing:
    text = _fold("\n".join(texts))
    routing = Routing()
    for rule in rules:
        if not rule.enabled or not matches(rule, text=text, language=language, tags=tags):
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
    session: AsyncSession, *, texts: Sequence[str], language: str, tags: Sequence[str]
) -> Routing:
    rules = await session.scalars(select(RoutingRule).order_by(RoutingRule.id))
    return apply_rules(list(rules), texts=texts, language=language, tags=tags)


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
    rule.enabled = True
    await session.flush()
    return rule
