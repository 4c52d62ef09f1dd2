"""Editors over HTTP: edits with If-Match, drafts, delete and restore, history and rollback,
imports with a dry run, and the bot's index following every change (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from admin_api.tokens import Role
from core.settings import Settings
from tests.support.api_harness import ApiHarness, api_harness

EDITOR = Role.EDITOR
NEW_ANSWER = "1. Откройте «Вход».\n2. Нажмите «Забыли пароль?».\n3. Перейдите по ссылке."


@pytest.fixture
async def api(settings: Settings, database_url: str) -> AsyncIterator[ApiHarness]:
    async with api_harness(settings, database_url) as harness:
        yield harness


async def _read(api: ApiHarness, key: str) -> tuple[dict[str, object], str]:
    response = await api.client.get(f"/api/v1/faq/{key}", headers=api.auth(EDITOR))
    assert response.status_code == 200, response.text
    return response.json(), response.headers["ETag"]


async def _put(
    api: ApiHarness, key: str, content: dict[str, object], etag: str | None
) -> tuple[int, dict[str, object]]:
    headers = api.auth(EDITOR) | ({"If-Match": etag} if etag else {})
    response = await api.client.put(f"/api/v1/faq/{key}", json=content, headers=headers)
    return response.status_code, response.json()


def _content(entry: dict[str, object], **changes: object) -> dict[str, object]:
    fields = ("question", "alt_questions", "answer", "tags", "language", "status")
    return {name: entry[name] for name in fields} | changes


async def test_an_edit_is_answered_at_once_and_a_stale_edit_is_refused(api: ApiHarness) -> None:
    entry, etag = await _read(api, "password")
    status, edited = await _put(api, "password", _content(entry, answer=NEW_ANSWER), etag)
    assert status == 200 and edited["version"] == 2
    assert (await api.answer("забыл пароль"))["answer"] == NEW_ANSWER

    status, refused = await _put(api, "password", _content(entry, answer="старый текст"), etag)
    assert status == 412
    assert "version 2" in str(refused["error"])
    assert (await _read(api, "password"))[0]["answer"] == NEW_ANSWER


async def test_an_edit_without_if_match_is_refused_with_a_hint(api: ApiHarness) -> None:
    entry, _ = await _read(api, "password")
    status, body = await _put(api, "password", _content(entry, answer="x"), None)
    assert status == 428
    assert "If-Match" in str(body["error"])


async def test_of_two_editors_saving_the_same_version_at_once_one_wins(api: ApiHarness) -> None:
    entry, etag = await _read(api, "refund")
    results = await asyncio.gather(
        _put(api, "refund", _content(entry, answer="Ответ Анны."), etag),
        _put(api, "refund", _content(entry, answer="Ответ Бориса."), etag),
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 412]
    winner = next(body for status, body in results if status == 200)
    final, final_etag = await _read(api, "refund")
    assert final["answer"] == winner["answer"] and final_etag == '"2"'


async def test_rollback_restores_the_old_answer_and_the_index(api: ApiHarness) -> None:
    entry, etag = await _read(api, "password")
    await _put(api, "password", _content(entry, answer=NEW_ANSWER), etag)
    versions = await api.client.get("/api/v1/faq/password/versions", headers=api.auth(EDITOR))
    assert [v["change"] for v in versions.json()] == ["created", "updated"]

    rolled = await api.client.post(
        "/api/v1/faq/password/rollback", json={"version": 1}, headers=api.auth(EDITOR)
    )
    assert rolled.status_code == 200 and rolled.json()["version"] == 3
    assert (await api.answer("забыл пароль"))["answer"] == entry["answer"]
    missing = await api.client.post(
        "/api/v1/faq/password/rollback", json={"version": 99}, headers=api.auth(EDITOR)
    )
    assert missing.status_code == 404 and "no version 99" in missing.text


async def test_a_draft_is_not_answered_until_published(api: ApiHarness) -> None:
    draft = {
        "key": "delivery-time",
        "question": "Сколько идёт доставка",
        "answer": "От 1 до 3 дней.",
        "status": "draft",
    }
    created = await api.client.post("/api/v1/faq", json=draft, headers=api.auth(EDITOR))
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    assert (await api.client.get(created.headers["Location"], headers=api.auth(EDITOR))).is_success
    # The team's file re-imported without a status column leaves the draft a draft.
    without_status = {k: v for k, v in draft.items() if k != "status"}
    reimport = await api.client.post(
        "/api/v1/faq/import?format=json", json=[without_status], headers=api.auth(EDITOR)
    )
    assert reimport.json()["unchanged"] == ["delivery-time"]
    assert (await api.answer("сколько идёт доставка"))["faq_key"] != "delivery-time"

    published = await api.client.post(
        "/api/v1/faq/delivery-time/publish", headers=api.auth(EDITOR) | {"If-Match": '"1"'}
    )
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert (await api.answer("сколько идёт доставка"))["answer"] == "От 1 до 3 дней."
    again = await api.client.post("/api/v1/faq", json=draft, headers=api.auth(EDITOR))
    assert again.status_code == 409


async def test_a_deleted_entry_leaves_the_bot_and_comes_back_on_restore(api: ApiHarness) -> None:
    _, etag = await _read(api, "password")
    deleted = await api.client.delete(
        "/api/v1/faq/password", headers=api.auth(EDITOR) | {"If-Match": etag}
    )
    assert deleted.status_code == 204
    assert (await api.answer("забыл пароль"))["faq_key"] is None
    listed = await api.client.get("/api/v1/faq", headers=api.auth(EDITOR))
    assert [e["key"] for e in listed.json()["items"]] == ["refund"]
    bin_ = await api.client.get("/api/v1/faq?deleted=true", headers=api.auth(EDITOR))
    assert [e["key"] for e in bin_.json()["items"]] == ["password"]

    restored = await api.client.post("/api/v1/faq/password/restore", headers=api.auth(EDITOR))
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    assert (await api.answer("забыл пароль"))["faq_key"] == "password"


async def test_the_list_filters_by_search_tag_language_and_status(api: ApiHarness) -> None:
    entry = {
        "key": "hours",
        "question": "When are you open?",
        "answer": "9 to 6.",
        "tags": ["info"],
    }
    await api.client.post("/api/v1/faq", json=entry, headers=api.auth(EDITOR))

    async def keys(query: str) -> list[str]:
        response = await api.client.get(f"/api/v1/faq?{query}", headers=api.auth(EDITOR))
        assert response.status_code == 200, response.text
        return [item["key"] for item in response.json()["items"]]

    assert await keys("search=ВОЗВРАТ") == ["refund"]
    assert await keys("tag=info") == ["hours"]
    assert await keys("language=en") == ["hours"]
    assert await keys("status=draft") == []
    assert await keys("limit=1&offset=1") == ["refund"]
    assert await keys("updated_since=2099-01-01T00:00:00Z") == []
    naive = await api.client.get(
        "/api/v1/faq?updated_since=2026-11-25T00:00:00", headers=api.auth(EDITOR)
    )
    assert naive.status_code == 422 and "timezone" in naive.text


async def test_an_import_dry_run_lists_the_changes_and_changes_nothing(api: ApiHarness) -> None:
    before = (await api.client.get("/api/v1/faq/export", headers=api.auth(EDITOR))).text
    upload = json.dumps(
        [
            {"key": "password", "question": "Забыл пароль", "answer": "Новый ответ."},
            {
                "key": "refund",
                "question": "Вернуть деньги за подписку",
                "answer": "Напишите «возврат».",
            },
            {"key": "courier", "question": "Где курьер с доставкой?", "answer": "Смотрите трек."},
        ],
        ensure_ascii=False,
    ).encode()
    dry = await api.client.post(
        "/api/v1/faq/import?format=json&dry_run=true", content=upload, headers=api.auth(EDITOR)
    )
    assert dry.json() == {
        "dry_run": True,
        "created": ["courier"],
        "updated": ["password"],
        "unchanged": ["refund"],
    }
    assert (await api.client.get("/api/v1/faq/export", headers=api.auth(EDITOR))).text == before
    assert (await api.answer("забыл пароль"))["answer"] != "Новый ответ."

    done = await api.client.post(
        "/api/v1/faq/import?format=json", content=upload, headers=api.auth(EDITOR)
    )
    assert done.json()["dry_run"] is False
    assert (await api.answer("забыл пароль"))["answer"] == "Новый ответ."


async def test_a_broken_import_is_refused_whole_with_each_problem(api: ApiHarness) -> None:
    upload = (
        b'[{"key": "ok-one", "question": "Q", "answer": "A"}, {"key": "Bad Key!", "answer": ""}]'
    )
    response = await api.client.post(
        "/api/v1/faq/import?format=json", content=upload, headers=api.auth(EDITOR)
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and len(error["details"]) >= 2
    listed = await api.client.get("/api/v1/faq?search=ok-one", headers=api.auth(EDITOR))
    assert listed.json()["total"] == 0


async def test_csv_export_imports_back_unchanged(api: ApiHarness) -> None:
    exported = await api.client.get("/api/v1/faq/export?format=csv", headers=api.auth(EDITOR))
    assert exported.headers["content-type"].startswith("text/csv")
    again = await api.client.post(
        "/api/v1/faq/import?format=csv&dry_run=true",
        content=exported.content,
        headers=api.auth(EDITOR),
    )
    assert again.json()["unchanged"] == ["password", "refund"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b'{"key": "x", "question": ', 400, "not valid JSON"),
        (b"\xff\xfebinary", 400, "not valid JSON"),
        (b"\xff\xfe\x00binary", 400, "NUL characters"),
        (b'{"key": "x", "question": "a\\u0000b", "answer": "a"}', 400, "NUL characters"),
        (b'{"key": "x"}', 422, "question"),
        (b'{"key": "<b>x</b>", "question": "q", "answer": "a"}', 422, "key"),
        (b'{"key": "x", "question": "   ", "answer": "a"}', 422, "question"),
        (b'["not", "an", "object"]', 422, "invalid_request"),
    ],
)
async def test_bad_bodies_get_a_clear_error(
    api: ApiHarness, body: bytes, status: int, says: str
) -> None:
    response = await api.client.post(
        "/api/v1/faq",
        content=body,
        headers=api.auth(EDITOR) | {"Content-Type": "application/json"},
    )
    assert response.status_code == status
    assert says in response.text
    assert set(response.json()["error"]) >= {"status", "code", "message"}


async def test_an_oversized_body_is_refused_before_it_is_read(api: ApiHarness) -> None:
    huge = b"[" + b'"x",' * (6 * 1024 * 1024) + b'"x"]'
    response = await api.client.post(
        "/api/v1/faq/import?format=json", content=huge, headers=api.auth(EDITOR)
    )
    assert response.status_code == 413
    assert "MB" in response.json()["error"]["message"]

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(30):
            yield b" " * (1024 * 1024)

    chunked = await api.client.post(
        "/api/v1/faq",
        content=streamed(),
        headers=api.auth(EDITOR) | {"Content-Type": "application/json"},
    )
    assert chunked.status_code == 413


async def test_markup_and_emoji_are_stored_as_written(api: ApiHarness) -> None:
    entry = {
        "key": "markup",
        "question": "<b>жирный</b> *вопрос* [x](y) & 🙂",
        "answer": "<script>alert(1)</script> & _курсив_ 🚚",
    }
    created = await api.client.post("/api/v1/faq", json=entry, headers=api.auth(EDITOR))
    assert created.status_code == 201
    stored, _ = await _read(api, "markup")
    assert stored["question"] == entry["question"] and stored["answer"] == entry["answer"]


async def test_the_preview_decides_any_text_without_crashing(api: ApiHarness) -> None:
    for text in ["", "   ", "🙂🙂🙂", "x" * 100_000, "'; DROP TABLE faq_entries; --", "\x01\x02"]:
        decision = await api.answer(text)
        assert decision["decision"] in {"answer", "clarify", "handoff"}
    nul = await api.client.post(
        "/api/v1/answer", json={"text": "a\x00b"}, headers=api.auth(Role.AGENT)
    )
    assert nul.status_code == 400 and "NUL" in nul.json()["error"]["message"]


async def test_an_eval_file_runs_against_its_own_faq(api: ApiHarness) -> None:
    eval_file = {
        "name": "tiny",
        "faq": [{"key": "pw", "question": "Забыл пароль", "answer": "Сбросьте его."}],
        "queries": [
            {"text": "забыл пароль", "expected": "pw"},
            {"text": "позовите оператора", "expected": "HUMAN"},
        ],
    }
    response = await api.client.post("/api/v1/eval", json=eval_file, headers=api.auth(EDITOR))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metrics"]["queries"] == 2 and body["metrics"]["human_handoff"] == 1.0
    assert [r["decision"]["decision"] for r in body["results"]][1] == "handoff"
    listed = await api.client.get("/api/v1/faq?search=pw", headers=api.auth(EDITOR))
    assert listed.json()["total"] == 0  # the live knowledge base is untouched
