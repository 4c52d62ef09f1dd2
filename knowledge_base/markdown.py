"""FAQ manuals in Markdown: one ``## Question {#key}`` section per entry, and under it one
``### Question {lang=uk}`` section per translation.

```markdown
## Как отменить подписку? {#cancel-subscription}
Also: Хочу отключить автопродление
Tags: billing

1. Откройте *Профиль → Подписка*.

### Як скасувати підписку? {lang=uk}
Also: Хочу вимкнути автопродовження

1. Відкрийте *Профіль → Підписка*.
```

Before a section's answer: ``Also:`` lines (phrasings), and for the entry ``Tags:``,
``Language:`` (its main language; detected when absent) and ``Status:`` (draft or published).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from knowledge_base.content import FaqEntryData, Wording
from knowledge_base.problems import MAX_FILE_ENTRIES, FaqFileError, FileProblem, too_many_entries

_HEADER = re.compile(r"^(?P<field>also|tags|language|status):\s*(?P<text>.*)$", re.IGNORECASE)
_TRANSLIT = str.maketrans(
    {
        **dict(zip("абвгґдеёзийіїклмнопрстуфыэ", "abvggdeeziiiiklmnoprstufye", strict=True)),
        **{"є": "ie", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch"},
        **{"ъ": "", "ь": "", "ю": "iu", "я": "ia"},
    }
)


def slugify(text: str) -> str:
    """A stable ASCII key from a question (Cyrillic transliterated)."""
    latin = text.lower().translate(_TRANSLIT)
    slug = re.sub(r"[^a-z0-9]+", "-", latin).strip("-")[:80].rstrip("-")
    return slug or "entry"


def _heading(line: str, level: int, marker: str) -> tuple[str, str | None] | None:
    """``## Question {#key}`` (level 2, marker ``{#``) as (question, key or None); None for any
    other line. The same for ``### Question {lang=uk}`` (level 3, marker ``{lang=``).

    Plain string operations, not a regular expression: ``^##\\s+(.+?)\\s*(\\{#…\\})?\\s*$``
    backtracks over runs of spaces in cubic time (one heading with 4,000 spaces took 74 s).
    """
    hashes = "#" * level
    if not line.startswith(hashes) or len(line) < level + 2 or not line[level].isspace():
        return None
    question = line[level:].strip()
    label: str | None = None
    if question.endswith("}"):
        inside = question[:-1]
        # The label has no '}'; the question keeps at least one character.
        opening = inside.find(marker, max(inside.rfind("}") + 1, 1))
        if opening != -1:
            label = inside[opening + len(marker) :]
            question = inside[:opening].rstrip()
    return question, label


def _translation_heading(line: str) -> tuple[str, str] | None:
    """``### Question {lang=uk}`` as (question, language); any other ``###`` is answer text."""
    found = _heading(line, 3, "{lang=")
    if found is None or found[1] is None:
        return None
    return found[0], found[1].strip()


class _Reader:
    """The entries of one manual, read line by line."""

    def __init__(self) -> None:
        self.records: list[tuple[str, Any]] = []
        self.problems: list[FileProblem] = []
        self.entry: dict[str, Any] | None = None
        self.section: dict[str, Any] | None = None  # the entry or one of its translations
        self.answer: list[str] = []
        self.in_header = True  # before the answer's first non-blank line

    def close_section(self) -> None:
        if self.section is not None:
            self.section["answer"] = "\n".join(self.answer).strip()
        self.section, self.answer, self.in_header = None, [], True

    def close_entry(self) -> None:
        self.close_section()
        if self.entry is not None:
            self.records.append((self.entry.pop("_location"), self.entry))
        self.entry = None

    def start_entry(self, number: int, question: str, key: str | None) -> None:
        self.close_entry()
        if len(self.records) == MAX_FILE_ENTRIES:
            raise FaqFileError([too_many_entries()])
        self.entry = {
            "_location": f"line {number}",
            "_translation_locations": {},
            "key": key if key is not None else slugify(question),
            "question": question,
            "alt_questions": [],
            "tags": [],
            "translations": {},
        }
        self.section = self.entry

    def start_translation(self, number: int, question: str, language: str) -> None:
        self.close_section()
        location = f"line {number}"
        if self.entry is None:
            self.problems.append(
                FileProblem(location, "a translation with no entry ('## Question {#key}') above")
            )
            return
        seen = self.entry["_translation_locations"].get(language)
        if seen is not None:
            self.problems.append(
                FileProblem(location, f"a second '{language}' translation (the first: {seen})")
            )
            return
        self.entry["_translation_locations"][language] = location
        self.section = {"question": question, "alt_questions": []}
        self.entry["translations"][language] = self.section

    def header_line(self, line: str) -> bool:
        """Whether the line was one of the section's header lines (and is taken in)."""
        assert self.section is not None
        header = _HEADER.match(line.strip())
        if header is None:
            return False
        field, text = header["field"].lower(), header["text"].strip()
        if field == "also":
            self.section["alt_questions"].append(text)
        elif self.section is not self.entry:
            return False  # tags, language and status belong to the entry
        elif field == "tags":
            self.section["tags"].extend(t.strip() for t in text.split(",") if t.strip())
        else:
            self.section[field] = text
        return True

    def read(self, text: str) -> list[tuple[str, Any]]:
        for number, line in enumerate(text.splitlines(), start=1):
            entry_heading = _heading(line, 2, "{#")
            if entry_heading is not None:
                self.start_entry(number, *entry_heading)
                continue
            translation = _translation_heading(line)
            if translation is not None:
                self.start_translation(number, *translation)
                continue
            if self.section is None:
                continue
            if self.in_header:
                if self.header_line(line):
                    continue
                self.in_header = not line.strip()
            self.answer.append(line)
        self.close_entry()
        if self.problems:
            raise FaqFileError(self.problems)
        return self.records


def markdown_records(text: str) -> list[tuple[str, Any]]:
    """Each entry of the manual as (where it starts, its fields), not validated yet; a record's
    ``_translation_locations`` says where each translation starts."""
    return _Reader().read(text)


def _section(heading: str, wording: Wording, header: list[str]) -> str:
    lines = [heading, *(f"Also: {phrasing}" for phrasing in wording.alt_questions), *header]
    return "\n".join([*lines, "", wording.answer])


def render_markdown(entries: Iterable[FaqEntryData]) -> str:
    """The entries as a Markdown manual (``formats.export_markdown`` checks it reads back)."""
    sections: list[str] = []
    for entry in entries:
        header = [f"Language: {entry.language}", f"Status: {entry.status}"]
        if entry.tags:
            header.insert(0, f"Tags: {', '.join(entry.tags)}")
        sections.append(_section(f"## {entry.question} {{#{entry.key}}}", entry, header))
        sections += [
            _section(f"### {translation.question} {{lang={language}}}", translation, [])
            for language, translation in entry.translations.items()
        ]
    return "\n\n".join(sections) + "\n"
