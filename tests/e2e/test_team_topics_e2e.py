"""A small team working in a topic of the main agents' group, end to end: `firstline run` over
the fake Bot API with one forum group. A lead makes the partnerships department over the admin
API with no group of its own; the bot opens its topic in the main group, a ticket routed to it
opens there (announced in the team's topic, named after the team), only its members answer, and
the first line passes tickets to it and gets them back inside the same topic."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.customers.texts import RU
from tests.support.desk import UNCOVERED, desk_with_admin
from tests.support.teams import TeamsRun
from tests.support.telegram_people import MEDIA, agent, customer

pytestmark = pytest.mark.model

MAIN_GROUP = -1001000000001
OLGA = agent(9201, "Olga", "olga_first")  # the first line
PAVEL = agent(9202, "Pavel", "pavel_partners")  # the partnerships department
PARTNERSHIP = "позовите менеджера, хочу обсудить партнерство"


@dataclass
class SmallTeam(TeamsRun):
    team_id: int
    topic: int  # the team's own topic in the main group


@pytest.fixture(scope="module")
def small_team(tmp_path_factory: pytest.TempPathFactory, imported_faq: Path) -> Iterator[SmallTeam]:
    workdir = tmp_path_factory.mktemp("team-topics-e2e")
    with desk_with_admin(workdir, imported_faq, MAIN_GROUP, FIRSTLINE_LINE_CHECK_SECONDS="1") as (
        running,
        url,
        admin,
    ):
        setup = SmallTeam(running, url, admin, 0, 0)
        created = setup.call(
            "POST", "/teams", name="Partners", level="department", in_main_group=True
        )
        assert created.status_code == 201, created.text
        assert created.json()["group"] == MAIN_GROUP and created.json()["topic_id"] is None
        setup.team_id = created.json()["id"]
        rule = setup.call(
            "PUT", "/settings/routing-rules/partners", keywords=["партнерство"], team="Partners"
        )
        assert rule.status_code == 200, rule.text
        # The line's job opens the team's topic in the main group, and says what it is for.
        telegram = running.telegram
        found = telegram.wait_until_found(
            lambda: [t for (_, t), name in telegram.topics.items() if name == "👥 Partners"]
        )
        setup.topic = found[0]
        setup.in_topic(MAIN_GROUP, setup.topic, "Write anything here to become one of Partners")
        listed = setup.call("GET", f"/teams/{setup.team_id}").json()
        assert listed["topic_id"] == setup.topic and listed["in_main_group"] is True
        yield setup


def test_writing_in_the_team_s_topic_makes_an_agent_one_of_it(small_team: SmallTeam) -> None:
    # A sticker counts as writing there too.
    small_team.telegram.send_in_topic(
        MAIN_GROUP, small_team.topic, PAVEL, {"sticker": MEDIA["sticker"]["sticker"]}
    )
    small_team.in_topic(MAIN_GROUP, small_team.topic, "@pavel_partners is one of Partners now.")
    members = small_team.call("GET", f"/teams/{small_team.team_id}").json()["members"]
    assert [member["username"] for member in members] == ["pavel_partners"]
    # Said once: writing there again changes nothing.
    small_team.telegram.send_in_topic(MAIN_GROUP, small_team.topic, PAVEL, "ещё раз")
    small_team.telegram.send_in_topic(MAIN_GROUP, small_team.topic, PAVEL, "/close")
    small_team.in_topic(MAIN_GROUP, small_team.topic, "This is not a ticket's topic")
    joined = [
        m
        for m in small_team.telegram.messages_in_topic(MAIN_GROUP, small_team.topic)
        if "is one of Partners now" in m.text
    ]
    assert len(joined) == 1


def test_a_ticket_routed_to_the_small_team_opens_in_the_main_group(small_team: SmallTeam) -> None:
    telegram = small_team.telegram
    telegram.send_in_topic(MAIN_GROUP, small_team.topic, PAVEL, "на месте")
    user = customer(601, "Игорь")
    telegram.send_text(user, PARTNERSHIP)
    thread = small_team.customer_topic(MAIN_GROUP, 601)
    card = small_team.in_topic(MAIN_GROUP, thread, "<b>Ticket #")
    ticket_id, team, owner = small_team.ticket(601)
    assert (team, owner) == (small_team.team_id, None)
    assert PARTNERSHIP in card.text
    assert telegram.topics[(MAIN_GROUP, thread)].startswith("🆕 Partners: Игорь")
    # Announced in the team's own topic, with the way to the customer's.
    announced = small_team.in_topic(MAIN_GROUP, small_team.topic, f"Ticket #{ticket_id}:")
    assert f"https://t.me/c/1000000001/{thread}" in announced.text
    # A first-line agent in the same group does not answer the department's customer.
    telegram.send_in_topic(MAIN_GROUP, thread, OLGA, "Здравствуйте, это Ольга")
    small_team.in_topic(
        MAIN_GROUP, thread, "their agents answer it in this topic, and this was not sent"
    )
    # The department's agent does.
    telegram.send_in_topic(MAIN_GROUP, thread, PAVEL, "Добрый день! Расскажите подробнее.")
    replies = telegram.wait_for_messages(601, 3)  # handoff, Pavel joined, his reply
    assert replies[-1].text == "Добрый день! Расскажите подробнее."
    assert not any("это Ольга" in m.text for m in telegram.messages_to(601))
    assert small_team.ticket(601)[2] is not None
    closed = telegram.send_in_topic(MAIN_GROUP, thread, PAVEL, "/close")
    assert closed
    small_team.in_topic(MAIN_GROUP, thread, "closed")


def test_the_first_line_passes_a_ticket_to_the_small_team_and_gets_it_back(
    small_team: SmallTeam,
) -> None:
    telegram = small_team.telegram
    user = customer(602, "Вера")
    telegram.send_text(user, UNCOVERED)
    thread = small_team.customer_topic(MAIN_GROUP, 602)
    small_team.in_topic(MAIN_GROUP, thread, "<b>Ticket #")
    ticket_id, first_line, _ = small_team.ticket(602)
    assert first_line != small_team.team_id
    telegram.send_in_topic(MAIN_GROUP, thread, OLGA, "Добрый день, посмотрю.")
    told = len(telegram.wait_for_messages(602, 3))  # handoff, Olga joined, her reply

    telegram.send_in_topic(MAIN_GROUP, thread, OLGA, "/escalate partners хотят стать партнёром")
    # The same topic: where it went, then the department's card with the reason.
    small_team.in_topic(
        MAIN_GROUP, thread, "to <b>Partners</b> (a department): хотят стать партнёром."
    )
    small_team.in_topic(MAIN_GROUP, thread, "Passed on</b> from First line by @olga_first")
    announced = small_team.in_topic(MAIN_GROUP, small_team.topic, f"Ticket #{ticket_id}:")
    assert "Passed on from First line by @olga_first: хотят стать партнёром" in announced.text
    assert not [
        m for m in telegram.messages_in_topic(MAIN_GROUP, thread) if "whole conversation" in m.text
    ]
    passed = telegram.wait_for_messages(602, told + 1)[-1].text
    assert passed.startswith(RU.passed_to_team.format(team="Partners"))
    assert small_team.ticket(602) == (ticket_id, small_team.team_id, None)
    assert telegram.topics[(MAIN_GROUP, thread)].startswith("🆕 Partners: Вера")

    telegram.send_in_topic(MAIN_GROUP, thread, PAVEL, "Здравствуйте, я из отдела партнёрств.")
    replies = telegram.wait_for_messages(602, told + 3)
    assert replies[-1].text == "Здравствуйте, я из отдела партнёрств."
    telegram.send_in_topic(MAIN_GROUP, thread, PAVEL, "/handback это не к нам")
    small_team.in_topic(
        MAIN_GROUP, thread, "Passed on</b> from Partners by @pavel_partners: это не к нам"
    )
    assert small_team.ticket(602) == (ticket_id, first_line, None)
    back = telegram.wait_for_messages(602, told + 4)[-1].text
    assert back.startswith(RU.passed_to_team.format(team="First line"))
    telegram.send_in_topic(MAIN_GROUP, thread, OLGA, "Снова я, разбираюсь.")
    assert telegram.wait_for_messages(602, told + 6)[-1].text == "Снова я, разбираюсь."
    assert not telegram.topics[(MAIN_GROUP, thread)].startswith("🆕 Partners")
