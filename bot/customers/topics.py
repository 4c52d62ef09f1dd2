"""What the bot can help with, in a few examples: the questions a reply to an off-topic message
names ("I answer questions like «How do I cancel my subscription?», …")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.formatting import escape
from knowledge_base.language import detect_language
from retrieval.entries import IndexedEntry

EXAMPLES = 3


def example_questions(
    entries: Iterable[IndexedEntry], language: str, count: int = EXAMPLES
) -> list[str]:
    """One entry from each of the FAQ's biggest topics (its most used tags; untagged entries
    after them), each asked in the customer's language where the entry has such a wording."""
    ordered = sorted(entries, key=lambda entry: entry.id)
    sizes = Counter(entry.tags[0] for entry in ordered if entry.tags)
    leaders: dict[str, IndexedEntry] = {}
    for entry in ordered:
        if entry.tags:
            leaders.setdefault(entry.tags[0], entry)
    chosen = [leaders[tag] for tag, _ in sizes.most_common(count)]
    chosen += [entry for entry in ordered if entry not in chosen][: count - len(chosen)]
    return [_asked_in(entry, language) for entry in chosen]


def quoted(questions: list[str]) -> str:
    """«A», «B», «C» in Telegram HTML."""
    return ", ".join(f"«{escape(question)}»" for question in questions)


def _asked_in(entry: IndexedEntry, language: str) -> str:
    translated, question, _ = entry.text_in(language)
    if translated == language:
        return question
    return next(
        (text for text in entry.alt_questions if detect_language(text) == language),
        entry.question,
    )
