"""Translations over the admin API (SQLite and PostgreSQL): one language at a time with the
entry's ETag, the whole entry's history, files in and out, answers in the conversation's
language, and the list of entries missing a translation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from admin_api.tokens import Role
from core.settings import Settings
from tests.support.api_harness import ApiHarness, api_harness

EDITOR = Role.EDITOR
UK = {
    "question": "Забув пароль",
    "alt_questions": ["не пам'ятаю пароль"],
    "answer": "Натисніть «Забули пароль?».",
}
EN = {"question": "I forgot my password", "answer": "Press “Forgot password?”."}


@pytest.fixture
async def api(settings: Settings, database_url: str) -> AsyncIterator[ApiHarness]:
    settings = settings.model_copy(update={"faq_languages": ["ru", "uk", "en"]})
    async with api_harness(settings, database_url) as harness:
        yield harness


async def _call(api: ApiHarness, method: str, path: str, **kwargs: Any) -> Any:
    headers = api.auth(EDITOR) | kwargs.pop("headers", {})
    return await api.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)


async def _etag(api: ApiHarness, key: str) -> str:
    return str((await _call(api, "GET", f"/faq/{key}")).headers["ETag"])


async def _translate(api: ApiHarness, key: str, language: str, body: dict[str, Any]) -> Any:
    etag = await _etag(api, key)
    return await _call(
        api, "PUT", f"/faq/{key}/translations/{language}", json=body, headers={"If-Match": etag}
    )


async def test_a_translation_is_written_read_and_answered_with(api: ApiHarness) -> None:
    written = await _translate(api, "password", "uk", UK)
    assert written.status_code == 200, written.text
    assert written.headers["ETag"] == '"2"' and written.json()["translations"]["uk"] == UK
    read = await _call(api, "GET", "/faq/password/translations/uk")
    assert read.json() == UK and read.headers["ETag"] == '"2"'

    asked = {"text": "Забыл пароль"}
    answer = (await _call(api, "POST", "/answer", json=asked | {"language": "uk"})).json()
    assert (answer["answer"], answer["answer_language"]) == (UK["answer"], "uk")
    fallback = (await _call(api, "POST", "/answer", json=asked | {"language": "en"})).json()
    assert (fallback["answer"], fallback["answer_language"]) == ("Нажмите «Забыли пароль?».", "ru")

    # An edit of the whole entry that says nothing of translations keeps them.
    entry = (await _call(api, "GET", "/faq/password")).json()
    content = {k: entry[k] for k in ("question", "alt_questions", "tags", "language", "status")}
    edited = await _call(
        api,
        "PUT",
        "/faq/password",
        json=content | {"answer": "Новый ответ."},
        headers={"If-Match": '"2"'},
    )
    assert edited.status_code == 200 and edited.json()["translations"] == {"uk": UK}

    removed = await _call(
        api, "DELETE", "/faq/password/translations/uk", headers={"If-Match": '"3"'}
    )
    assert removed.status_code == 200 and removed.json()["translations"] == {}
    history = (await _call(api, "GET", "/faq/password/versions")).json()
    assert [(v["change"], v["languages_changed"]) for v in history] == [
        ("created", ["ru"]),
        ("uk translated", ["uk"]),
        ("updated", ["ru"]),
        ("uk translation removed", ["uk"]),
    ]


async def test_translations_keep_the_entrys_etag_rules(api: ApiHarness) -> None:
    stale = await _call(
        api, "PUT", "/faq/password/translations/uk", json=UK, headers={"If-Match": '"7"'}
    )
    assert stale.status_code == 412
    unconditional = await _call(api, "PUT", "/faq/password/translations/uk", json=UK)
    assert unconditional.status_code == 428
    assert (await _translate(api, "password", "uk", UK)).status_code == 200
    again = await _call(
        api, "PUT", "/faq/password/translations/en", json=EN, headers={"If-Match": '"1"'}
    )
    assert again.status_code == 412 and "version 2" in again.text


async def test_bad_translations_get_a_clear_refusal(api: ApiHarness) -> None:
    main = await _translate(api, "password", "ru", UK)
    assert main.status_code == 409 and "main language" in main.text
    unknown_language = await _translate(api, "password", "de", UK)
    assert unknown_language.status_code == 422
    empty = await _translate(api, "password", "uk", UK | {"answer": "  "})
    assert empty.status_code == 422 and "answer" in empty.text
    unknown_entry = await _call(
        api, "PUT", "/faq/no-such-entry/translations/uk", json=UK, headers={"If-Match": "*"}
    )
    assert unknown_entry.status_code == 404 and "no-such-entry" in unknown_entry.text
    missing = await _call(api, "GET", "/faq/password/translations/en")
    assert missing.status_code == 404 and "no 'en' translation" in missing.text
    entry = (await _call(api, "GET", "/faq/password")).json()
    assert entry["version"] == 1 and entry["translations"] == {}


async def test_a_language_the_faq_does_not_keep_is_refused(
    settings: Settings, database_url: str
) -> None:
    settings = settings.model_copy(update={"faq_languages": ["ru", "uk"]})
    async with api_harness(settings, database_url) as api:
        english = await _translate(api, "password", "en", EN)
        assert english.status_code == 404 and "(ru, uk)" in english.text
        file = '[{"key": "x", "question": "Вопрос", "answer": "Ответ", "translations": {"en": {"question": "Q", "answer": "A"}}}]'
        refused = await _call(api, "POST", "/faq/import", content=file)
        assert refused.status_code == 422
        assert refused.json()["error"]["details"] == [
            {
                "location": "entry 1 ('x')",
                "problem": "language 'en' is not one of this FAQ's (ru, uk)",
            }
        ]


@pytest.mark.parametrize("fmt", ["json", "csv", "md"])
async def test_exports_with_translations_import_back_unchanged(api: ApiHarness, fmt: str) -> None:
    await _translate(api, "password", "uk", UK)
    await _translate(api, "password", "en", EN)
    exported = await _call(api, "GET", "/faq/export", params={"format": fmt})
    assert exported.status_code == 200 and "Натисніть" in exported.text
    again = await _call(
        api, "POST", "/faq/import", params={"format": fmt}, content=exported.content
    )
    assert again.json() == {
        "dry_run": False,
        "created": [],
        "updated": [],
        "unchanged": ["password", "refund"],
    }


async def test_the_list_of_entries_missing_a_language(api: ApiHarness) -> None:
    await _translate(api, "password", "uk", UK)
    report = (await _call(api, "GET", "/translations", params={"missing": "uk"})).json()
    assert [entry["faq_key"] for entry in report["entries"]] == ["refund"]
    assert report["entries"][0]["missing"] == ["uk", "en"]
    everything = (await _call(api, "GET", "/translations")).json()
    password = next(e for e in everything["entries"] if e["faq_key"] == "password")
    assert (password["translated"], password["missing"]) == (["uk"], ["en"])
