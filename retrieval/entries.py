"""What the answer engine keeps of the FAQ: each published entry as it indexes it, the
fingerprint of what its indexes hold, and the generic off-topic messages it weighs every
message against."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.language import SUPPORTED_LANGUAGES

OFF_TOPIC_PATH = Path(__file__).parent / "reference" / "off_topic.json"
OTHER_BUSINESSES_PATH = Path(__file__).parent / "reference" / "other_businesses.json"
GENERAL_KNOWLEDGE_PATH = Path(__file__).parent / "reference" / "general_knowledge.json"


@dataclass(frozen=True)
class IndexedEntry:
    """What the engine keeps of a published FAQ entry.

    ``question`` and ``answer`` are in the entry's main ``language``; ``alt_questions`` holds
    every other phrasing that points to the entry, its translations' included, and
    ``translations`` each other language's (question, answer).
    """

    id: int
    key: str
    question: str
    answer: str
    language: str
    alt_questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    translations: dict[str, tuple[str, str]] = field(default_factory=dict, hash=False)

    def text_in(self, language: str | None) -> tuple[str, str, str]:
        """(language, question, answer) in this language, or in the main one without it."""
        if language is not None and language in self.translations:
            return (language, *self.translations[language])
        return self.language, self.question, self.answer

    @property
    def phrasings(self) -> list[str]:
        return [self.question, *self.alt_questions]

    @property
    def passage(self) -> str:
        """The entry as a passage that answers questions: it tells close entries apart where
        their phrasings alone do not (measured: top-1 on our Russian-only-FAQ dev set 67 → 77 %)."""
        return f"{self.question}\n{self.answer}"


def load_off_topic_references() -> dict[str, list[str]]:
    return _by_language(OFF_TOPIC_PATH)


def load_asked_elsewhere() -> dict[str, list[str]]:
    """Questions people ask elsewhere, by language: of other kinds of businesses, and general
    knowledge."""
    businesses, knowledge = (
        _by_language(OTHER_BUSINESSES_PATH),
        _by_language(GENERAL_KNOWLEDGE_PATH),
    )
    return {language: businesses[language] + knowledge[language] for language in businesses}


def _by_language(path: Path) -> dict[str, list[str]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return {language: document[language] for language in SUPPORTED_LANGUAGES}


def fingerprint(entries: Iterable[IndexedEntry]) -> str:
    """Identifies what the vector indexes hold: every entry's id, phrasings and passage."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda item: item.id):
        digest.update(
            json.dumps([entry.id, entry.phrasings, entry.passage], ensure_ascii=False).encode()
        )
    return digest.hexdigest()
