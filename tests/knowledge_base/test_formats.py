"""FAQ files: JSON, CSV and Markdown in; JSON and CSV out; bad files rejected whole with reasons."""

from __future__ import annotations

import json
import random
import re
import time

import pytest

from knowledge_base.formats import (
    FaqFileError,
    FaqFormat,
    export_csv,
    export_json,
    neutralised,
    parse_faq,
    unneutralised,
)
from knowledge_base.markdown import slugify

ENTRIES = [
    {
        "key": "refund",
        "question": "Как вернуть деньги?",
        "alt_questions": ["Хочу возврат", "How do I get a refund?", "Як повернути гроші?"],
        "answer": "1. Откройте *Профиль*.\n2. Нажмите «Вернуть».",
        "tags": ["billing"],
    },
    {"key": "password", "question": "Забыл пароль", "answer": "Нажмите «Забыли пароль?» на входе."},
]


def _json(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def test_json_list_and_wrapped_forms_parse_alike() -> None:
    plain = parse_faq(_json(ENTRIES), FaqFormat.JSON)
    wrapped = parse_faq(_json({"faq": ENTRIES}), FaqFormat.JSON)
    assert plain == wrapped
    assert plain[0].alt_questions[1] == "How do I get a refund?"
    assert plain[0].language == "ru"
    assert plain[1].alt_questions == []


def test_json_and_csv_exports_reimport_to_the_same_entries() -> None:
    entries = parse_faq(_json(ENTRIES), FaqFormat.JSON)
    assert parse_faq(export_json(entries).encode(), FaqFormat.JSON) == entries
    assert parse_faq(export_csv(entries).encode(), FaqFormat.CSV) == entries


def test_markdown_manual_with_phrasings_tags_and_slugs() -> None:
    manual = """# Our FAQ

## Как вернуть деньги? {#refund}
Also: Хочу возврат
Also: How do I get a refund?
Tags: billing, money

1. Откройте *Профиль*.
2. Нажмите «Вернуть».

## Забыл пароль
Нажмите «Забыли пароль?» на входе.
Also: this line is part of the answer, not a phrasing
"""
    refund, password = parse_faq(manual.encode(), FaqFormat.MARKDOWN)
    assert refund.key == "refund"
    assert refund.alt_questions == ["Хочу возврат", "How do I get a refund?"]
    assert refund.tags == ["billing", "money"]
    assert refund.answer == "1. Откройте *Профиль*.\n2. Нажмите «Вернуть»."
    assert password.key == "zabyl-parol"
    assert password.answer.endswith("not a phrasing")


def test_a_file_with_errors_is_rejected_whole_naming_each_place() -> None:
    broken = [
        ENTRIES[0],
        {"key": "Bad Key!", "question": "", "answer": "x"},
        {"key": "refund", "question": "q", "answer": "a"},
    ]
    with pytest.raises(FaqFileError) as rejected:
        parse_faq(_json(broken), FaqFormat.JSON)
    messages = [str(problem) for problem in rejected.value.problems]
    assert any(m.startswith("entry 2") and "key" in m for m in messages)
    assert any(m.startswith("entry 2") and "question" in m for m in messages)
    assert any(m.startswith("entry 3 ('refund')") and "repeats entry 1" in m for m in messages)


def test_csv_problems_name_the_line() -> None:
    csv_text = "key,question,answer\nok,Вопрос,Ответ\nbroken,,Ответ\n"
    with pytest.raises(FaqFileError) as rejected:
        parse_faq(csv_text.encode(), FaqFormat.CSV)
    assert str(rejected.value.problems[0]).startswith("line 3: question")
    with pytest.raises(FaqFileError, match="missing columns: answer"):
        parse_faq(b"key,question\nx,y\n", FaqFormat.CSV)


@pytest.mark.parametrize(
    ("data", "fmt", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", FaqFormat.JSON, "not UTF-8"),
        (b"\x00\x01\x02binary", FaqFormat.CSV, "binary data"),
        (b'[{"key": "a", "question": "q", ', FaqFormat.JSON, "invalid JSON"),
        (b'{"entries": []}', FaqFormat.JSON, "expected a list"),
        (b"[]", FaqFormat.JSON, "no FAQ entries"),
        (b"   ", FaqFormat.MARKDOWN, "no FAQ entries"),
        (b'["just a string"]', FaqFormat.JSON, "must be a JSON object"),
    ],
)
def test_malformed_files_get_a_clear_reason(data: bytes, fmt: FaqFormat, reason: str) -> None:
    with pytest.raises(FaqFileError, match=reason):
        parse_faq(data, fmt)


def test_huge_and_markup_laden_entries() -> None:
    with pytest.raises(FaqFileError, match="answer"):
        parse_faq(_json([{"key": "big", "question": "q", "answer": "x" * 30000}]), FaqFormat.JSON)
    tricky = {
        "key": "markup",
        "question": "<b>bold</b> & [x](y) 😀",
        "answer": "'; DROP TABLE faq; --",
    }
    (entry,) = parse_faq(_json([tricky]), FaqFormat.JSON)
    assert entry.question == tricky["question"]
    assert entry.language == "en"


def test_format_is_chosen_by_file_name() -> None:
    assert FaqFormat.from_filename("faq.MD") is FaqFormat.MARKDOWN
    with pytest.raises(FaqFileError, match="unknown format"):
        FaqFormat.from_filename("faq.xlsx")


def test_slugs_transliterate_and_never_come_out_empty() -> None:
    assert slugify("Як скасувати підписку?") == "iak-skasuvati-pidpisku"
    assert slugify("???") == "entry"


# The heading pattern the Markdown parser used to have: right, but cubic on runs of spaces.
BACKTRACKING_HEADING = re.compile(r"^##\s+(?P<question>.+?)\s*(?:\{#(?P<key>[^}]*)\})?\s*$")


def test_markdown_headings_read_as_before_in_linear_time() -> None:
    pieces = ["#", " ", "\t", "\u00a0", "{", "}", "{#", "a", "б", "\\"]
    generator = random.Random(22)
    for _ in range(3000):
        line = "##" + "".join(generator.choice(pieces) for _ in range(generator.randint(0, 9)))
        old = BACKTRACKING_HEADING.match(line)
        data = f"{line}\nThe answer.\n".encode()
        try:
            entries: list[tuple[str, str]] | None = [
                (entry.key, entry.question) for entry in parse_faq(data, FaqFormat.MARKDOWN)
            ]
        except FaqFileError:
            entries = None
        if old is None:
            assert entries is None, line  # not a heading: no entry
        elif entries is not None:
            question = old["question"].strip()
            assert entries == [(old["key"] or slugify(question), question)], line
    started = time.perf_counter()
    with pytest.raises(FaqFileError, match="at most 1000 characters"):
        parse_faq(("## How do I pay?" + " " * 4000 + "card\nBy card.").encode(), FaqFormat.MARKDOWN)
    assert time.perf_counter() - started < 1.0  # 74 s with the old pattern


@pytest.mark.parametrize(
    ("cell", "exported"),
    [
        ("=1+1", "'=1+1"),
        ("+7 999 123-45-67", "'+7 999 123-45-67"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=quoted", "''=quoted"),
        ("''-twice", "'''-twice"),
        ("'plain", "'plain"),
        ("plain = text", "plain = text"),
        ("'", "'"),
        ("", ""),
    ],
)
def test_csv_cells_are_neutralised_and_read_back_unchanged(cell: str, exported: str) -> None:
    assert neutralised(cell) == exported
    assert unneutralised(exported) == cell


def test_a_csv_export_with_formulas_imports_back_unchanged() -> None:
    entries = parse_faq(
        _json(
            [
                {
                    "key": "formula",
                    "question": '=HYPERLINK("https://evil.example", "refund")',
                    "alt_questions": ["+1 555 0100", "'=quoted"],
                    "answer": "- open the app\n- press Refund",
                    "tags": ["@billing"],
                }
            ]
        ),
        FaqFormat.JSON,
    )
    exported = export_csv(entries)
    assert "\n=" not in exported and ",=" not in exported and ',"=' not in exported
    assert parse_faq(exported.encode(), FaqFormat.CSV) == entries
