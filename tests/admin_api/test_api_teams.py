"""Teams over HTTP: a lead creates, changes and deletes them; routing rules send tickets to one;
agents see them; bad input gets a clear answer. The bot is off here (tickets made directly)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from admin_api.tokens import Role
from core.database import transaction
from core.settings import Settings
from handoff.conversations import CustomerProfile, register_customer
from handoff.desk import tickets
from handoff.desk.canned import canned_names, canned_reply
from handoff.desk.teams import default_team
from retrieval.decision import Decision, Outcome, Reason
from tests.support.api_harness import ApiHarness, api_harness

ADMIN, AGENT = Role.ADMIN, Role.AGENT
BILLING = {"name": "Billing", "level": "second", "agent_chat_id": -1002, "tags": ["Billing"]}


@pytest.fixture
async def api(settings: Settings, database_url: str) -> AsyncIterator[ApiHarness]:
    async with api_harness(settings, database_url) as harness:
        yield harness


async def _handed_off(api: ApiHarness, text: str, tags: list[str], user_id: int) -> int:
    async with transaction(api.services.sessions) as session:
        customer = await register_customer(session, CustomerProfile(user_id, user_id, "Ann"))
        ticket, _ = await tickets.escalate(
            session,
            customer,
            subject=text,
            decision=Decision(Outcome.HANDOFF, Reason.LOW_CONFIDENCE, "ru"),
            opening_message_id=None,
            considered_tags=tags,
        )
        return ticket.id


async def test_a_lead_creates_a_team_that_owns_its_services(api: ApiHarness) -> None:
    [default] = (await api.client.get("/api/v1/teams", headers=api.auth(AGENT))).json()
    assert (default["name"], default["level"], default["is_default"]) == (
        "First line",
        "first",
        True,
    )
    assert default["business_hours"] is None and default["open_now"] is True
    created = await api.client.post("/api/v1/teams", json=BILLING, headers=api.auth(ADMIN))
    assert created.status_code == 201, created.text
    billing = created.json()
    assert (billing["group"], billing["tags"], billing["waiting"]) == (-1002, ["billing"], 0)
    ticket = await _handed_off(api, "списали дважды", ["promo", "billing"], user_id=1)
    other = await _handed_off(api, "не работает", ["devices"], user_id=2)
    listed = await api.client.get(
        f"/api/v1/tickets?team_id={billing['id']}", headers=api.auth(AGENT)
    )
    assert [item["id"] for item in listed.json()["items"]] == [ticket]
    mine = await api.client.get(f"/api/v1/tickets/{other}", headers=api.auth(AGENT))
    assert mine.json()["team_id"] == default["id"]
    one = (await api.client.get(f"/api/v1/teams/{billing['id']}", headers=api.auth(AGENT))).json()
    assert one["waiting"] == 1


async def test_a_routing_rule_sends_tickets_to_its_team_before_the_catalogue(
    api: ApiHarness,
) -> None:
    await api.client.post("/api/v1/teams", json=BILLING, headers=api.auth(ADMIN))
    legal = await api.client.post(
        "/api/v1/teams", json={"name": "Legal", "level": "department"}, headers=api.auth(ADMIN)
    )
    rule = await api.client.put(
        "/api/v1/settings/routing-rules/court",
        json={"keywords": ["суд"], "team": "legal"},
        headers=api.auth(ADMIN),
    )
    assert rule.status_code == 200 and rule.json()["team"] == "Legal", rule.text
    ticket = await _handed_off(api, "подам в суд за двойное списание", ["billing"], user_id=3)
    shown = await api.client.get(f"/api/v1/tickets/{ticket}", headers=api.auth(AGENT))
    assert shown.json()["team_id"] == legal.json()["id"]
    unknown = await api.client.put(
        "/api/v1/settings/routing-rules/tax",
        json={"keywords": ["налог"], "team": "Tax"},
        headers=api.auth(ADMIN),
    )
    assert unknown.status_code == 422 and "no team 'Tax'" in unknown.json()["error"]["message"]
    returning = await api.client.put(
        "/api/v1/settings/routing-rules/back-to-legal",
        json={"team": "Legal", "returning_days": 14},
        headers=api.auth(ADMIN),
    )
    assert returning.json()["returning_days"] == 14, returning.text
    for wrong, says in (
        ({"returning_days": 14}, "needs a team"),
        ({"team": "Legal", "returning_days": 0}, "returning_days"),
    ):
        refused = await api.client.put(
            "/api/v1/settings/routing-rules/wrong", json=wrong, headers=api.auth(ADMIN)
        )
        assert refused.status_code == 422 and says in refused.text, refused.text


async def test_a_team_s_hours_and_service_levels_are_its_own_until_cleared(
    api: ApiHarness,
) -> None:
    created = await api.client.post("/api/v1/teams", json=BILLING, headers=api.auth(ADMIN))
    team = created.json()["id"]
    closed_sunday = {"timezone": "Europe/Kyiv", "weekly": {"mon": ["09:00-18:00"]}}
    sla = {
        "targets": {
            priority: {"first_response_minutes": 30, "resolution_minutes": 600}
            for priority in ("low", "normal", "high", "urgent")
        }
    }
    changed = await api.client.patch(
        f"/api/v1/teams/{team}",
        json={"business_hours": closed_sunday, "sla": sla, "level": "third"},
        headers=api.auth(ADMIN),
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["business_hours"]["timezone"] == "Europe/Kyiv" and body["level"] == "third"
    assert body["sla"]["targets"]["urgent"]["first_response_minutes"] == 30
    assert body["tags"] == ["billing"]  # left out: unchanged
    cleared = await api.client.patch(
        f"/api/v1/teams/{team}", json={"business_hours": None}, headers=api.auth(ADMIN)
    )
    assert cleared.json()["business_hours"] is None and cleared.json()["sla"] is not None


async def test_bad_team_requests_are_refused_with_reasons(api: ApiHarness) -> None:
    await api.client.post("/api/v1/teams", json=BILLING, headers=api.auth(ADMIN))
    cases = [
        ({"name": "billing"}, 409, "already a team 'Billing'"),
        ({"name": "Tax", "agent_chat_id": -1002}, 409, "team 'Billing''s"),
        ({"name": "Tax", "level": "fourth"}, 422, "level"),
        ({"name": ""}, 422, "name"),
        (
            {"name": "Tax", "business_hours": {"timezone": "Mars/Base", "weekly": {}}},
            422,
            "Mars/Base",
        ),
        ({"name": "Tax", "agent_chat_id": -1009, "in_main_group": True}, 422, "not both"),
        ({"name": "Tax", "in_main_group": "maybe"}, 422, "in_main_group"),
    ]
    for body, status, words in cases:
        refused = await api.client.post("/api/v1/teams", json=body, headers=api.auth(ADMIN))
        assert refused.status_code == status, (body, refused.text)
        assert words in refused.text, (body, refused.text)
    forbidden = await api.client.post("/api/v1/teams", json=BILLING, headers=api.auth(AGENT))
    assert forbidden.status_code == 403
    missing = await api.client.get("/api/v1/teams/999", headers=api.auth(AGENT))
    assert missing.status_code == 404 and "no team 999" in missing.text


async def test_a_small_team_works_in_a_topic_of_the_main_group(api: ApiHarness) -> None:
    body = {"name": "Partners", "level": "department", "in_main_group": True}
    created = await api.client.post("/api/v1/teams", json=body, headers=api.auth(ADMIN))
    assert created.status_code == 201, created.text
    partners = created.json()
    main_group = api.services.settings.agent_chat_id
    assert (partners["group"], partners["in_main_group"], partners["topic_id"]) == (
        main_group,
        True,
        None,  # the bot opens it
    )
    # Given a group of its own later, it leaves the main group's topic.
    moved = await api.client.patch(
        f"/api/v1/teams/{partners['id']}",
        json={"in_main_group": False, "agent_chat_id": -1005},
        headers=api.auth(ADMIN),
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["group"], moved.json()["in_main_group"]) == (-1005, False)
    teams = (await api.client.get("/api/v1/teams", headers=api.auth(AGENT))).json()
    default = next(team for team in teams if team["is_default"])
    refused = await api.client.patch(
        f"/api/v1/teams/{default['id']}", json={"in_main_group": True}, headers=api.auth(ADMIN)
    )
    assert refused.status_code == 422 and "is that group" in refused.text


async def test_a_team_with_active_tickets_and_the_default_team_stay(api: ApiHarness) -> None:
    billing = (await api.client.post("/api/v1/teams", json=BILLING, headers=api.auth(ADMIN))).json()
    teams = (await api.client.get("/api/v1/teams", headers=api.auth(AGENT))).json()
    default = next(team for team in teams if team["is_default"])
    refused = await api.client.delete(f"/api/v1/teams/{default['id']}", headers=api.auth(ADMIN))
    assert refused.status_code == 409 and "default team" in refused.text
    await _handed_off(api, "списали", ["billing"], user_id=4)
    busy = await api.client.delete(f"/api/v1/teams/{billing['id']}", headers=api.auth(ADMIN))
    assert busy.status_code == 409 and "1 active tickets" in busy.text
    empty = await api.client.post(
        "/api/v1/teams", json={"name": "Legal", "level": "department"}, headers=api.auth(ADMIN)
    )
    gone = await api.client.delete(f"/api/v1/teams/{empty.json()['id']}", headers=api.auth(ADMIN))
    assert gone.status_code == 204
    left = (await api.client.get("/api/v1/teams", headers=api.auth(AGENT))).json()
    assert [team["name"] for team in left] == ["First line", "Billing"]


async def test_escalating_while_the_bot_is_off_says_why_not(api: ApiHarness) -> None:
    await api.client.post("/api/v1/teams", json=BILLING, headers=api.auth(ADMIN))
    ticket = await _handed_off(api, "вопрос", [], user_id=5)
    refused = await api.client.post(
        f"/api/v1/tickets/{ticket}/escalate",
        json={"team": "Billing", "reason": "деньги"},
        headers=api.auth(AGENT),
    )
    assert refused.status_code == 503 and "the other team and the customer" in refused.text


async def test_a_team_s_own_canned_replies_are_offered_to_that_team_only(api: ApiHarness) -> None:
    billing = (await api.client.post("/api/v1/teams", json=BILLING, headers=api.auth(ADMIN))).json()
    for name, body in (
        ("hello", {"text": "Здравствуйте, {name}!"}),
        ("refund-steps", {"text": "Возврат за 5 дней.", "team": "billing"}),
    ):
        saved = await api.client.put(
            f"/api/v1/settings/canned-replies/{name}", json=body, headers=api.auth(ADMIN)
        )
        assert saved.status_code == 200, saved.text
    listed = await api.client.get("/api/v1/settings/canned-replies", headers=api.auth(AGENT))
    assert [(reply["name"], reply["team"]) for reply in listed.json()] == [
        ("hello", None),
        ("refund-steps", "Billing"),
    ]
    unknown = await api.client.put(
        "/api/v1/settings/canned-replies/x",
        json={"text": "x", "team": "Tax"},
        headers=api.auth(ADMIN),
    )
    assert unknown.status_code == 422 and "no team 'Tax'" in unknown.text
    async with api.services.sessions() as session:
        default = (await default_team(session)).id
        assert await canned_names(session, team_id=billing["id"]) == ["hello", "refund-steps"]
        assert await canned_names(session, team_id=default) == ["hello"]
        assert await canned_reply(session, "refund-steps", team_id=default) is None
