"""Teams end to end: `firstline run` over the fake Bot API with three forum groups — the first
line (FIRSTLINE_AGENT_CHAT_ID), the billing specialists (second line, owning the tag "billing")
and the lawyers (a department reached by a routing rule, closed right now). Teams are made by a
lead over the admin API; agents work in their own group exactly as they would in Telegram."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import buttons
from bot.customers.texts import EN, RU, UK
from bot.customers.when import describe_opening, describe_wait
from handoff.line.hours import BusinessHours
from handoff.line.wait import WaitEstimate
from tests.support.desk import UNCOVERED, desk_with_admin
from tests.support.teams import TeamsRun
from tests.support.telegram_people import agent, customer

pytestmark = pytest.mark.model

FIRST_LINE = -1001000000001
BILLING = -1001000000002
LAWYERS = -1001000000003
OLGA = agent(9101, "Olga", "olga_first")  # first line
PETR = agent(9102, "Petr", "petr_billing")  # billing
# The bot is not sure (low confidence), and the entries it weighed first are billing's.
BILLING_QUESTION = "оплата по безналу от компании"
UNCOVERED_UK = "переклад в останній серії жахливий"
UNCOVERED_EN = "the translation in the last episode is awful"


@dataclass
class Teams(TeamsRun):
    agent_token: str
    team_ids: dict[str, int]
    lawyers_schedule: str


def _closed_now_schedule(now: datetime) -> dict[str, Any]:
    """One hour a day, starting two to three hours from now (UTC): closed at the moment."""
    opens = (now + timedelta(hours=2)).hour
    day = [f"{opens:02d}:00-{(opens + 1) % 24:02d}:00"]
    weekly = {name: day for name in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return {"timezone": "UTC", "weekly": weekly}


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory, imported_faq: Path) -> Iterator[Teams]:
    workdir = tmp_path_factory.mktemp("teams-e2e")
    with desk_with_admin(workdir, imported_faq, FIRST_LINE) as (running, url, admin):
        hours = _closed_now_schedule(datetime.now(UTC))
        setup = Teams(running, url, admin, "", {}, f"mon-sun {hours['weekly']['mon'][0]}")
        setup.agent_token = setup.issue_agent_token("Api Agent")
        for body in (
            {"name": "Billing", "level": "second", "agent_chat_id": BILLING, "tags": ["billing"]},
            {"name": "Lawyers", "level": "department", "agent_chat_id": LAWYERS}
            | {"business_hours": hours},
        ):
            created = setup.call("POST", "/teams", **body)
            assert created.status_code == 201, created.text
            setup.team_ids[body["name"]] = created.json()["id"]
        rule = setup.call(
            "PUT", "/settings/routing-rules/lawyers", keywords=["юрист"], team="Lawyers"
        )
        assert rule.status_code == 200 and rule.json()["team"] == "Lawyers", rule.text
        setup.team_ids["First line"] = next(
            team["id"] for team in setup.call("GET", "/teams").json() if team["is_default"]
        )
        yield setup


def _wait_words(position: int, minutes: int, language: str) -> str:
    return describe_wait(WaitEstimate(position, minutes), language)


def test_a_billing_question_opens_its_ticket_in_the_billing_group(teams: Teams) -> None:
    user = customer(501, "Анна")
    teams.telegram.send_text(user, BILLING_QUESTION)
    thread = teams.customer_topic(BILLING, 501)
    card = teams.in_topic(BILLING, thread, "<b>Ticket #")
    assert BILLING_QUESTION in card.text
    ticket_id, team, owner = teams.ticket(501)
    assert (team, owner) == (teams.team_ids["Billing"], None)
    assert not [m for m in teams.telegram.messages_to(FIRST_LINE) if BILLING_QUESTION in m.text]
    told = teams.telegram.wait_for_messages(501, 1)[0].text
    assert RU.queue_wait.format(position=1, wait=_wait_words(1, 15, "ru")) in told
    listed = teams.call("GET", f"/tickets?team_id={teams.team_ids['Billing']}").json()
    assert [item["id"] for item in listed["items"]] == [ticket_id]
    # Out of the way of the next tests' queue: closed by an agent over the API.
    closed = teams.call("POST", f"/tickets/{ticket_id}/close", teams.agent_token)
    assert closed.status_code == 200, closed.text


def test_escalation_to_the_second_line_and_back_keeps_one_owner(teams: Teams) -> None:
    telegram = teams.telegram
    user = customer(502, "Оксана", "uk")
    telegram.send_text(user, UNCOVERED_UK)
    first_topic = teams.customer_topic(FIRST_LINE, 502)
    first_card = teams.in_topic(FIRST_LINE, first_topic, "<b>Ticket #")
    ticket_id, team, _ = teams.ticket(502)
    assert team == teams.team_ids["First line"]
    assert [label for label, _ in first_card.buttons][-1] == "⤴️ Escalate"
    telegram.send_in_topic(FIRST_LINE, first_topic, OLGA, "Добрий день! Зараз перевірю.")
    told = len(telegram.wait_for_messages(502, 3))  # handoff, Olga joined, her reply

    telegram.send_in_topic(FIRST_LINE, first_topic, OLGA, "/escalate billing двічі списали гроші")
    # The second line's group: the card with the reason, then the whole conversation.
    billing_topic = teams.customer_topic(BILLING, 502)
    card = teams.in_topic(BILLING, billing_topic, f"<b>Ticket #{ticket_id}</b>")
    assert "Passed on</b> from First line by @olga_first: двічі списали гроші" in card.text
    transcript = teams.in_topic(BILLING, billing_topic, "The whole conversation")
    assert UNCOVERED_UK in transcript.text and "Зараз перевірю" in transcript.text
    # The first line's topic says where it went.
    teams.in_topic(FIRST_LINE, first_topic, f"passed ticket #{ticket_id} to <b>Billing</b>")
    # The customer hears it in Ukrainian, with the billing team's queue and wait.
    passed = telegram.wait_for_messages(502, told + 1)[-1].text
    assert passed == (
        UK.passed_to_team.format(team="Billing")
        + "\n\n"
        + UK.queue_wait.format(position=1, wait=_wait_words(1, 15, "uk"))
    )
    assert teams.ticket(502) == (ticket_id, teams.team_ids["Billing"], None)

    # The first line's topic is for reading now: nothing written there reaches the customer.
    telegram.send_in_topic(FIRST_LINE, first_topic, OLGA, "ще одне питання від мене")
    teams.in_topic(FIRST_LINE, first_topic, "is now with <b>Billing</b>")
    # A billing agent replies in their group: they take it, and the customer gets the reply.
    telegram.send_in_topic(BILLING, billing_topic, PETR, "Перевірив оплату, все гаразд.")
    replies = telegram.wait_for_messages(502, told + 3)
    assert replies[-2].text == UK.agent_joined.format(agent="Petr")
    assert replies[-1].text == "Перевірив оплату, все гаразд."
    assert not any("ще одне питання" in m.text for m in telegram.messages_to(502))
    owner = teams.ticket(502)[2]
    assert owner is not None
    # One owner at a time, across teams and the API.
    refused = teams.call("POST", f"/tickets/{ticket_id}/reply", teams.agent_token, text="Я тут")
    assert refused.status_code == 409 and "@petr_billing" in refused.json()["error"]["message"]
    again = teams.call(
        "POST", f"/tickets/{ticket_id}/escalate", teams.agent_token, team="Lawyers", reason="?"
    )
    assert again.status_code == 409, again.text

    # The hand-back: the first line's topic gets the card again, nobody owns it.
    telegram.send_in_topic(BILLING, billing_topic, PETR, "/handback це не про оплату")
    back_card = teams.in_topic(FIRST_LINE, first_topic, "from Billing by @petr_billing")
    assert "це не про оплату" in back_card.text
    assert teams.ticket(502) == (ticket_id, teams.team_ids["First line"], None)
    told_back = telegram.wait_for_messages(502, told + 4)[-1].text
    assert told_back.startswith(UK.passed_to_team.format(team="First line"))
    teams.in_topic(BILLING, billing_topic, f"passed ticket #{ticket_id} to <b>First line</b>")
    telegram.send_in_topic(FIRST_LINE, first_topic, OLGA, "Повернулася, дивлюся переклад.")
    assert telegram.wait_for_messages(502, told + 6)[-1].text == "Повернулася, дивлюся переклад."
    trail = teams.call("GET", f"/tickets/{ticket_id}", teams.agent_token).json()["events"]
    moves = [event["details"] for event in trail if event["action"] == "escalated"]
    assert [(m["from_level"], m["to_level"], m["reason"]) for m in moves] == [
        ("first", "second", "двічі списали гроші"),
        ("second", "first", "це не про оплату"),
    ]


def test_the_card_button_and_the_api_pass_a_ticket_on(teams: Teams) -> None:
    telegram = teams.telegram
    user = customer(503, "John", "en")
    telegram.send_text(user, UNCOVERED_EN)
    first_topic = teams.customer_topic(FIRST_LINE, 503)
    card = teams.in_topic(FIRST_LINE, first_topic, "<b>Ticket #")
    ticket_id = teams.ticket(503)[0]
    telegram.send_in_topic(FIRST_LINE, first_topic, OLGA, "/escalate")
    usage = teams.in_topic(FIRST_LINE, first_topic, "Usage: /escalate")
    assert "Billing, Lawyers" in usage.text
    telegram.press_in_group(OLGA, card, buttons.desk("esc", ticket_id))
    chooser = telegram.wait_until_found(
        lambda: [e for e in telegram.edits if e.method == "editMessageReplyMarkup" and e.buttons]
    )[-1]
    assert [label for label, _ in chooser.buttons] == ["⤴️ Billing", "⤴️ Lawyers", "↩ Back"]
    telegram.press_in_group(OLGA, card, chooser.buttons[0][1])
    billing_topic = teams.customer_topic(BILLING, 503)
    teams.in_topic(BILLING, billing_topic, f"<b>Ticket #{ticket_id}</b>")
    assert telegram.wait_for_messages(503, 2)[-1].text.startswith(
        EN.passed_to_team.format(team="Billing")
    )
    # Over the API, to a team that does not exist, then to the lawyers (closed right now).
    unknown = teams.call("POST", f"/tickets/{ticket_id}/escalate", teams.agent_token, team="Tax")
    assert unknown.status_code == 404 and "GET /api/v1/teams" in unknown.json()["error"]["message"]
    moved = teams.call(
        "POST", f"/tickets/{ticket_id}/escalate", teams.agent_token, team="lawyers", reason="GDPR"
    )
    assert moved.status_code == 200 and moved.json()["team_id"] == teams.team_ids["Lawyers"]
    lawyers_topic = teams.customer_topic(LAWYERS, 503)
    teams.in_topic(LAWYERS, lawyers_topic, "by Api Agent: GDPR")
    told = telegram.wait_for_messages(503, 3)[-1].text
    assert told.startswith(EN.passed_to_team.format(team="Lawyers"))
    assert EN.wait_closed.format(opening=_opening_words(teams.lawyers_schedule, "en")) in told


def _opening_words(schedule: str, language: str) -> str:
    now = datetime.now(UTC)
    opening = BusinessHours.parse(schedule, timezone="UTC").next_opening(now)
    assert opening is not None
    return describe_opening(opening, now, language)


def test_a_ticket_routed_to_a_closed_team_gets_that_team_s_opening_time(teams: Teams) -> None:
    telegram = teams.telegram
    lawyer = customer(504, "Борис")
    telegram.send_text(lawyer, "мне нужен юрист по поводу договора оферты")
    thread = teams.customer_topic(LAWYERS, 504)
    teams.in_topic(LAWYERS, thread, "<b>Ticket #")
    told = telegram.wait_for_messages(504, 1)[0].text
    assert RU.out_of_hours.format(opening=_opening_words(teams.lawyers_schedule, "ru")) in told
    # The first line is open (always): its customer hears the queue and the wait instead.
    other = customer(505, "Вера")
    telegram.send_text(other, UNCOVERED)
    teams.customer_topic(FIRST_LINE, 505)
    told_other = telegram.wait_for_messages(505, 1)[0].text
    assert "Место в очереди" in told_other and "не на связи" not in told_other
    status = {team["name"]: team["open_now"] for team in teams.call("GET", "/teams").json()}
    assert status == {"First line": True, "Billing": True, "Lawyers": False}
