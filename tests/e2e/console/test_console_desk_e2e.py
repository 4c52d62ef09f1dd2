"""The web console's pages for agents and leads, end to end in a real headless Chromium: a
ticket taken and answered (the customer gets it in Telegram), analytics and its CSV, business
hours and tokens, teams and routing.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bot.customers.texts import EN
from tests.e2e.console.browser import (
    PHONE,
    Console,
    Watched,
    assert_every_control_is_labelled,
    expect,
    screenshot,
    sign_in,
)
from tests.support.desk import hand_off, ticket_row
from tests.support.telegram_people import customer

pytestmark = pytest.mark.model


def test_an_agent_takes_and_replies_and_the_customer_gets_it_in_telegram(
    tab: Watched, console: Console
) -> None:
    telegram = console.running.telegram
    user = customer(802, "Олег")
    hand_off(console.running, user)
    telegram.wait_for_messages(802, 1)
    ticket_id = ticket_row(console.running, 802)[0]
    page = sign_in(tab, console, console.token("agent", "Vera"))
    page.get_by_label("Assignee").select_option("none")
    page.get_by_role("link", name=f"#{ticket_id}").click()
    expect(page.locator("#conversation")).to_contain_text("перевод в последней серии ужасный")
    page.get_by_role("button", name="Take").click()
    expect(page.locator("#notice")).to_contain_text(f"You took ticket #{ticket_id}")
    page.get_by_label("Reply", exact=True).fill("Исправим <b>завтра</b>!")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#notice")).to_contain_text("Reply sent")
    expect(page.locator("#conversation")).to_contain_text("Vera (agent)")
    telegram.wait_until_found(
        lambda: [m for m in telegram.messages_to(802) if "Исправим &lt;b&gt;завтра" in m.text]
    )
    page.get_by_label("Note", exact=True).fill("проверить субтитры")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("table", name="Audit trail")).to_contain_text("проверить субтитры")
    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Set priority").click()
    expect(page.locator("dl.facts")).to_contain_text("high")
    assert_every_control_is_labelled(page)
    screenshot(page, "ticket")
    page.get_by_role("link", name="← All tickets").click()
    page.get_by_label("Assignee").select_option(label="Me")
    expect(page.get_by_role("table", name="Tickets")).to_contain_text(f"#{ticket_id}")
    screenshot(page, "tickets")

    page.set_viewport_size(PHONE)
    page.get_by_role("link", name=f"#{ticket_id}").click()
    expect(page.locator("#conversation")).to_contain_text("Исправим <b>завтра</b>!")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "phone-ticket")


def test_the_analytics_page_draws_its_charts_and_exports_csv(
    tab: Watched, console: Console
) -> None:
    page = sign_in(tab, console, console.admin, "#/analytics")
    expect(page.locator("#chart-hours svg rect")).to_have_count(24)
    expect(page.locator("#chart-weekdays svg rect")).to_have_count(7)
    expect(page.locator("#chart-csat svg rect")).to_have_count(5)
    expect(page.locator("#chart-reasons svg rect").first).to_be_visible()
    expect(page.locator("#chart-days svg")).to_be_visible()
    days = page.locator("#chart-days svg rect")  # the week asked for, a bar a day
    assert days.count() >= 7
    expect(page.locator("#chart-days-resolved svg rect")).to_have_count(days.count())
    assert_every_control_is_labelled(page)
    screenshot(page, "analytics")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    text = Path(download.value.path()).read_text("utf-8")
    assert text.startswith("section,item,measure,value")
    assert re.search(r"^conversations,all,total,\d+", text, re.MULTILINE)
    assert re.search(r"^conversations_by_day,\d{4}-\d\d-\d\d,total,\d+", text, re.MULTILINE)


def test_an_admins_business_hours_are_what_the_bot_tells_customers(
    tab: Watched, console: Console
) -> None:
    telegram = console.running.telegram
    before = console.api("GET", "/settings/business-hours", console.admin).json()
    page = sign_in(tab, console, console.admin, "#/settings")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    page.get_by_label("Time zone", exact=True).fill("UTC")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day).fill("09:00-18:00")
    page.get_by_label("Special days").fill(f"{today} closed inventory")
    page.get_by_role("button", name="Save business hours").click()
    expect(page.locator("#notice")).to_contain_text("Business hours saved")
    expect(page.locator("#hours")).to_contain_text("closed now")
    assert_every_control_is_labelled(page)
    screenshot(page, "settings")
    try:
        telegram.send_text(customer(804, "Lena", "en"), "agent please")
        told = telegram.wait_until_found(
            lambda: [m for m in telegram.messages_to(804) if "closed right now" in m.text]
        )[-1]
        assert EN.out_of_hours.split("{opening}")[0] in told.text
        assert "tomorrow at 9:00" in told.text
    finally:
        restored = {k: before[k] for k in ("timezone", "weekly", "holidays", "special_days")}
        console.api("PUT", "/settings/business-hours", console.admin, json=restored)

    page.get_by_label("Whose token").fill("New editor")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("New token")
    expect(secret).to_have_value(re.compile(r"^fl_"))
    expect(page.get_by_text("shown only once")).to_be_visible()


def test_an_admin_makes_a_team_and_its_service_s_tickets_open_in_its_group(
    tab: Watched, console: Console
) -> None:
    telegram = console.running.telegram
    page = sign_in(tab, console, console.admin, "#/teams")
    expect(page.locator("#teams")).to_contain_text("First line")
    page.get_by_label("Team name").fill("Billing")
    page.get_by_label("Level").select_option("second")
    page.get_by_label("Forum group id").fill("-1009876543210")
    page.get_by_label("Services (tags)").fill("billing")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator("#notice")).to_contain_text("Team Billing saved")
    expect(page.locator("#teams")).to_contain_text("-1009876543210")
    page.get_by_label("Team name").fill("Billing")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("alert")).to_contain_text("already a team 'Billing'")
    # A small team: a topic in the main agents' group rather than a group of its own.
    page.get_by_label("Team name").fill("Partners")
    page.get_by_label("A topic in the main group").check()
    expect(page.get_by_label("Forum group id")).to_be_disabled()
    page.get_by_role("button", name="Create team").click()
    expect(page.locator("#notice")).to_contain_text("Team Partners saved")
    expect(page.locator("#teams")).to_contain_text("a topic in")
    expect(page.locator("#team-figures")).to_contain_text("solved by the first line")
    assert_every_control_is_labelled(page)
    screenshot(page, "teams")
    page.goto(f"{console.url}/console#/settings")
    page.get_by_label("Rule name").fill("chargebacks")
    page.get_by_label("Keywords").fill("chargeback")
    page.get_by_label("Send to team").fill("billing")
    page.get_by_role("button", name="Save routing rule").click()
    expect(page.locator("#routing")).to_contain_text("team Billing")
    teams = console.api("GET", "/teams", console.admin).json()
    billing = next(team for team in teams if team["name"] == "Billing")
    assert (billing["level"], billing["group"], billing["tags"]) == (
        "second",
        -1009876543210,
        ["billing"],
    )
    try:
        telegram.send_text(customer(806, "Ira"), "оплата по безналу от компании")
        telegram.wait_until_found(
            lambda: [m for m in telegram.messages_to(-1009876543210) if "<b>Ticket #" in m.text]
        )
    finally:
        ticket = console.api("GET", f"/tickets?team_id={billing['id']}", console.admin).json()
        for item in ticket["items"]:
            console.api("POST", f"/tickets/{item['id']}/close", console.admin)
        console.api("DELETE", "/settings/routing-rules/chargebacks", console.admin)
        console.api("DELETE", f"/teams/{billing['id']}", console.admin)
        partners = next(team for team in teams if team["name"] == "Partners")
        assert partners["in_main_group"] and partners["agent_chat_id"] is None
        console.api("DELETE", f"/teams/{partners['id']}", console.admin)
