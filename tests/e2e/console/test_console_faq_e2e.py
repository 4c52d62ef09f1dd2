"""The web console's pages for editors, end to end in a real headless Chromium: signing in and
out, what each role sees, editing an entry (and a stale save), Try it, import, gaps and
translations. What an editor saves must be what the bot tells customers in Telegram.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console.browser import (
    Console,
    Watched,
    assert_every_control_is_labelled,
    expect,
    screenshot,
    sign_in,
)
from tests.support.desk import hand_off
from tests.support.telegram_people import customer

pytestmark = pytest.mark.model


def test_nothing_shows_without_a_valid_token_and_a_revoked_one_signs_out(
    tab: Watched, console: Console
) -> None:
    page = tab.page
    page.goto(f"{console.url}/console#/faq")
    token_field = page.get_by_label("API token")
    expect(token_field).to_have_attribute("type", "password")
    expect(token_field).to_be_focused()
    expect(page.locator("#top")).to_be_hidden()
    screenshot(page, "sign-in")

    token_field.fill("fl_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    expect(page.locator("table")).to_have_count(0)

    secret = console.token("editor", "Eda")
    sign_in(tab, console, secret, "#/faq")
    expect(page.locator("#faq-count")).to_contain_text("entries")
    kept = page.evaluate("() => [Object.keys(sessionStorage), Object.keys(localStorage)]")
    assert kept == [["firstline.console.token"], []]
    assert page.context.cookies() == []

    tokens = console.api("GET", "/tokens", console.admin).json()
    revoked = next(t for t in tokens if t["name"] == "Eda")
    console.api("DELETE", f"/tokens/{revoked['id']}", console.admin)
    page.get_by_role("link", name="Try it").click()
    expect(page.get_by_label("API token")).to_be_visible()
    expect(page.get_by_text("no longer valid")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0


def _fitted(console: Console) -> dict[str, Any]:
    """The engine's estimate once it has fitted itself to the FAQ (seconds after the start)."""
    for _ in range(120):
        fit: dict[str, Any] = console.api("GET", "/faq/calibration", console.admin).json()
        if fit["state"] == "fitted":
            return fit
        time.sleep(0.5)
    raise AssertionError(f"the FAQ was not fitted: {fit}")


def test_each_role_sees_only_what_it_may_do(tab: Watched, console: Console) -> None:
    page = tab.page
    sections = page.locator("#nav a")
    sign_in(tab, console, console.token("agent", "Ann"))
    expect(sections).to_have_text(["FAQ", "Try it", "Tickets"])
    expect(page.get_by_role("heading", name="Tickets")).to_be_visible()
    page.get_by_role("link", name="FAQ").click()
    expect(page.locator("#faq-count")).to_contain_text("entries")
    expect(page.get_by_role("link", name="New entry")).to_have_count(0)
    expect(page.locator("#expectation")).to_have_count(0)  # the estimate is for editors
    page.get_by_role("link", name="refund", exact=True).click()
    expect(page.get_by_text("Read only")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    page.goto(f"{console.url}/console#/settings")
    expect(page.get_by_text("has no page")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    expected = _fitted(console)
    sign_in(tab, console, console.token("editor", "Ed"))
    expect(sections).to_have_text(["FAQ", "Import & export", "Try it", "Gaps"])
    told = page.locator("#expectation")
    expect(told).to_contain_text("What the bot expects on this FAQ")
    at_most = round(expected["wrong_answers"]["high"] * 1000) / 10
    expect(told).to_contain_text(f"wrong answers (at most {at_most:g} %)")
    expect(told).to_contain_text(
        f"fixed in the settings, for a {expected['wrong_answer_budget'] * 100:g} %"
    )
    page.get_by_role("button", name="Sign out").click()

    sign_in(tab, console, console.admin)
    expect(sections).to_have_text(
        ["FAQ", "Import & export", "Try it", "Gaps", "Tickets", "Analytics", "Teams", "Settings"]
    )
    expect(page.locator("#faq-count")).to_contain_text("entries")
    assert_every_control_is_labelled(page)
    screenshot(page, "faq")


def test_an_editors_saved_answer_is_the_bots_next_answer(tab: Watched, console: Console) -> None:
    telegram = console.running.telegram
    question = console.api("GET", "/faq/cancel-subscription", console.admin).json()["question"]
    page = sign_in(tab, console, console.token("editor", "Anna"))
    page.get_by_label("Search").fill("cancel-sub")
    page.get_by_role("link", name="cancel-subscription").click()
    answer = page.get_by_label("Answer", exact=True)
    answer.fill("Отмена в два шага: *Профиль* → «Отменить подписку».")
    expect(page.locator("#answer-preview b")).to_have_text("Профиль")  # as Telegram shows it
    assert_every_control_is_labelled(page)
    screenshot(page, "faq-editor")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#notice")).to_contain_text("Saved")
    expect(page.locator("#entry-version")).to_have_text("version 2")

    telegram.send_text(customer(801, "Ира"), question)
    reply = telegram.wait_for_messages(801, 1)[0]
    assert "Отмена в два шага: <b>Профиль</b>" in reply.text

    page.get_by_role("button", name="History").click()
    page.get_by_role("button", name="What changed in version 2").click()
    expect(page.locator(".diff-add")).to_contain_text("Отмена в два шага")
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.locator("#entry-version")).to_have_text("version 3")
    restored = console.api("GET", "/faq/cancel-subscription", console.admin).json()
    assert "Отмена в два шага" not in restored["answer"]


def test_a_stale_save_shows_both_versions_and_keeps_the_other_edit(
    tab: Watched, console: Console
) -> None:
    page = sign_in(tab, console, console.token("editor", "Boris"), "#/faq/entry/refund")
    expect(page.locator("#entry-version")).to_have_text("version 1")

    read = console.api("GET", "/faq/refund", console.admin)
    theirs = {k: v for k, v in read.json().items() if k in ("question", "alt_questions", "tags")}
    theirs |= {"language": "ru", "status": "published", "answer": "Их правка: деньги за 3 дня."}
    saved = console.api(
        "PUT", "/faq/refund", console.admin, headers={"If-Match": read.headers["ETag"]}, json=theirs
    )
    assert saved.status_code == 200, saved.text

    page.get_by_label("Answer", exact=True).fill("Моя правка: деньги за 10 дней.")
    page.get_by_role("button", name="Save").click()
    conflict = page.locator("#conflict")
    expect(conflict.get_by_role("heading")).to_contain_text("someone else saved")
    answer_row = conflict.locator("tr[data-field=answer]")
    expect(answer_row.locator(".mine")).to_have_text("Моя правка: деньги за 10 дней.")
    expect(answer_row.locator(".theirs")).to_have_text("Их правка: деньги за 3 дня.")
    expect(answer_row).to_contain_text("differs")
    screenshot(page, "conflict")
    assert console.api("GET", "/faq/refund", console.admin).json()["answer"] == theirs["answer"]

    page.get_by_role("button", name="Discard my edit, open the saved version").click()
    expect(page.get_by_label("Answer", exact=True)).to_have_value(theirs["answer"])
    expect(page.locator("#entry-version")).to_have_text("version 2")


def test_try_it_shows_the_decision_and_its_candidates(tab: Watched, console: Console) -> None:
    page = sign_in(tab, console, console.admin, "#/try")
    page.get_by_label("A customer writes").fill("как отменить подписку")
    page.get_by_role("button", name="What would the bot do?").click()
    expect(page.locator("[data-decision]")).to_have_text(re.compile("answer|clarify"))
    expect(page.get_by_role("table", name="Candidates").locator("tbody tr").first).to_be_visible()
    screenshot(page, "try")


def test_import_is_checked_by_a_dry_run_before_it_is_applied(
    tab: Watched, console: Console, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"key": "gift-card", "question": "Подарок?"}]), "utf-8")
    good = tmp_path / "faq.json"
    entries = [
        {"key": "gift-card", "question": "Как подарить подписку?", "answer": "В «Профиле»."},
        {"key": "student-plan", "question": "Есть ли скидка студентам?", "answer": "Да, 50 %."},
    ]
    good.write_text(json.dumps(entries, ensure_ascii=False), "utf-8")
    page = sign_in(tab, console, console.token("editor", "Ira"), "#/import")

    page.get_by_label("FAQ file").set_input_files(str(broken))
    page.get_by_role("button", name="Check (dry run)").click()
    expect(page.locator("#import-result")).to_contain_text("Problems: nothing imported")
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()

    page.get_by_label("FAQ file").set_input_files(str(good))
    page.get_by_role("button", name="Check (dry run)").click()
    expect(page.locator("[data-list=created]")).to_contain_text("Created: 2")
    assert console.api("GET", "/faq/gift-card", console.admin).status_code == 404
    assert_every_control_is_labelled(page)
    screenshot(page, "import")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("2 created")
    assert console.api("GET", "/faq/gift-card", console.admin).status_code == 200


def test_a_gap_becomes_a_draft_that_is_published(tab: Watched, console: Console) -> None:
    hand_off(console.running, customer(803, "Нина"))
    page = sign_in(tab, console, console.token("editor", "Gal"), "#/gaps")
    gap = page.locator("[data-gap]", has_text="перевод в последней серии").first
    gap.get_by_role("button", name="Turn into an entry…").click()
    gap.get_by_label("Key").fill("translation-quality")
    gap.get_by_label("Answer").fill("Спасибо! Передали переводчикам, исправим за неделю.")
    assert_every_control_is_labelled(page)
    screenshot(page, "gaps")
    gap.get_by_role("button", name="Create the draft").click()
    gap.get_by_role("link", name="open translation-quality").click()
    expect(page.get_by_role("heading", name=re.compile("translation-quality"))).to_contain_text(
        "draft"
    )
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("translation-quality"))).to_contain_text(
        "published"
    )
    decided = console.api(
        "POST", "/answer", console.admin, json={"text": "перевод в последней серии ужасный"}
    ).json()
    assert decided["faq_key"] == "translation-quality", decided


def test_an_editor_translates_an_entry_and_a_ukrainian_customer_gets_it(
    tab: Watched, console: Console
) -> None:
    telegram = console.running.telegram
    page = sign_in(tab, console, console.token("editor", "Oksana"), "#/faq/entry/buy-movie")
    expect(page.locator("fieldset[data-language=ru]")).to_be_hidden()  # the main language
    page.get_by_label("Question (Ukrainian)").fill("Як купити фільм поза підпискою?")
    page.get_by_label("Other phrasings (Ukrainian)").fill("Фільм платний, як його купити")
    page.get_by_label("Answer (Ukrainian)").fill("Відкрийте фільм і натисніть *«Купити»*.")
    assert_every_control_is_labelled(page)
    screenshot(page, "faq-translation")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#notice")).to_contain_text("Saved")
    expect(page.locator("#entry-version")).to_have_text("version 2")

    telegram.send_text(customer(811, "Тарас", "uk"), "Як купити фільм поза підпискою?")
    reply = telegram.wait_for_messages(811, 1)[0]
    assert "Відкрийте фільм і натисніть <b>«Купити»</b>." in reply.text

    page.get_by_role("button", name="History").click()
    expect(page.locator("li[data-version='2']")).to_contain_text("changed: uk")
    page.goto(f"{console.url}/console#/faq/translations")
    expect(page.locator("#translations-summary")).to_contain_text("answers went out")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="buy-movie"))
    expect(row).to_contain_text("English")
    expect(row).not_to_contain_text("Ukrainian")
    assert_every_control_is_labelled(page)

    page.goto(f"{console.url}/console#/try")
    page.get_by_label("A customer writes").fill("How do I rent or buy a movie?")
    page.get_by_label("Language").select_option("en")
    page.get_by_role("button", name="What would the bot do?").click()
    expect(page.locator("#answer-language")).to_have_text(
        "Russian (no English translation: sent with a note)"
    )


def test_an_editor_sees_what_publishing_an_edit_would_change_before_saving_it(
    tab: Watched, console: Console
) -> None:
    telegram = console.running.telegram
    asked = "можно ли скачать фильм и смотреть в самолёте без интернета"
    telegram.send_text(customer(812, "Мира"), asked)
    telegram.wait_for_messages(812, 1)
    page = sign_in(tab, console, console.token("editor", "Vlad"), "#/faq/entry/family-plan")
    page.get_by_label("Question", exact=True).fill(asked)
    page.get_by_label("A question to try (optional)").fill(asked)
    page.get_by_role("button", name="What changes if I publish this?").click()
    result = page.locator("#what-if")
    expect(result.get_by_role("heading")).to_contain_text("What changes:")
    expect(page.locator("#what-if-asked")).to_contain_text("published, it answers: family-plan")
    changed = page.get_by_role("table", name="Questions decided otherwise")
    row = changed.get_by_role("row").filter(has_text=asked)
    expect(row).to_contain_text("answers: family-plan")
    expect(page.get_by_role("table", name="Before and after")).to_contain_text("If published")
    assert_every_control_is_labelled(page)
    screenshot(page, "what-if")
    saved = console.api("GET", "/faq/family-plan", console.admin).json()
    assert saved["version"] == 1 and saved["question"] != asked  # nothing was saved
