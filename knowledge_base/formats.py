"""FAQ files: parsing JSON, CSV and Markdown into validated entries, and exporting them.

A file is parsed whole before anything touches the database: every problem is collected with
its place in the file, and any problem rejects the file. Parsing takes time linear in the file's
size (no backtracking regular expressions, no recursion a file can deepen), and a file is
bounded in bytes and entries, so a hostile file costs at most a bounded, predictable amount.

Translations: JSON has them beside the main language's fields (``"translations": {"uk":
{"question": …, "alt_questions": […], "answer": …}}``); CSV has one row per entry and language
(the entry's first row is its main language, with its tags and status; each further row with
the same key is a translation, its ``language`` cell filled, its tags and status cells empty);
Markdown has a ``### Question {lang=uk}`` section per translation (``knowledge_base.markdown``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Iterable
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from knowledge_base.content import FaqEntryData, languages_outside
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.markdown import markdown_records, render_markdown
from knowledge_base.problems import MAX_FILE_ENTRIES, FaqFileError, FileProblem, too_many_entries

MAX_FILE_BYTES = 20 * 1024 * 1024
CSV_COLUMNS = ("key", "question", "alt_questions", "answer", "tags", "language", "status")
LIST_SEPARATOR = "|"
# A row per entry and language.
MAX_CSV_ROWS = MAX_FILE_ENTRIES * len(SUPPORTED_LANGUAGES)
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


def parse_faq(
    data: bytes, fmt: FaqFormat, *, languages: Collection[str] | None = None
) -> list[FaqEntryData]:
    """Parse a whole FAQ file; raises :class:`FaqFileError` listing every problem. With
    ``languages`` (the FAQ's languages, a setting), an entry in any other language is one."""
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
        FaqFormat.MARKDOWN: markdown_records,
    }
    records = parsers[fmt](text)
    if len(records) > MAX_FILE_ENTRIES:
        raise FaqFileError([too_many_entries()])
    return _validate(records, languages)


def _validate(
    records: Iterable[tuple[str, Any]], languages: Collection[str] | None
) -> list[FaqEntryData]:
    entries: list[FaqEntryData] = []
    problems: list[FileProblem] = []
    seen: dict[str, str] = {}
    for location, record in records:
        # Where each translation came from (CSV rows, Markdown sections), to name its line.
        places: dict[str, str] = record.pop("_translation_locations", None) or {}
        try:
            entry = FaqEntryData.model_validate(record)
        except ValidationError as error:
            for detail in error.errors():
                loc = [str(part) for part in detail["loc"]]
                language = loc[1] if loc[:1] == ["translations"] and len(loc) > 1 else ""
                problems.append(FileProblem(places.get(language, location), _described(detail)))
            continue
        if entry.key in seen:
            problems.append(FileProblem(location, f"key '{entry.key}' repeats {seen[entry.key]}"))
            continue
        outside = languages_outside(entry, languages) if languages is not None else []
        for language in outside:
            problems.append(
                FileProblem(
                    places.get(language, location),
                    f"language '{language}' is not one of this FAQ's ({', '.join(languages or [])})",
                )
            )
        seen[entry.key] = location
        entries.append(entry)
    if problems:
        raise FaqFileError(problems)
    if not entries:
        raise FaqFileError([FileProblem("file", "no FAQ entries found")])
    return entries


def _described(detail: ErrorDetails) -> str:
    """A validation error as a file's author reads it: the field, then what is wrong."""
    loc = [str(part) for part in detail["loc"]]
    if loc[:1] == ["translations"] and loc[-1] == "[key]":  # a language that is none of ours
        return (
            f"translations: unknown language '{loc[1]}': translations are in "
            f"{', '.join(SUPPORTED_LANGUAGES)}"
        )
    return f"{'.'.join(loc) or 'entry'}: {detail['msg']}"


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
        raise FaqFileError([too_many_entries()])
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
    entries: dict[str, tuple[str, dict[str, Any]]] = {}
    problems: list[FileProblem] = []
    for number, row in enumerate(reader, start=1):
        location = f"line {reader.line_num}"
        if None in row:
            raise FaqFileError([FileProblem(location, "more cells than columns")])
        if number > MAX_CSV_ROWS:
            raise FaqFileError([FileProblem("file", f"more than {MAX_CSV_ROWS:,} rows: split it")])
        cells = {column: unneutralised(value) for column, value in row.items()}
        wording = {
            "question": cells["question"],
            "answer": cells["answer"],
            "alt_questions": _split_list(cells.get("alt_questions")),
        }
        key = cells["key"] or ""
        language = (cells.get("language") or "").strip()
        if key not in entries:
            if len(entries) == MAX_FILE_ENTRIES:
                raise FaqFileError([too_many_entries()])
            record: dict[str, Any] = {"key": key, **wording, "tags": _split_tags(cells.get("tags"))}
            record |= {"translations": {}, "_translation_locations": {}}
            for optional in ("language", "status"):
                if value := (cells.get(optional) or "").strip():
                    record[optional] = value
            entries[key] = (location, record)
            continue
        problem = _translation_row_problem(cells, language, entries[key][1])
        if problem:
            problems.append(FileProblem(location, problem))
            continue
        entries[key][1]["translations"][language] = wording
        entries[key][1]["_translation_locations"][language] = location
    if problems:
        raise FaqFileError(problems)
    return list(entries.values())


def _translation_row_problem(
    cells: dict[str, str | None], language: str, entry: dict[str, Any]
) -> str | None:
    """Why a further row of an entry cannot be its translation (None: it can)."""
    if not language:
        return f"the key '{entry['key']}' repeats: a translation row needs its language"
    if (cells.get("tags") or "").strip() or (cells.get("status") or "").strip():
        return "a translation row leaves tags and status empty: they are the entry's first row's"
    if language == entry.get("language"):
        return f"'{language}' is the entry's main language (its first row)"
    if language in entry["translations"]:
        where = entry["_translation_locations"][language]
        return f"a second '{language}' translation of '{entry['key']}' (the first: {where})"
    return None


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


def export_records(entries: Iterable[FaqEntryData]) -> list[dict[str, Any]]:
    """Each entry's fields; ``translations`` only where it has some (as files without them)."""
    records = []
    for entry in entries:
        record = {"key": entry.key, **entry.content()}
        if not record["translations"]:
            del record["translations"]
        records.append(record)
    return records


def export_json(entries: Iterable[FaqEntryData]) -> str:
    return json.dumps(export_records(entries), ensure_ascii=False, indent=2) + "\n"


def export_csv(entries: Iterable[FaqEntryData]) -> str:
    """The entries as CSV (a row per entry and language), every cell :func:`neutralised` (safe
    to open in a spreadsheet)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        rows = [{**entry.content(), "key": entry.key}] + [
            {**translation.model_dump(), "key": entry.key, "language": language}
            for language, translation in entry.translations.items()
        ]
        for row in rows:
            lists = row["alt_questions"] + row.get("tags", [])
            if any(LIST_SEPARATOR in item for item in lists):
                raise ValueError(f"'{entry.key}': a phrasing or tag contains '|', export as JSON")
            cells = {column: row.get(column, "") for column in CSV_COLUMNS}
            cells["alt_questions"] = LIST_SEPARATOR.join(row["alt_questions"])
            cells["tags"] = LIST_SEPARATOR.join(row.get("tags", []))
            writer.writerow(
                {
                    column: neutralised(value) if isinstance(value, str) else value
                    for column, value in cells.items()
                }
            )
    return buffer.getvalue()


def export_markdown(entries: Iterable[FaqEntryData]) -> str:
    """The entries as a Markdown manual; ValueError when it would not read back the same (an
    answer line that reads as a heading, a question with a line break…): export JSON then."""
    entries = list(entries)
    text = render_markdown(entries)
    try:
        back = parse_faq(text.encode(), FaqFormat.MARKDOWN)
    except FaqFileError as error:
        raise ValueError(f"Markdown cannot carry this FAQ ({error}): export as JSON") from None
    for given, read in zip(entries, [*back, *[None] * len(entries)], strict=False):
        if read is None or read.model_dump() != given.model_dump():
            raise ValueError(f"'{given.key}': Markdown cannot carry this entry, export as JSON")
    return text
