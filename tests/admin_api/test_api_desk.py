"""Agents, leads and editors over HTTP while the bot is off: the ticket queue and the desk's rules,
canned replies and routing rules, analytics, knowledge gaps and proposed phrasings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from admin_api.tokens import Role, issue_token
from core.database import transaction, utcnow
from core.settings import Settings
from handoff.conversations import CustomerProfile, record_message, register_customer
from handoff.desk import tickets
from handoff.models import Direction, MessageKind
from knowledge_base.repository import get_entry, propose_phrasing
from retrieval.decision import Decision, Outcome, Reason
from tests.support.api_harness import ApiHarness, api_harness

AGENT, ADMIN, EDITOR = Role.AGENT, Role.ADMIN, Role.EDITOR
LOW_CONFIDENCE = Decision(Outcome.HANDOFF, Reason.LOW_CONFIDENCE, "ru")


@pytest.fixture
async def api(settings: Settings, database_url: str) -> AsyncIterator[ApiHarness]:
    async with api_harness(settings, database_url) as harness:
        yield harness


async def _handed_off(api: ApiHarness, text: str, user_id: int = 1) -> int:
    """A customer asked something the bot could not answer: the message and the ticket."""
    async with transaction(api.services.sessions) as session:
        customer = await register_customer(session, CustomerProfile(user_id, user_id, "Ann"))
        question = record_message(
            session,
            customer,
            Direction.INBOUND,
            MessageKind.TEXT,
            text=text,
            decision=LOW_CONFIDENCE,
        )
        await session.flush()
        ticket, _ = await tickets.escalate(
            session,
            customer,
            subject=text,
            decision=LOW_CONFIDENCE,
            opening_message_id=question.id,
        )
        return ticket.id


async def _second_agent(api: ApiHarness) -> dict[str, str]:
    async with transaction(api.services.sessions) as session:
        issued = await issue_token(session, name="Petr", role=AGENT)
    return {"Authorization": f"Bearer {issued.secret}"}


async def test_the_queue_lists_and_filters_tickets(api: ApiHarness) -> None:
    first = await _handed_off(api, "перевод в последней серии ужасный", user_id=1)
    second = await _handed_off(api, "когда выйдет третий сезон", user_id=2)
    queue = await api.client.get("/api/v1/tickets?status=new", headers=api.auth(AGENT))
    assert [t["id"] for t in queue.json()["items"]] == [second, first]
    unassigned = await api.client.get("/api/v1/tickets?assignee=none", headers=api.auth(AGENT))
    assert unassigned.json()["total"] == 2
    ticket = await api.client.get(f"/api/v1/tickets/{first}", headers=api.auth(AGENT))
    body = ticket.json()
    assert body["conversation"][0]["text"] == "перевод в последней серии ужасный"
    assert [e["action"] for e in body["events"]] == ["created"]
    missing = await api.client.get("/api/v1/tickets/999", headers=api.auth(AGENT))
    assert missing.status_code == 404 and "#999" in missing.json()["error"]["message"]


async def test_one_ticket_one_owner_over_the_api(api: ApiHarness) -> None:
    ticket_id = await _handed_off(api, "когда выйдет третий сезон")
    petr = await _second_agent(api)
    taken = await api.client.post(f"/api/v1/tickets/{ticket_id}/take", headers=api.auth(AGENT))
    assert taken.status_code == 200 and taken.json()["assignee_id"] is not None
    assert taken.json()["assignee_name"] == "agent-ann"  # the token's name
    queue = await api.client.get("/api/v1/tickets", headers=petr)
    assert [t["assignee_name"] for t in queue.json()["items"]] == ["agent-ann"]
    refused = await api.client.post(f"/api/v1/tickets/{ticket_id}/take", headers=petr)
    assert refused.status_code == 409
    assert "only the owner" in refused.json()["error"]["message"]
    closing = await api.client.post(f"/api/v1/tickets/{ticket_id}/close", headers=petr)
    assert closing.status_code == 409

    note = await api.client.post(
        f"/api/v1/tickets/{ticket_id}/notes", json={"text": "VIP, be kind"}, headers=petr
    )
    assert note.status_code == 201  # anyone may leave a note; it never reaches the customer
    urgent = await api.client.post(
        f"/api/v1/tickets/{ticket_id}/priority", json={"priority": "urgent"}, headers=petr
    )
    assert urgent.json()["priority"] == "urgent"
    closed = await api.client.post(f"/api/v1/tickets/{ticket_id}/close", headers=api.auth(AGENT))
    assert closed.json()["status"] == "closed"
    detail = await api.client.get(f"/api/v1/tickets/{ticket_id}", headers=api.auth(AGENT))
    events = [(e["action"], e["agent_name"]) for e in detail.json()["events"]]
    assert events == [
        ("created", None),
        ("taken", "agent-ann"),
        ("note", "Petr"),
        ("priority", "Petr"),
        ("closed", "agent-ann"),
    ]
    again = await api.client.post(f"/api/v1/tickets/{ticket_id}/take", headers=api.auth(AGENT))
    assert again.status_code == 409 and "closed" in again.text


async def test_of_two_closes_at_once_exactly_one_closes(api: ApiHarness) -> None:
    ticket_id = await _handed_off(api, "когда выйдет третий сезон")
    results = await asyncio.gather(
        *(
            api.client.post(f"/api/v1/tickets/{ticket_id}/close", headers=api.auth(AGENT))
            for _ in "ab"
        )
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    detail = await api.client.get(f"/api/v1/tickets/{ticket_id}", headers=api.auth(AGENT))
    assert [e["action"] for e in detail.json()["events"]].count("closed") == 1


async def test_a_reply_while_the_bot_is_off_is_refused_and_nothing_is_recorded(
    api: ApiHarness,
) -> None:
    ticket_id = await _handed_off(api, "когда выйдет третий сезон")
    reply = await api.client.post(
        f"/api/v1/tickets/{ticket_id}/reply", json={"text": "Скоро!"}, headers=api.auth(AGENT)
    )
    assert reply.status_code == 503 and "bot is not running" in reply.json()["error"]["message"]
    detail = await api.client.get(f"/api/v1/tickets/{ticket_id}", headers=api.auth(AGENT))
    assert [m["direction"] for m in detail.json()["conversation"]] == ["in"]
    empty = await api.client.post(
        f"/api/v1/tickets/{ticket_id}/reply", json={"text": ""}, headers=api.auth(AGENT)
    )
    assert empty.status_code == 422


async def test_leads_keep_canned_replies_and_routing_rules(api: ApiHarness) -> None:
    saved = await api.client.put(
        "/api/v1/settings/canned-replies/Refund",
        json={"text": "{name}, деньги вернутся за 3–5 дней."},
        headers=api.auth(ADMIN),
    )
    assert saved.json() == {
        "name": "refund",
        "text": "{name}, деньги вернутся за 3–5 дней.",
        "team": None,
    }
    listed = await api.client.get("/api/v1/settings/canned-replies", headers=api.auth(AGENT))
    assert [r["name"] for r in listed.json()] == ["refund"]

    rule = {
        "keywords": ["списали дважды", "charged twice"],
        "priority": "urgent",
        "add_tags": ["billing"],
    }
    put = await api.client.put(
        "/api/v1/settings/routing-rules/double-charge", json=rule, headers=api.auth(ADMIN)
    )
    assert put.status_code == 200 and put.json()["enabled"] is True
    ticket_id = await _handed_off(api, "у меня списали дважды за подписку")
    routed = await api.client.get(f"/api/v1/tickets/{ticket_id}", headers=api.auth(AGENT))
    assert routed.json()["priority"] == "urgent" and routed.json()["tags"] == ["billing"]

    gone = await api.client.delete(
        "/api/v1/settings/routing-rules/double-charge", headers=api.auth(ADMIN)
    )
    assert gone.status_code == 204
    again = await api.client.delete(
        "/api/v1/settings/routing-rules/double-charge", headers=api.auth(ADMIN)
    )
    assert again.status_code == 404


async def test_analytics_count_the_period_and_refuse_a_bad_one(api: ApiHarness) -> None:
    await _handed_off(api, "когда выйдет третий сезон")
    report = await api.client.get("/api/v1/analytics", headers=api.auth(ADMIN))
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["handoffs"]["by_reason"] == {"low_confidence": 1}
    assert body["conversations"]["total"] == 1
    future = (utcnow() + timedelta(days=1)).isoformat()
    backwards = await api.client.get(
        "/api/v1/analytics", params={"start": future}, headers=api.auth(ADMIN)
    )
    assert backwards.status_code == 422 and "before its end" in backwards.text
    zone = await api.client.get(
        "/api/v1/analytics", params={"timezone": "Mars/Olympus"}, headers=api.auth(ADMIN)
    )
    assert zone.status_code == 422 and "time zone" in zone.text


async def test_a_gap_becomes_a_draft_entry_in_one_call(api: ApiHarness) -> None:
    for user_id, text in enumerate(["как оформить доставку", "доставка как оформить?"], start=1):
        await _handed_off(api, text, user_id=user_id)
    listed = await api.client.get("/api/v1/gaps?threshold=0.9", headers=api.auth(EDITOR))
    assert listed.status_code == 200, listed.text
    gap = listed.json()[0]
    assert gap["volume"] == 2 and gap["customers"] == 2

    without_answer = await api.client.post(
        f"/api/v1/gaps/{gap['id']}/apply", json={}, headers=api.auth(EDITOR)
    )
    assert without_answer.status_code == 422 and "answer" in without_answer.text
    made = await api.client.post(
        f"/api/v1/gaps/{gap['id']}/apply",
        json={"answer": "Выберите «Доставка» в корзине.", "key": "order-delivery"},
        headers=api.auth(EDITOR),
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft" and made.json()["key"] == "order-delivery"
    unknown = await api.client.post(
        "/api/v1/gaps/gap-999999/apply", json={"answer": "x"}, headers=api.auth(EDITOR)
    )
    assert unknown.status_code == 404


async def test_an_accepted_phrasing_is_answered_at_once(api: ApiHarness) -> None:
    async with transaction(api.services.sessions) as session:
        entry = await get_entry(session, key="password")
        assert entry is not None
        proposal = await propose_phrasing(session, entry, "не помню пароль", source="ticket:1")
        rejected = await propose_phrasing(session, entry, "пароль сломался", source="ticket:2")
        assert proposal is not None and rejected is not None
    pending = await api.client.get("/api/v1/gaps/proposals", headers=api.auth(EDITOR))
    assert [p["text"] for p in pending.json()] == ["не помню пароль", "пароль сломался"]

    accepted = await api.client.post(
        f"/api/v1/gaps/proposals/{proposal.id}", json={"accept": True}, headers=api.auth(EDITOR)
    )
    assert accepted.json()["entry_changed"] is True
    no = await api.client.post(
        f"/api/v1/gaps/proposals/{rejected.id}", json={"accept": False}, headers=api.auth(EDITOR)
    )
    assert no.json()["entry_changed"] is False
    twice = await api.client.post(
        f"/api/v1/gaps/proposals/{proposal.id}", json={"accept": True}, headers=api.auth(EDITOR)
    )
    assert twice.status_code == 409
    entry_now = await api.client.get("/api/v1/faq/password", headers=api.auth(EDITOR))
    assert entry_now.json()["alt_questions"] == ["не помню пароль"]


def _metric(text: str, name: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(lines[0].split()[-1]) if lines else 0.0


async def test_metrics_count_decisions_tickets_and_requests(api: ApiHarness) -> None:
    before = (await api.client.get("/metrics")).text
    await api.answer("забыл пароль")
    await _handed_off(api, "когда выйдет третий сезон")
    after = await api.client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    answered = 'firstline_decisions_total{outcome="answer",reason="confident"}'
    assert _metric(after.text, answered) == _metric(before, answered) + 1
    assert _metric(after.text, 'firstline_tickets{status="new"}') == 1
    assert _metric(after.text, "firstline_faq_entries") == 2
    assert 'firstline_api_request_seconds_count{method="POST",route="/api/v1/answer"' in after.text
