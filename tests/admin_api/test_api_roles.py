"""Every route × every role: who may call what (admin ⊃ editor; agent), 401 without a valid token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from admin_api.tokens import Role, list_tokens, revoke_token
from core.database import transaction
from core.settings import Settings
from tests.support.api_harness import ApiHarness, api_harness

ANY = None  # any valid token
# (method, path, the role it needs). Path parameters are filled with plausible values.
ROUTES: list[tuple[str, str, Role | None]] = [
    ("GET", "/api/v1/faq", ANY),
    ("POST", "/api/v1/faq", Role.EDITOR),
    ("GET", "/api/v1/faq/export", Role.EDITOR),
    ("GET", "/api/v1/faq/calibration", Role.EDITOR),
    ("POST", "/api/v1/faq/import", Role.EDITOR),
    ("GET", "/api/v1/faq/{key}", ANY),
    ("PUT", "/api/v1/faq/{key}", Role.EDITOR),
    ("DELETE", "/api/v1/faq/{key}", Role.EDITOR),
    ("POST", "/api/v1/faq/{key}/restore", Role.EDITOR),
    ("POST", "/api/v1/faq/{key}/publish", Role.EDITOR),
    ("GET", "/api/v1/faq/{key}/versions", Role.EDITOR),
    ("POST", "/api/v1/faq/{key}/rollback", Role.EDITOR),
    ("GET", "/api/v1/faq/{key}/translations/{language}", ANY),
    ("PUT", "/api/v1/faq/{key}/translations/{language}", Role.EDITOR),
    ("DELETE", "/api/v1/faq/{key}/translations/{language}", Role.EDITOR),
    ("GET", "/api/v1/translations", ANY),
    ("POST", "/api/v1/answer", ANY),
    ("POST", "/api/v1/faq/{key}/what-if", Role.EDITOR),
    ("POST", "/api/v1/eval", Role.EDITOR),
    ("GET", "/api/v1/gaps", Role.EDITOR),
    ("GET", "/api/v1/gaps/proposals", Role.EDITOR),
    ("POST", "/api/v1/gaps/proposals/{proposal_id}", Role.EDITOR),
    ("GET", "/api/v1/gaps/{gap_id}/draft", Role.EDITOR),
    ("POST", "/api/v1/gaps/{gap_id}/apply", Role.EDITOR),
    ("GET", "/api/v1/tickets", Role.AGENT),
    ("GET", "/api/v1/tickets/{ticket_id}", Role.AGENT),
    ("POST", "/api/v1/tickets/{ticket_id}/take", Role.AGENT),
    ("POST", "/api/v1/tickets/{ticket_id}/reply", Role.AGENT),
    ("POST", "/api/v1/tickets/{ticket_id}/notes", Role.AGENT),
    ("POST", "/api/v1/tickets/{ticket_id}/priority", Role.AGENT),
    ("POST", "/api/v1/tickets/{ticket_id}/close", Role.AGENT),
    ("POST", "/api/v1/tickets/{ticket_id}/escalate", Role.AGENT),
    ("GET", "/api/v1/teams", Role.AGENT),
    ("POST", "/api/v1/teams", Role.ADMIN),
    ("GET", "/api/v1/teams/{team_id}", Role.AGENT),
    ("PATCH", "/api/v1/teams/{team_id}", Role.ADMIN),
    ("DELETE", "/api/v1/teams/{team_id}", Role.ADMIN),
    ("GET", "/api/v1/settings/canned-replies", Role.AGENT),
    ("PUT", "/api/v1/settings/canned-replies/{name}", Role.ADMIN),
    ("DELETE", "/api/v1/settings/canned-replies/{name}", Role.ADMIN),
    ("GET", "/api/v1/settings/business-hours", Role.AGENT),
    ("PUT", "/api/v1/settings/business-hours", Role.ADMIN),
    ("GET", "/api/v1/settings/sla", Role.AGENT),
    ("PUT", "/api/v1/settings/sla", Role.ADMIN),
    ("GET", "/api/v1/settings/routing-rules", Role.ADMIN),
    ("PUT", "/api/v1/settings/routing-rules/{name}", Role.ADMIN),
    ("DELETE", "/api/v1/settings/routing-rules/{name}", Role.ADMIN),
    ("GET", "/api/v1/analytics", Role.ADMIN),
    ("GET", "/api/v1/analytics/teams", Role.ADMIN),
    ("GET", "/api/v1/tokens", Role.ADMIN),
    ("POST", "/api/v1/tokens", Role.ADMIN),
    ("DELETE", "/api/v1/tokens/{token_id}", Role.ADMIN),
]
PATH_VALUES = {
    "{key}": "password",
    "{language}": "uk",
    "{ticket_id}": "1",
    "{proposal_id}": "1",
    "{gap_id}": "gap-1",
    "{name}": "refund",
    "{token_id}": "999",
}


def _allowed(role: Role, needed: Role | None) -> bool:
    return needed is None or role in (needed, Role.ADMIN)


def _url(path: str) -> str:
    for placeholder, value in PATH_VALUES.items():
        path = path.replace(placeholder, value)
    return path


@pytest.fixture
async def api(settings: Settings, tmp_path: Path) -> AsyncIterator[ApiHarness]:
    # Roles do not depend on the database: SQLite alone keeps the ~200 calls quick.
    async with api_harness(settings, f"sqlite+aiosqlite:///{tmp_path}/roles.sqlite3") as harness:
        yield harness


async def test_the_table_covers_every_route_of_the_api(api: ApiHarness) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    served = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    assert served == {(method, path) for method, path, _ in ROUTES}


async def test_each_role_may_call_what_it_needs_and_nothing_else(api: ApiHarness) -> None:
    refused: list[str] = []
    for method, path, needed in ROUTES:
        for role in Role:
            response = await api.client.request(method, _url(path), json={}, headers=api.auth(role))
            expected_allowed = _allowed(role, needed)
            if expected_allowed == (response.status_code == 403) or response.status_code == 401:
                refused.append(f"{role} {method} {path}: {response.status_code}")
            if response.status_code == 403:
                assert "needs a token with the role" in response.json()["error"]["message"]
    assert refused == []


async def test_no_route_answers_without_a_valid_token(api: ApiHarness) -> None:
    async with transaction(api.services.sessions) as session:
        for token in await list_tokens(session):
            if token.role == Role.AGENT:
                await revoke_token(session, token.id)
    revoked = api.auth(Role.AGENT)
    for method, path, _ in ROUTES:
        for headers in (
            {},
            {"Authorization": "Bearer fl_wrong"},
            {"Authorization": "Basic x"},
            revoked,
        ):
            response = await api.client.request(method, _url(path), json={}, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.json()["error"]["code"] == "unauthorized"
