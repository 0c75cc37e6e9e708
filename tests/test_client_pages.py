"""The client's own pages, driven as a phone browser would: approved content only, ever."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from service import clock
from service.auth.principal import Principal
from service.clients import issue_client_link, revoke_client_link
from service.db import transaction
from service.logs import AccessLogFilter, ScrubFilter
from service.models import AuditEvent, CheckIn, DraftRevision
from tests.factories import csrf_of, days_earlier, make_client, make_draft
from tests.test_workflow import _fix_errors

SCRIPT = "<script>alert(1)</script>"
IMAGE = "![x](https://evil.example/a.png)"
TEXT_FIELDS = ("title", "goal", "rationale", "task", "when", "where", "frequency",
               "done_criteria", "tracking", "backup_cue", "reward", "support_person")
THURSDAY = dt.datetime(2026, 12, 10, 12, 0, tzinfo=dt.UTC)


def _principal(tenant) -> Principal:  # type: ignore[no-untyped-def]
    return Principal(tenant.organisation_id, tenant.clinician_id, "clinician")


def _link(tenant, client_id: int) -> str:  # type: ignore[no-untyped-def]
    with transaction() as session:
        return issue_client_link(session, _principal(tenant), client_id)


def _edit(http, tenant, draft, **fields):  # type: ignore[no-untyped-def]
    worksheet = {**draft["revision"]["worksheet"], **fields}
    response = http.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician,
                          json={"base_revision": draft["current_revision"],
                                "worksheet": worksheet})
    assert response.status_code == 200, response.text
    return response.json()


def _in_review(http, tenant, client_id: int, word: str = "experiment", **fields):  # type: ignore[no-untyped-def]
    draft = make_draft(http, tenant, client_id, preferences={"homework_word": word})
    draft = _fix_errors(http, tenant, draft)
    return _edit(http, tenant, draft, **fields) if fields else draft


def _approve(http, tenant, draft):  # type: ignore[no-untyped-def]
    response = http.post(f"/api/v1/drafts/{draft['id']}/approve",
                         json={"revision": draft["current_revision"]}, headers=tenant.clinician)
    assert response.status_code == 201, response.text
    return response.json()


def _approved(http, tenant, client_id: int, word: str = "experiment", **fields):  # type: ignore[no-untyped-def]
    return _approve(http, tenant, _in_review(http, tenant, client_id, word, **fields))


def _urls(token: str, item_id: object) -> list[str]:
    base = f"/c/{token}/items/{item_id}"
    return [base, f"{base}.ics", f"{base}.pdf"]


def _check_in(http, token: str, item_id: object, csrf: str, **data: str):  # type: ignore[no-untyped-def]
    return http.post(f"/c/{token}/items/{item_id}/check-in", follow_redirects=False,
                     data={"csrf_token": csrf, **data})


@pytest.fixture
def fixed_clock() -> Iterator[dt.datetime]:
    clock.set_clock(lambda: THURSDAY)
    yield THURSDAY
    clock.set_clock(clock.utcnow)


@pytest.fixture
def world(client, tenant):  # type: ignore[no-untyped-def]
    c = make_client(client, tenant)
    resource = _approved(client, tenant, c["id"], title="Porch minutes",
                         task="Sit on the porch with your coffee for five minutes.",
                         frequency="three times a week")
    return {"client": c, "resource": resource, "token": _link(tenant, c["id"])}


def test_page_shows_the_approved_worksheet_in_the_clients_word(client, world):
    token, resource = world["token"], world["resource"]
    home = client.get(f"/c/{token}")
    assert home.status_code == 200
    assert "<h1>Your experiment</h1>" in home.text
    assert "Porch minutes" in home.text
    assert "Sit on the porch with your coffee for five minutes." in home.text
    assert "homework" not in home.text.lower()
    assert "Every week is a fresh start" in home.text  # no streak yet, said kindly
    assert f'href="/c/{token}/items/{resource["id"]}"' in home.text
    page = client.get(f"/c/{token}/items/{resource['id']}")
    assert page.status_code == 200
    assert "Your experiment:" in page.text  # the worksheet's own plain-language labels
    assert "It counts as done when" in page.text
    for value in (resource["worksheet"]["when"], resource["worksheet"]["where"]):
        assert value in page.text
    assert "homework" not in page.text.lower()
    assert 'name="outcome" value="done"' in page.text
    assert '<legend>How did it go?</legend>' in page.text
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert "Log in" not in page.text and 'href="/drafts' not in page.text  # no clinician nav


def test_a_draft_is_never_reachable_by_any_url(client, tenant, world):
    token, c = world["token"], world["client"]
    # An approved draft whose earlier revision said something else.
    older = _in_review(client, tenant, c["id"], title="MARK-OLD-REVISION")
    latest = _edit(client, tenant, older, title="Approved later")
    approved = _approve(client, tenant, latest)
    refused = client.patch(f"/api/v1/drafts/{older['id']}", headers=tenant.clinician, json={
        "base_revision": latest["current_revision"],
        "worksheet": {**approved["worksheet"], "title": "MARK-AFTER"}})
    assert refused.status_code == 409  # an approved draft can never take a newer revision
    pending = _in_review(client, tenant, c["id"], title="MARK-IN-REVIEW")
    rejected = _in_review(client, tenant, c["id"], title="MARK-REJECTED")
    assert client.post(f"/api/v1/drafts/{rejected['id']}/reject", json={"reason": "no"},
                       headers=tenant.clinician).status_code == 200
    next_version = _in_review(client, tenant, c["id"],
                              **{**world["resource"]["worksheet"], "title": "MARK-NEXT"})
    with transaction() as session:
        revision_ids = set(session.scalars(select(DraftRevision.id)))
    resource_ids = {world["resource"]["id"], approved["id"]}
    draft_ids = {older["id"], pending["id"], rejected["id"], next_version["id"]}
    csrf = csrf_of(client.get(f"/c/{token}/items/{world['resource']['id']}").text)
    markers = ("MARK-OLD-REVISION", "MARK-AFTER", "MARK-IN-REVIEW", "MARK-REJECTED",
               "MARK-NEXT")
    home = client.get(f"/c/{token}").text
    assert "Approved later" in home and not any(m in home for m in markers)
    for item_id in sorted(draft_ids | revision_ids | {0, 999_999}):
        responses = [client.get(url) for url in _urls(token, item_id)]
        responses.append(_check_in(client, token, item_id, csrf, outcome="done"))
        for response in responses:
            assert not any(m.encode() in response.content for m in markers), response.url
            if item_id not in resource_ids:
                assert response.status_code == 404, response.url
    with transaction() as session:  # no check-in reached anything but an approved resource
        assert set(session.scalars(select(CheckIn.resource_id))) <= resource_ids


def test_check_in_through_the_form_counts_in_the_streak(client, tenant, fixed_clock):
    c = make_client(client, tenant)
    with days_earlier(10):  # approved on Monday 30 November, so that week can be logged
        item = _approved(client, tenant, c["id"], frequency="three times a week")["id"]
    token = _link(tenant, c["id"])
    page = client.get(f"/c/{token}/items/{item}")
    assert 'value="2026-12-10" max="2026-12-10"' in page.text  # the day defaults to today
    csrf = csrf_of(page.text)
    response = _check_in(client, token, item, csrf, outcome="done", check_in_date="")
    assert response.status_code == 303
    assert response.headers["location"] == f"/c/{token}/items/{item}?saved=done#check-in"
    thanked = client.get(response.headers["location"])
    assert 'role="status">Thank you, that' in thanked.text
    for day, outcome in (("2026-12-08", "partial"), ("2026-11-30", "done"),
                         ("2026-12-02", "done"), ("2026-12-03", "skipped")):
        assert _check_in(client, token, item, csrf, outcome=outcome, check_in_date=day,
                         note="rain" if outcome != "done" else "").status_code == 303
    skipped = client.get(f"/c/{token}/items/{item}?saved=skipped")
    assert "useful to talk about too" in skipped.text
    assert "2 weeks in a row." in skipped.text  # this week (2 of 2) and last week (2 of 2)
    assert "Partly · rain" in skipped.text
    assert "2 weeks in a row." in client.get(f"/c/{token}").text
    api = client.get(f"/api/v1/client-view/{token}/resources").json()
    assert len(api[0]["check_ins"]) == 5


def test_form_errors_re_render_and_keep_the_note(client, world, fixed_clock):
    token, item = world["token"], world["resource"]["id"]
    csrf = csrf_of(client.get(f"/c/{token}/items/{item}").text)
    missing = _check_in(client, token, item, csrf, note="the bus was late & <b>cold</b>")
    assert missing.status_code == 422
    assert "Please choose how it went" in missing.text
    assert "the bus was late &amp; &lt;b&gt;cold&lt;/b&gt;</textarea>" in missing.text
    future = _check_in(client, token, item, csrf, outcome="partial", check_in_date="2026-12-11",
                       note="kept")
    assert future.status_code == 422 and "hasn&#39;t happened yet" in future.text
    assert 'value="partial" required checked' in future.text and ">kept</textarea>" in future.text
    bad_date = _check_in(client, token, item, csrf, outcome="done", check_in_date="soon")
    assert bad_date.status_code == 422 and "as a date" in bad_date.text
    too_long = _check_in(client, token, item, csrf, outcome="done", note="x" * 2001)
    assert too_long.status_code == 422 and "a little long" in too_long.text
    assert 'maxlength="2000"' in too_long.text
    with transaction() as session:
        assert list(session.scalars(select(CheckIn))) == []


def test_check_in_without_the_csrf_token_is_refused(client, world):
    token, item = world["token"], world["resource"]["id"]
    client.get(f"/c/{token}/items/{item}")  # the session has a token, the form doesn't send it
    url = f"/c/{token}/items/{item}/check-in"
    assert client.post(url, data={"outcome": "done"}).status_code == 403
    assert client.post(url, data={"outcome": "done", "csrf_token": "forged"}).status_code == 403
    with transaction() as session:
        assert list(session.scalars(select(CheckIn))) == []


def test_revoked_link_is_a_friendly_404_like_one_that_never_existed(client, tenant, world):
    token, c, item = world["token"], world["client"], world["resource"]["id"]
    csrf = csrf_of(client.get(f"/c/{token}/items/{item}").text)
    never = client.get("/c/cl_never-existed-at-all-0000000000000000000")
    with transaction() as session:
        revoke_client_link(session, _principal(tenant), c["id"])
    for url in [f"/c/{token}", *_urls(token, item), f"/c/{token}/anything"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.text == never.text, url  # no hint whether it ever existed
        assert token not in response.text
    assert "We can't find this page" in never.text
    assert _check_in(client, token, item, csrf, outcome="done").status_code == 404
    new = _link(tenant, c["id"])
    assert client.get(f"/c/{new}").status_code == 200
    assert client.get(f"/c/{token}").status_code == 404


def test_another_clients_resource_is_404(client, tenant, other_tenant, world):
    token = world["token"]
    sibling = make_client(client, tenant, external_id="PMS-2", name="Sam Sibling")
    theirs = _approved(client, tenant, sibling["id"], title="MARK-SIBLING")
    stranger = make_client(client, other_tenant, external_id="B-1", name="Bo Stranger")
    foreign = _approved(client, other_tenant, stranger["id"], title="MARK-STRANGER")
    csrf = csrf_of(client.get(f"/c/{token}/items/{world['resource']['id']}").text)
    for item_id in (theirs["id"], foreign["id"]):
        for url in _urls(token, item_id):
            response = client.get(url)
            assert response.status_code == 404, url
            assert b"MARK-" not in response.content
        assert _check_in(client, token, item_id, csrf, outcome="done").status_code == 404
    assert "MARK-" not in client.get(f"/c/{token}").text
    with transaction() as session:
        assert list(session.scalars(select(CheckIn))) == []


def test_unknown_addresses_under_a_link_are_the_friendly_404(client, world):
    token = world["token"]
    for url in (f"/c/{token}/items/abc", f"/c/{token}/items/1.5", f"/c/{token}/items/-1",
                f"/c/{token}/items/{'9' * 40}", f"/c/{token}/nope/deeper", f"/c/{'x' * 500}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "We can't find this page" in response.text


def test_retired_items_are_finished_without_a_check_in_form(client, tenant, world):
    token, c = world["token"], world["client"]
    retired = _approved(client, tenant, c["id"], title="An older plan")
    assert client.post(f"/api/v1/resources/{retired['id']}/retire",
                       headers=tenant.clinician).status_code == 200
    home = client.get(f"/c/{token}").text
    now_part, finished_part = home.split('id="finished-title"')
    assert "Porch minutes" in now_part and "An older plan" in finished_part
    page = client.get(f"/c/{token}/items/{retired['id']}")
    assert page.status_code == 200 and "This one is finished" in page.text
    assert 'name="outcome"' not in page.text and "/check-in" not in page.text
    csrf = csrf_of(client.get(f"/c/{token}/items/{world['resource']['id']}").text)
    closed = _check_in(client, token, retired["id"], csrf, outcome="done", note="still")
    assert closed.status_code == 409 and "nothing more to log" in closed.text
    assert client.get(f"/c/{token}/items/{retired['id']}.ics").status_code == 404
    assert client.get(f"/c/{token}/items/{retired['id']}.pdf").status_code == 200


def test_payloads_in_every_field_render_escaped(client, tenant):
    c = make_client(client, tenant)
    draft = _in_review(client, tenant, c["id"])
    ws = draft["revision"]["worksheet"]
    hostile = {name: f"{ws.get(name) or name} {SCRIPT} {IMAGE}" for name in TEXT_FIELDS}
    hostile |= {"steps": [*ws["steps"], SCRIPT, IMAGE], "fields": [*ws["fields"], SCRIPT, IMAGE],
                "obstacles": [*ws["obstacles"], {"obstacle": SCRIPT, "plan": IMAGE}]}
    resource = _approve(client, tenant, _edit(client, tenant, draft, **hostile))
    token = _link(tenant, c["id"])
    csrf = csrf_of(client.get(f"/c/{token}/items/{resource['id']}").text)
    assert _check_in(client, token, resource["id"], csrf, outcome="partial",
                     note=f"{SCRIPT} {IMAGE}").status_code == 303
    for url in (f"/c/{token}", f"/c/{token}/items/{resource['id']}"):
        html = client.get(url).text
        assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img" not in html
        assert not re.search(r"""(src|href)=["']?https?://evil""", html)
    item = client.get(f"/c/{token}/items/{resource['id']}").text
    assert item.count("&lt;script&gt;") >= len(TEXT_FIELDS) + 4  # every field and the note


def test_calendar_and_pdf_have_their_content_types(client, world):
    token, item = world["token"], world["resource"]["id"]
    ics = client.get(f"/c/{token}/items/{item}.ics")
    assert ics.status_code == 200
    assert ics.headers["content-type"] == "text/calendar; charset=utf-8"
    assert ics.headers["content-disposition"] == f'attachment; filename="experiment-{item}.ics"'
    assert ics.content.startswith(b"BEGIN:VCALENDAR")
    pdf = client.get(f"/c/{token}/items/{item}.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    for response in (ics, pdf):
        assert token not in response.headers.get("content-disposition", "")


def test_strict_csp_and_no_inline_script_or_style(client, world):
    token, item = world["token"], world["resource"]["id"]
    csrf = csrf_of(client.get(f"/c/{token}/items/{item}").text)
    pages = [client.get(f"/c/{token}"), client.get(f"/c/{token}/items/{item}"),
             client.get(f"/c/{token}/items/{item}?saved=done"), client.get("/c/cl_nope"),
             _check_in(client, token, item, csrf, note="no outcome")]
    for page in pages:
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert page.headers["referrer-policy"] == "no-referrer"
        html = page.text
        assert '<html lang="en">' in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
        assert not re.search(r"<style\b", html), "inline style element"
        assert not re.search(r"\sstyle\s*=", html), "style attribute"
        assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "external resource"
        assert 'href="/static/client.css"' in html


def test_headings_labels_and_touch_targets_are_in_place(client, world):
    page = client.get(f"/c/{world['token']}/items/{world['resource']['id']}").text
    levels = [int(n) for n in re.findall(r"<h([1-6])\b", page)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    for control in re.findall(r'<(?:input|textarea)[^>]*\bid="([^"]+)"', page):
        assert f'for="{control}"' in page, f"{control} has no label"


def test_reads_and_check_ins_by_link_are_audited_as_the_clients_link(client, world):
    token, item, c = world["token"], world["resource"]["id"], world["client"]
    csrf = csrf_of(client.get(f"/c/{token}/items/{item}").text)
    client.get(f"/c/{token}")
    assert _check_in(client, token, item, csrf, outcome="done").status_code == 303
    with transaction() as session:
        events = list(session.scalars(select(AuditEvent).where(
            AuditEvent.client_id == c["id"], AuditEvent.actor == f"client_link:{c['id']}")))
    actions = [e.action for e in events]
    assert actions.count("resource.list") >= 3 and "check_in.created" in actions
    assert all(e.organisation_id is not None for e in events)


def test_link_tokens_never_reach_logs(client, world, caplog):
    token, item = world["token"], world["resource"]["id"]
    caplog.set_level(logging.DEBUG)
    client.get(f"/c/{token}/items/{item}")
    client.get("/c/not-a-token-but-still-private")
    for record in caplog.records:
        ScrubFilter().filter(record)
        assert token not in record.getMessage()
        assert "not-a-token-but-still-private" not in record.getMessage()
    # Uvicorn's access log has its own handler and formatter that unpacks the args.
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", f"/c/{token}/items/{item}.ics", "1.1",
                                200), None)
    AccessLogFilter().filter(record)
    line = AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s",
                           use_colors=False).format(record)
    assert token not in line and f"/c/[redacted]/items/{item}.ics" in line
    assert any(isinstance(f, AccessLogFilter)
               for f in logging.getLogger("uvicorn.access").filters)


def test_if_then_plans_read_once_on_the_clients_page(client, world):
    """The catalog's plans already say "If ..., then ...": no second frame around them."""
    page = client.get(f"/c/{world['token']}/items/{world['resource']['id']}").text
    plans = re.findall(r'<p class="if-then">(.*?)</p>', page, flags=re.S)
    assert plans
    for plan in plans:
        assert plan.lower().count("if ") <= 1 and ".," not in plan, plan
