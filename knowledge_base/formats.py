"""FAQ files: parsing JSON, CSV and Markdown into validated entries, and exporting JSON and CSV.

A file is parsed whole before anything touches the database: every problem is collected with
its place in the file, and any problem rejects the file. Parsing takes time linear in the file's
size (no backtracking regular expressions, no recursion a file can deepen), and a file is
bounded in bytes and entries, so a hostile file costs at most a bounded, predictable amount.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from knowledge_base.language import LanguageCode, detect_language
from knowledge_base.models import EntryStatus

MAX_FILE_BYTES = 20 * 1024 * 1024
# Each entry is validated and embedded: ten thousand is far more than a support FAQ holds.
MAX_FILE_ENTRIES = 10_000
KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,99}$"
CSV_COLUMNS = ("key", "question", "alt_questions", "answer", "tags", "language", "status")
LIST_SEPARATOR = "|"
# What makes a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class FaqFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "md"

    @classmethod
    def from_filename(cls, name: str) -> FaqFormat:
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        aliases = {"json": cls.JSON, "csv": cls.CSV, "md": cls.MARKDOWN, "markdown": cls.MARKDOWN}
        if suffix not in aliases:
            raise FaqFileError(
                [FileProblem("file", f"unknown format '.{suffix}': use .json, .csv or .md")]
            )
        return aliases[suffix]


def _clean_text(value: Any) -> Any:
    """Trimmed, without NUL characters (PostgreSQL refuses them in text; nobody means them)."""
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


class FaqEntryContent(BaseModel):
    """What an entry says, validated: everything but its key (an API edit sends this)."""

    question: str = Field(min_length=1, max_length=1000)
    alt_questions: list[str] = Field(default_factory=list, max_length=500)
    answer: str = Field(min_length=1, max_length=20000)
    tags: list[str] = Field(default_factory=list, max_length=50)
    language: LanguageCode | None = None
    status: EntryStatus = EntryStatus.PUBLISHED

    @field_validator("question", "answer", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return _clean_text(value)

    @field_validator("alt_questions", "tags", mode="before")
    @classmethod
    def _clean_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, list):
            cleaned = [_clean_text(item) for item in value]
            return [item for item in cleaned if item != ""]
        return value

    @field_validator("alt_questions")
    @classmethod
    def _phrasings_are_short(cls, value: list[str]) -> list[str]:
        for phrasing in value:
            if not phrasing or len(phrasing) > 1000:
                raise ValueError("each alternative phrasing must have 1 to 1000 characters")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _fill_language(self) -> Self:
        if self.language is None:
            self.language = detect_language(self.question) or "en"
        return self

    def content(self) -> dict[str, Any]:
        """Everything but the key, as stored in a version snapshot and compared on import."""
        return self.model_dump(mode="json", exclude={"key"})


class FaqEntryData(FaqEntryContent):
    """One entry as it comes in from a file or the API, validated."""

    key: str = Field(pattern=KEY_PATTERN)


@dataclass(frozen=True)
class FileProblem:
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class FaqFileError(ValueError):
    """The file was rejected whole; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[FileProblem]) -> None:
        self.problems = list(problems)
        shown = "; ".join(str(problem) for problem in self.problems[:20])
        more = f" (and {len(self.problems) - 20} more)" if len(self.problems) > 20 else ""
        super().__init__(f"the file was not imported: {shown}{more}")


def parse_faq(data: bytes, fmt: FaqFormat) -> list[FaqEntryData]:
    """Parse a whole FAQ file; raises :class:`FaqFileError` listing every problem."""
    if len(data) > MAX_FILE_BYTES:
        raise FaqFileError([FileProblem("file", f"larger than {MAX_FILE_BYTES // 2**20} MB")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FaqFileError(
            [FileProblem("file", f"not UTF-8 text (byte {error.start}): save it as UTF-8")]
        ) from error
    if "\x00" in text:
        raise FaqFileError([FileProblem("file", "binary data, not a text file")])
    parsers = {
        FaqFormat.JSON: _json_records,
        FaqFormat.CSV: _csv_records,
        FaqFormat.MARKDOWN: _markdown_records,
    }
    records = parsers[fmt](text)
    if len(records) > MAX_FILE_ENTRIES:
        raise FaqFileError([_too_many_entries()])
    return _validate(records)


def _too_many_entries() -> FileProblem:
    return FileProblem("file", f"more than {MAX_FILE_ENTRIES:,} entries: split the file")


def _validate(records: Iterable[tuple[str, Any]]) -> list[FaqEntryData]:
    entries: list[FaqEntryData] = []
    problems: list[FileProblem] = []
    seen: dict[str, str] = {}
    for location, record in records:
        try:
            entry = FaqEntryData.model_validate(record)
        except ValidationError as error:
            for detail in error.errors():
                field = ".".join(str(part) for part in detail["loc"]) or "entry"
                problems.append(FileProblem(location, f"{field}: {detail['msg']}"))
            continue
        if entry.key in seen:
            problems.append(FileProblem(location, f"key '{entry.key}' repeats {seen[entry.key]}"))
            continue
        seen[entry.key] = location
        entries.append(entry)
    if problems:
        raise FaqFileError(problems)
    if not entries:
        raise FaqFileError([FileProblem("file", "no FAQ entries found")])
    return entries


def _json_records(text: str) -> list[tuple[str, Any]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise FaqFileError(
            [
                FileProblem(
                    f"line {error.lineno}, column {error.colno}", f"invalid JSON: {error.msg}"
                )
            ]
        ) from error
    except RecursionError as error:  # the parser recurses once per level of nesting
        raise FaqFileError(
            [FileProblem("file", "invalid JSON: nested too deeply for an FAQ file")]
        ) from error
    except ValueError as error:  # e.g. a number with more digits than Python converts
        raise FaqFileError([FileProblem("file", f"invalid JSON: {error}")]) from error
    if isinstance(document, dict) and "faq" in document:
        document = document["faq"]
    if not isinstance(document, list):
        raise FaqFileError([FileProblem("file", 'expected a list of entries or {"faq": [...]}')])
    if len(document) > MAX_FILE_ENTRIES:
        raise FaqFileError([_too_many_entries()])
    records: list[tuple[str, Any]] = []
    for number, record in enumerate(document, start=1):
        key = record.get("key") if isinstance(record, dict) else None
        location = f"entry {number}" + (f" ('{key}')" if isinstance(key, str) else "")
        if not isinstance(record, dict):
            raise FaqFileError([FileProblem(location, "an entry must be a JSON object")])
        records.append((location, record))
    return records


def _split_list(cell: str | None) -> list[str]:
    if not cell:
        return []
    return [item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip()]


def _split_tags(cell: str | None) -> list[str]:
    return [
        tag for item in _split_list(cell) for tag in (t.strip() for t in item.split(",")) if tag
    ]


def _csv_records(text: str) -> list[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _csv_rows(reader)
    except csv.Error as error:  # e.g. a cell over the csv module's 128 KB field limit
        raise FaqFileError(
            [FileProblem(f"line {reader.line_num}", f"invalid CSV: {error}")]
        ) from error


def _csv_rows(reader: csv.DictReader[str]) -> list[tuple[str, Any]]:
    columns = set(reader.fieldnames or [])
    missing = {"key", "question", "answer"} - columns
    if missing:
        raise FaqFileError(
            [FileProblem("line 1", f"missing columns: {', '.join(sorted(missing))}")]
        )
    records: list[tuple[str, Any]] = []
    for row in reader:
        location = f"line {reader.line_num}"
        if None in row:
            raise FaqFileError([FileProblem(location, "more cells than columns")])
        if len(records) == MAX_FILE_ENTRIES:
            raise FaqFileError([_too_many_entries()])
        cells = {column: unneutralised(value) for column, value in row.items()}
        record: dict[str, Any] = {
            "key": cells["key"],
            "question": cells["question"],
            "answer": cells["answer"],
            "alt_questions": _split_list(cells.get("alt_questions")),
            "tags": _split_tags(cells.get("tags")),
        }
        for optional in ("language", "status"):
            value = cells.get(optional)
            if value:
                record[optional] = value.strip()
        records.append((location, record))
    return records


def neutralised(cell: str) -> str:
    """The cell as a spreadsheet shows it as text, never runs it (OWASP's CSV injection advice):
    a leading ``'`` when it starts with ``= + - @``, a tab or a carriage return.

    So that import gives back exactly what was exported, a cell that already starts with quotes
    before such a character gets one quote more, and :func:`unneutralised` takes one off. The
    price: a hand-made CSV whose cell really starts with ``'=`` (or ``'-`` …) loses that quote on
    import; any other leading quote is kept. A spreadsheet shows the added quote (``'- step``).
    """
    if cell.lstrip("'").startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def unneutralised(cell: str | None) -> str | None:
    """The cell as it was before :func:`neutralised`."""
    if cell is not None and cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_PREFIXES):
        return cell[1:]
    return cell


_ALSO = re.compile(r"^also:\s*(?P<text>.*)$", re.IGNORECASE)
_TAGS = re.compile(r"^tags:\s*(?P<text>.*)$", re.IGNORECASE)


def _heading(line: str) -> tuple[str, str | None] | None:
    """``## Question {#key}`` as (question, key or None); None for any other line.

    Plain string operations, not a regular expression: ``^##\\s+(.+?)\\s*(\\{#…\\})?\\s*$``
    backtracks over runs of spaces in cubic time (one heading with 4,000 spaces took 74 s).
    """
    if not line.startswith("##") or len(line) < 4 or not line[2].isspace():
        return None
    question = line[2:].strip()
    key: str | None = None
    if question.endswith("}"):
        inside = question[:-1]
        # The key has no '}'; the question keeps at least one character.
        opening = inside.find("{#", max(inside.rfind("}") + 1, 1))
        if opening != -1:
            key = inside[opening + 2 :]
            question = inside[:opening].rstrip()
    return question, key


def _markdown_records(text: str) -> list[tuple[str, Any]]:
    records: list[tuple[str, Any]] = []
    current: dict[str, Any] | None = None
    answer_lines: list[str] = []
    in_header = True  # before the answer's first non-blank line: "also:" and "tags:" lines

    def close() -> None:
        if current is not None:
            current["answer"] = "\n".join(answer_lines).strip()
            records.append((current.pop("_location"), current))

    for number, line in enumerate(text.splitlines(), start=1):
        heading = _heading(line)
        if heading is not None:
            close()
            if len(records) == MAX_FILE_ENTRIES:
                raise FaqFileError([_too_many_entries()])
            question, key = heading
            current = {
                "_location": f"line {number}",
                "key": key if key is not None else slugify(question),
                "question": question,
                "alt_questions": [],
                "tags": [],
            }
            answer_lines = []
            in_header = True
            continue
        if current is None:
            continue
        if in_header:
            stripped = line.strip()
            if also := _ALSO.match(stripped):
                current["alt_questions"].append(also["text"])
                continue
            if tags := _TAGS.match(stripped):
                current["tags"].extend(t.strip() for t in tags["text"].split(",") if t.strip())
                continue
            in_header = not stripped
        answer_lines.append(line)
    close()
    return records


_TRANSLIT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "ґ": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "є": "ie",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "і": "i",
        "ї": "i",
        "й": "i",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "iu",
        "я": "ia",
    }
)


def slugify(text: str) -> str:
    """A stable ASCII key from a question (Cyrillic transliterated)."""
    latin = text.lower().translate(_TRANSLIT)
    slug = re.sub(r"[^a-z0-9]+", "-", latin).strip("-")[:80].rstrip("-")
    return slug or "entry"


def export_records(entries: Iterable[FaqEntryData]) -> list[dict[str, Any]]:
    return [{"key": entry.key, **entry.content()} for entry in entries]


def export_json(entries: Iterable[FaqEntryData]) -> str:
    return json.dumps(export_records(entries), ensure_ascii=False, indent=2) + "\n"


def export_csv(entries: Iterable[FaqEntryData]) -> str:
    """The entries as CSV, every cell :func:`neutralised` (safe to open in a spreadsheet)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in export_records(entries):
        if any(LIST_SEPARATOR in item for item in record["alt_questions"] + record["tags"]):
            raise ValueError(f"'{record['key']}': a phrasing or tag contains '|', export as JSON")
        cells = {
            **record,
            "alt_questions": LIST_SEPARATOR.join(record["alt_questions"]),
            "tags": LIST_SEPARATOR.join(record["tags"]),
        }
        writer.writerow(
            {
                column: neutralised(value) if isinstance(value, str) else value
                for column, value in cells.items()
            }
        )
    return buffer.getvalue()
