"""The whole loop in a real browser: request, draft, fix, approve, client check-in, review."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import PORCH_REQUEST, assert_accessible, log_in, screenshot
from tests.factories import Tenant, make_client

pytestmark = pytest.mark.browser


def _approve_button(page: Page) -> Locator:
    return page.locator("#approve-box").get_by_role("button", name=re.compile("^Approve"))


def test_request_to_next_session(page: Page, browser: Browser, live_server: str,
                                 tenant: Tenant) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as http:
        client = make_client(http, tenant, external_id="PMS-42", name="Maria Lopez")

    # Log in.
    page.goto("/login")
    assert_accessible(page, "login")
    screenshot(page, "login")
    log_in(page, tenant)
    expect(page.get_by_role("heading", name="Drafts awaiting review")).to_be_visible()

    # The new-draft form: client, plain-language request, preferences, cues, next session.
    page.get_by_role("link", name="New draft").first.click()
    expect(page.get_by_role("heading", name="New draft")).to_be_visible()
    page.get_by_label("Client", exact=True).select_option(str(client["id"]))
    page.get_by_label("What does the client need?").fill(PORCH_REQUEST)
    page.get_by_label('Word to use instead of "homework"').fill("practice")
    page.get_by_label("Preferred form").select_option("paper")
    page.get_by_label("Known daily cues").fill("coffee on the porch")
    next_session = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    page.get_by_label("Next session date").fill(next_session)
    assert_accessible(page, "new draft")
    screenshot(page, "new-draft")
    page.get_by_role("button", name="Draft it").click()

    # Progress (while the offline drafter runs), then the draft view by itself.
    page.wait_for_url(re.compile(r"/drafts/\d+$"))
    draft_url = page.url
    expect(page.get_by_role("heading", name=re.compile(r"^Worksheet \(revision 1"))
           ).to_be_visible(timeout=20_000)
    expect(page.locator("#progress")).to_have_count(0)
    expect(page.get_by_label("Review date")).to_have_value(next_session)
    expect(_approve_button(page)).to_be_enabled()

    # Live re-validation: a vague place is an error as soon as it is typed.
    where = page.get_by_label("Where", exact=True)
    where.fill("anywhere")
    expect(page.locator("#f-where")).to_contain_text("missing_where")
    expect(page.locator("#live-status")).to_contain_text("1 error(s)")
    expect(_approve_button(page)).to_be_disabled()
    page.get_by_role("button", name="Save changes").first.click()

    # Saved as revision 2 with the error: Approve stays disabled, and says why.
    expect(page.get_by_role("heading", name=re.compile(r"^Worksheet \(revision 2"))
           ).to_be_visible()
    expect(_approve_button(page)).to_be_disabled()
    expect(page.locator("#approve-why")).to_contain_text("missing_where")
    assert_accessible(page, "draft review (with an error)")
    screenshot(page, "draft-review")

    # The inbox lists it with its error; back to the draft from there.
    page.get_by_role("link", name="Inbox").click()
    expect(page.locator("main")).to_contain_text("1 error")
    assert_accessible(page, "inbox")
    screenshot(page, "inbox")
    page.get_by_role("link", name=re.compile(r"^Draft \d+$")).click()

    # The one-click suggested fix makes revision 3, error-free.
    page.locator("#f-where").get_by_role("button", name="Accept fix").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Worksheet \(revision 3"))
           ).to_be_visible()
    expect(page.locator("#f-where")).not_to_contain_text("missing_where")
    assert page.get_by_label("Where", exact=True).input_value() not in ("", "anywhere")
    expect(_approve_button(page)).to_be_enabled()

    # Approve; the preview is now what the client sees.
    _approve_button(page).click()
    expect(page.locator("#approve-box")).to_contain_text("Approved revision 3")
    preview = page.locator("#client-preview")
    expect(preview.get_by_role("heading", name="What the client sees now")).to_be_visible()
    expect(preview).to_contain_text("coffee on the porch")
    assert_accessible(page, "approved draft")
    screenshot(page, "client-preview")
    assert page.url.startswith(draft_url)

    # The client's link, issued from the client's history page and shown there once.
    page.goto(f"/clients/{client['id']}")
    page.get_by_role("button", name="Issue a link").click()
    expect(page.get_by_role("status")).to_contain_text("shown only this once")
    link_url = page.get_by_role("textbox", name="Link").input_value()
    assert link_url.startswith(f"{live_server}/c/cl_"), link_url

    # The client, in a browser of their own: the list, the item, a check-in, the streak.
    client_context = browser.new_context(base_url=live_server,
                                         viewport={"width": 390, "height": 844})
    try:
        client_page = client_context.new_page()
        client_page.goto(link_url)
        expect(client_page.get_by_role("heading", name="Your practice", exact=True)).to_be_visible()
        assert_accessible(client_page, "client view")
        screenshot(client_page, "client-view")
        client_page.locator("ul.items h3 a").first.click()
        expect(client_page.get_by_role("heading", name="Log how it went")).to_be_visible()
        assert_accessible(client_page, "client item")
        client_page.get_by_label("Partly").check()
        client_page.get_by_label("What got in the way?").fill("It rained, so I sat inside")
        client_page.get_by_role("button", name="Save").click()
        expect(client_page.get_by_role("status")).to_contain_text("Part of it still counts")
        expect(client_page.locator(".streak")).to_be_visible()
        expect(client_page.locator(".check-ins")).to_contain_text("It rained, so I sat inside")
        expect(client_page.get_by_text("This week so far: 1 day logged")).to_be_visible()
        screenshot(client_page, "client-item")
    finally:
        client_context.close()

    # The clinician's next-session page: what was logged, and the one decision to make.
    page.goto(f"/clients/{client['id']}/next-session")
    expect(page.get_by_role("heading", name="What was logged")).to_be_visible()
    expect(page.locator("main")).to_contain_text("It rained, so I sat inside")
    for name in ("Make it smaller", "Change its form", "Tie it to another cue", "Keep it",
                 "Retire it"):
        expect(page.get_by_role("button", name=name).first).to_be_visible()
    assert_accessible(page, "next session")
    screenshot(page, "next-session")

    # The history: the approved item, its calendar strip (the partial day) and its streak.
    page.goto(f"/clients/{client['id']}")
    expect(page.locator("ol.strip li.day-partial")).to_have_count(1)
    expect(page.locator(".streak")).to_contain_text("Compassionate streak")
    expect(page.get_by_role("button", name="Replace the link")).to_be_visible()
    assert_accessible(page, "client history")
    screenshot(page, "client-history")
