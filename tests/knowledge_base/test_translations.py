"""An entry in several languages: files in and out (JSON, CSV, Markdown), bad files refused whole
with the line named, one history for the entry saying which language changed, and a database
from before translations carried over unchanged (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import (
    alembic_config,
    create_engine,
    create_session_factory,
    migrate,
    transaction,
)
from knowledge_base.content import FaqEntryData, Translation, changed_languages
from knowledge_base.formats import (
    FaqFileError,
    FaqFormat,
    export_csv,
    export_json,
    export_markdown,
    parse_faq,
)
from knowledge_base.repository import (
    entry_data,
    get_entry,
    import_entries,
    roll_back,
    set_translation,
    versions_of,
)
from retrieval.decision import Candidate, Decision, Outcome, Reason
from retrieval.entries import IndexedEntry
from retrieval.localize import in_language

TRANSLATED: list[dict[str, Any]] = [
    {
        "key": "refund",
        "question": "Как вернуть деньги?",
        "alt_questions": ["Хочу возврат"],
        "answer": "1. Откройте *Профиль*.\n2. Нажмите «Вернуть».",
        "tags": ["billing"],
        "language": "ru",
        "status": "published",
        "translations": {
            "uk": {
                "question": "Як повернути гроші?",
                "alt_questions": ["Хочу повернення"],
                "answer": "1. Відкрийте *Профіль*.\n2. Натисніть «Повернути».",
            },
            "en": {
                "question": "How do I get a refund?",
                "alt_questions": [],
                "answer": "- Open *Profile*.\n- Press “Refund”.",
            },
        },
    },
    {
        "key": "password",
        "question": "Забыл пароль",
        "alt_questions": [],
        "answer": "Нажмите «Забыли пароль?».",
        "tags": [],
        "language": "ru",
        "status": "draft",
    },
]


def _entries() -> list[FaqEntryData]:
    return [FaqEntryData.model_validate(entry) for entry in TRANSLATED]


@pytest.mark.parametrize(
    ("export", "fmt"),
    [
        (export_json, FaqFormat.JSON),
        (export_csv, FaqFormat.CSV),
        (export_markdown, FaqFormat.MARKDOWN),
    ],
)
def test_every_format_carries_translations_there_and_back(export: Any, fmt: FaqFormat) -> None:
    exported = export(_entries())
    assert parse_faq(exported.encode(), fmt) == _entries()


def test_the_csv_has_a_row_per_entry_and_language_and_json_keeps_todays_shape() -> None:
    rows = list(csv.DictReader(io.StringIO(export_csv(_entries()))))
    assert [(row["key"], row["language"]) for row in rows] == [
        ("refund", "ru"),
        ("refund", "en"),
        ("refund", "uk"),
        ("password", "ru"),
    ]
    assert (rows[1]["tags"], rows[1]["status"]) == ("", "")  # a translation row
    records = json.loads(export_json(_entries()))
    assert "translations" not in records[1]  # an entry without any exports as it did before
    assert list(records[0]["translations"]) == ["en", "uk"]


def test_a_markdown_manual_with_a_section_per_language() -> None:
    manual = """## Как вернуть деньги? {#refund}
Also: Хочу возврат
Tags: billing

Откройте *Профиль*.

### Як повернути гроші? {lang=uk}
Also: Хочу повернення

Відкрийте *Профіль*.
### Крок 2 stays in the answer

### How do I get a refund? {lang=en}
Open *Profile*.
"""
    (refund,) = parse_faq(manual.encode(), FaqFormat.MARKDOWN)
    assert refund.language == "ru" and refund.answer == "Откройте *Профиль*."
    assert refund.translations["uk"] == Translation(
        question="Як повернути гроші?",
        alt_questions=["Хочу повернення"],
        answer="Відкрийте *Профіль*.\n### Крок 2 stays in the answer",
    )
    assert refund.translations["en"].answer == "Open *Profile*."


def _problems(data: str, fmt: FaqFormat, **options: Any) -> list[str]:
    with pytest.raises(FaqFileError) as refused:
        parse_faq(data.encode(), fmt, **options)
    return [str(problem) for problem in refused.value.problems]


def test_bad_translations_are_refused_whole_with_the_line_named() -> None:
    csv_file = (
        "key,question,alt_questions,answer,tags,language,status\n"
        "refund,Как вернуть деньги?,,Откройте профиль.,billing,ru,\n"
        "refund,Як повернути гроші?,,,,uk,\n"  # an empty answer
        "refund,Refund?,,Open it.,,de,\n"  # an unknown language
        "refund,Как вернуть?,,Ещё раз.,,ru,\n"  # the main language again
        "refund,Як?,,Ще раз.,,uk,\n"  # a second Ukrainian row
        "refund,Again?,,Again.,billing,en,\n"  # tags on a translation row
        "password,Забыл пароль,,Нажмите «Забыли пароль?».,,,\n"
    )
    assert _problems(csv_file, FaqFormat.CSV) == [
        "line 5: 'ru' is the entry's main language (its first row)",
        "line 6: a second 'uk' translation of 'refund' (the first: line 3)",
        "line 7: a translation row leaves tags and status empty: they are the entry's first row's",
    ]
    fixed = "\n".join(csv_file.splitlines()[:4] + csv_file.splitlines()[-1:])
    assert _problems(fixed, FaqFormat.CSV) == [
        "line 3: translations.uk.answer: String should have at least 1 character",
        "line 4: translations: unknown language 'de': translations are in ru, uk, en",
    ]
    manual = "### Як? {lang=uk}\nВідповідь.\n\n## Вопрос {#q}\nОтвет.\n### Q {lang=de}\nA.\n"
    problems = _problems(manual, FaqFormat.MARKDOWN)
    assert problems == ["line 1: a translation with no entry ('## Question {#key}') above"]
    problems = _problems(manual.split("\n", 2)[2], FaqFormat.MARKDOWN)
    assert problems == [
        "line 4: translations: unknown language 'de': translations are in ru, uk, en"
    ]


def test_a_translation_into_the_main_language_or_an_unknown_one_is_refused() -> None:
    manual = "## Вопрос? {#q}\nLanguage: ru\n\nОтвет.\n### Вопрос {lang=ru}\nОтвет.\n"
    (problem,) = _problems(manual, FaqFormat.MARKDOWN)
    assert problem.startswith("line 1: ") and "'ru' is the entry's main language" in problem
    entry = dict(TRANSLATED[0], translations={"de": {"question": "Frage", "answer": "Antwort"}})
    problems = _problems(json.dumps([entry]), FaqFormat.JSON)
    assert problems == [
        "entry 1 ('refund'): translations: unknown language 'de': translations are in ru, uk, en"
    ]
    # A language the FAQ does not keep (FIRSTLINE_FAQ_LANGUAGES=ru,uk) is refused too.
    problems = _problems(export_json(_entries()), FaqFormat.JSON, languages=["ru", "uk"])
    assert problems == ["entry 1 ('refund'): language 'en' is not one of this FAQ's (ru, uk)"]


Sessions = async_sessionmaker[AsyncSession]


async def test_one_history_for_the_entry_says_which_language_changed(sessions: Sessions) -> None:
    plain = FaqEntryData.model_validate(
        {k: v for k, v in TRANSLATED[0].items() if k != "translations"}
    )
    async with transaction(sessions) as session:
        await import_entries(session, [plain], author="ann")
    async with transaction(sessions) as session:
        entry = await get_entry(session, key="refund")
        assert entry is not None
        uk = _entries()[0].translations["uk"]
        await set_translation(session, entry, "uk", uk, author="bob", expected_version=1)
        # A file without translations leaves the entry's: nothing changes.
        report = await import_entries(session, [plain], author="ann")
        assert report.unchanged == ["refund"]
        await import_entries(session, _entries()[:1], author="cid")
        await roll_back(session, entry, 2, author="dan", expected_version=None)
        versions = await versions_of(session, entry)
    snapshots = [None, *(version.snapshot for version in versions)]
    history = [
        (version.version, version.change, changed_languages(before, version.snapshot))
        for version, before in zip(versions, snapshots, strict=False)
    ]
    assert history == [
        (1, "created", ["ru"]),
        (2, "uk translated", ["uk"]),
        (3, "updated", ["en"]),
        (4, "rolled back to 2", ["en"]),
    ]
    assert entry_data(entry).translations == {"uk": uk}


async def test_a_database_from_before_translations_carries_its_entries_over(
    database_url: str,
) -> None:
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    before = script.get_revision("0012_faq_translations").down_revision
    engine = create_engine(database_url)

    def upgrade_to(connection: Connection, revision: str) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to, str(before))
            await connection.execute(
                text(
                    "INSERT INTO faq_entries (key, question, alt_questions, answer, tags, language,"
                    " status, version, created_at, updated_at) VALUES ('refund', 'Как вернуть?',"
                    " '[\"Як повернути?\"]', 'Откройте профиль.', '[\"billing\"]', 'ru', 'draft', 3,"
                    " '2026-01-02 03:04:05', '2026-01-02 03:04:05')"
                )
            )
        await migrate(engine)
        async with create_session_factory(engine)() as session:
            entry = await get_entry(session, key="refund")
            assert entry is not None
            carried = entry_data(entry).model_dump()
            assert (entry.version, entry.translations) == (3, {})
    finally:
        await engine.dispose()
    assert carried == {
        "key": "refund",
        "question": "Как вернуть?",
        "alt_questions": ["Як повернути?"],
        "answer": "Откройте профиль.",
        "tags": ["billing"],
        "language": "ru",
        "status": "draft",
        "translations": {},
    }


def test_options_and_answers_come_in_the_language_each_entry_has() -> None:
    indexed = {
        1: IndexedEntry(
            1,
            "refund",
            "Как вернуть деньги?",
            "Откройте профиль.",
            "ru",
            translations={"uk": ("Як повернути гроші?", "Відкрийте профіль.")},
        ),
        2: IndexedEntry(2, "password", "Забыл пароль", "Нажмите «Забыли пароль?».", "ru"),
    }
    options = [
        Candidate(1, "refund", "Как вернуть деньги?", 0.5),
        Candidate(2, "password", "Забыл пароль", 0.4),
    ]
    clarify = Decision(Outcome.CLARIFY, Reason.UNSURE, "uk", candidates=options)
    labels = [option.question for option in in_language(clarify, indexed.get, "uk").candidates]
    assert labels == ["Як повернути гроші?", "Забыл пароль"]  # no Ukrainian: the main language
    answer = Decision(Outcome.ANSWER, Reason.CONFIDENT, "ru", 1, "refund", "Откройте профиль.")
    in_ukrainian = in_language(answer, indexed.get, "uk")
    assert (in_ukrainian.answer, in_ukrainian.answer_language) == ("Відкрийте профіль.", "uk")
    in_english = in_language(answer, indexed.get, "en")
    assert (in_english.answer, in_english.answer_language) == ("Откройте профиль.", "ru")
    gone = in_language(answer, lambda _: None, "uk")  # unpublished meanwhile: what was decided
    assert (gone.answer, gone.answer_language) == ("Откройте профиль.", None)


async def test_a_file_making_a_translations_language_the_main_one_replaces_it(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        await import_entries(session, _entries()[:1], author="ann")
    uk = TRANSLATED[0]["translations"]["uk"]
    now_ukrainian = FaqEntryData.model_validate(
        {"key": "refund", "language": "uk", "tags": ["billing"], **uk}
    )
    async with transaction(sessions) as session:
        report = await import_entries(session, [now_ukrainian], author="bob")
        entry = await get_entry(session, key="refund")
        assert entry is not None
        data = entry_data(entry)
        # What an agent's /faq sends each customer: their language's answer, else the main one.
        english = TRANSLATED[0]["translations"]["en"]["answer"]
        assert (entry.answer_in("en"), entry.answer_in("ru")) == (english, uk["answer"])
    assert report.updated == ["refund"]
    assert (data.language, data.question, list(data.translations)) == ("uk", uk["question"], ["en"])
