"""The client-history and next-session pages, and their one-click follow-ups, driven
through the pages as a signed-in clinician's browser would."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from service.catalog import get_template
from service.clock import today
from service.db import transaction
from service.history.streak import days_per_week
from service.models import AuditEvent
from service.web.history_pages import streak_words
from tests.factories import csrf_of, days_earlier, make_client, make_draft, web_sign_in
from tests.test_workflow import _fix_errors

SCRIPT = "<script>alert('x')</script>"
_SEQ = itertools.count(1)


class Anchors(HTMLParser):
    """Every element id of a page, and every in-page link (`#...`) with the section it is in."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (href target, id of the enclosing section)
        self._sections: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "section":
            self._sections.append(str(values.get("aria-labelledby") or ""))
        href = values.get("href") or ""
        if tag == "a" and href.startswith("#"):
            self.links.append((href[1:], self._sections[-1] if self._sections else ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self._sections:
            self._sections.pop()


def _item(http, tenant, age: int = 0, **fields):  # type: ignore[no-untyped-def]
    """An approved item (a resource) of a new client, approved `age` days ago (so check-ins
    can be back-dated to then); `fields` override the worksheet."""
    c = make_client(http, tenant, external_id=f"NS-{next(_SEQ)}")
    draft = _fix_errors(http, tenant, make_draft(http, tenant, c["id"]))
    if fields:
        edited = http.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician, json={
            "base_revision": draft["current_revision"],
            "worksheet": {**draft["revision"]["worksheet"], **fields}})
        assert edited.status_code == 200, edited.text
        draft = edited.json()
    with days_earlier(age):
        resource = http.post(f"/api/v1/drafts/{draft['id']}/approve",
                             json={"revision": draft["current_revision"]},
                             headers=tenant.clinician)
    assert resource.status_code == 201, resource.text
    return c, resource.json()


def _log(http, tenant, resource, outcome: str, days_ago: int = 0,  # type: ignore[no-untyped-def]
         note: str | None = None) -> int:
    day = (today() - dt.timedelta(days=days_ago)).isoformat()
    response = http.post(f"/api/v1/resources/{resource['id']}/check-ins",
                         headers=tenant.integration,
                         json={"outcome": outcome, "check_in_date": day, "note": note})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _follow_up(http, csrf: str, c, resource, **data: str):  # type: ignore[no-untyped-def]
    return http.post(f"/clients/{c['id']}/items/{resource['id']}/follow-up",
                     data={"csrf_token": csrf, **data}, follow_redirects=False)


def _draft_api(http, tenant, response):  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/drafts/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return http.get(f"/api/v1/drafts/{match.group(1)}", headers=tenant.clinician).json()


def _actions(tenant) -> list[str]:  # type: ignore[no-untyped-def]
    with transaction() as session:
        return list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.organisation_id == tenant.organisation_id)))


@pytest.fixture
def signed_in(client, tenant) -> str:  # type: ignore[no-untyped-def]
    return web_sign_in(client, tenant)


def test_history_shows_the_calendar_strip_and_the_streak(client, tenant, signed_in):
    c, resource = _item(client, tenant, age=3, frequency="once a week")
    skipped = _log(client, tenant, resource, "skipped", days_ago=3, note="too tired")
    partial = _log(client, tenant, resource, "partial", days_ago=2)
    done = _log(client, tenant, resource, "done")
    page = client.get(f"/clients/{c['id']}")
    assert page.status_code == 200
    strip = page.text.split('<ol class="strip"')[1].split("</ol>")[0]
    cells = re.findall(r'<li class="day day-(\w+)">', strip)
    assert cells == ["skipped", "partial", "none", "done"]  # one blank day, nothing logged
    day = (today() - dt.timedelta(days=1)).strftime("%a %d %b")
    assert f"{day}: nothing logged" in strip  # text, not colour, says what each day was
    assert ">✓<" in strip and ">◐<" in strip and ">✗<" in strip
    anchors = Anchors(page.text)
    assert {f"check-in-{i}" for i in (skipped, partial, done)} <= anchors.ids
    streak = client.get(f"/api/v1/resources/{resource['id']}", headers=tenant.clinician).json()
    assert streak["streak"] >= 1
    assert streak_words(streak["streak"]) in page.text
    assert "client.history_read" in _actions(tenant)


def test_summary_heads_the_page_and_links_to_the_entries(client, tenant, signed_in):
    c, resource = _item(client, tenant, age=2)
    ids = {_log(client, tenant, resource, "done", days_ago=2),
           _log(client, tenant, resource, "skipped", days_ago=1, note="It rained all day"),
           _log(client, tenant, resource, "partial", note="Only had five minutes")}
    page = client.get(f"/clients/{c['id']}/next-session")
    assert page.status_code == 200
    html = page.text
    assert "<h2 id=\"summary-title\">What was logged</h2>" in html
    assert html.index("What was logged") < html.index("Follow up")  # the review comes first
    assert "It rained all day" in html and "Only had five minutes" in html
    anchors = Anchors(html)
    linked = {target for target, section in anchors.links if section == "summary-title"}
    assert linked == {f"check-in-{i}" for i in ids}, "each entry is cited by the summary"
    assert linked <= anchors.ids, "every summary link lands on an entry of the page"
    for label in ("Make it smaller", "Change its form", "Tie it to another cue", "Keep it",
                  "Retire it"):
        assert f">{label}" in html
    assert "client.next_session_read" in _actions(tenant)


def test_make_it_smaller_uses_the_minimum_viable_dose(client, tenant, signed_in):
    c, resource = _item(client, tenant)
    old = resource["worksheet"]
    draft = _draft_api(client, tenant, _follow_up(client, signed_in, c, resource, kind="smaller"))
    new = draft["revision"]["worksheet"]
    dose = get_template(old["template_id"]).minimum_viable_dose
    minutes = f"{new['duration_minutes']:g}"  # the dose's task, saying the dose's length
    assert new["task"] == re.sub(r"\b\d+(?=[- ]minutes?\b)", minutes, dose.task, count=1)
    assert new["done_criteria"] == dose.done_criteria
    assert new["duration_minutes"] < old["duration_minutes"]
    assert days_per_week(new["frequency"]) <= days_per_week(old["frequency"])
    assert draft["follows_resource_id"] == resource["id"]
    assert draft["status"] == "in_review" and draft["revision"]["number"] == 1
    assert draft["revision"]["author"] == f"clinician:{tenant.clinician_id}"
    assert "resource.followed_up" in _actions(tenant)
    page = client.get(f"/drafts/{draft['id']}").text
    assert f'#item-{resource["id"]}">item {resource["id"]}</a>' in page  # "Follows item …"


def _dose_item(http, tenant, *, minutes: float, frequency: str):  # type: ignore[no-untyped-def]
    """An approved item that already is its template's minimum viable dose."""
    _, resource = _item(http, tenant)
    dose = get_template(resource["worksheet"]["template_id"]).minimum_viable_dose
    return _item(http, tenant, task=dose.task, done_criteria=dose.done_criteria,
                 duration_minutes=minutes, frequency=frequency)


def test_smaller_at_the_minimum_dose_halves_the_time_and_drops_days(client, tenant, signed_in):
    c, resource = _dose_item(client, tenant, minutes=10, frequency="every day")
    draft = _draft_api(client, tenant, _follow_up(client, signed_in, c, resource, kind="smaller"))
    new = draft["revision"]["worksheet"]
    assert new["task"] == resource["worksheet"]["task"]
    assert new["duration_minutes"] == 5
    assert days_per_week(new["frequency"]) == 5


def test_smaller_than_one_minute_once_a_week_is_refused(client, tenant, signed_in):
    c, resource = _dose_item(client, tenant, minutes=1, frequency="once a week")
    response = _follow_up(client, signed_in, c, resource, kind="smaller")
    assert response.status_code == 422 and "change its form or its cue" in response.text


def test_approving_a_follow_up_replaces_the_item_it_follows(client, tenant, signed_in):
    c, resource = _item(client, tenant)
    _log(client, tenant, resource, "skipped", days_ago=1, note="no time")
    smaller = _draft_api(client, tenant, _follow_up(client, signed_in, c, resource,
                                                    kind="smaller"))
    kept = _draft_api(client, tenant, _follow_up(client, signed_in, c, resource, kind="keep"))
    still = client.get(f"/api/v1/resources/{resource['id']}", headers=tenant.clinician).json()
    assert still["status"] == "active", "a follow-up draft changes nothing until approved"
    first = client.post(f"/api/v1/drafts/{smaller['id']}/approve", headers=tenant.clinician,
                        json={"revision": smaller["current_revision"]})
    assert first.status_code == 201, first.text
    sibling = client.post(f"/api/v1/drafts/{kept['id']}/approve", headers=tenant.clinician,
                          json={"revision": kept["current_revision"]})
    assert sibling.status_code == 409, "two follow-ups of one item never both go live"
    assert "out of date" in sibling.json()["detail"]
    assert client.get(f"/api/v1/drafts/{kept['id']}",
                      headers=tenant.clinician).json()["status"] == "in_review"
    old = client.get(f"/api/v1/resources/{resource['id']}", headers=tenant.clinician).json()
    assert old["status"] == "retired"
    assert [ci["note"] for ci in old["check_ins"]] == ["no time"], "its log is kept"
    assert _actions(tenant).count("resource.replaced") == 1
    listed = client.get(f"/api/v1/clients/{c['id']}/resources", headers=tenant.integration)
    statuses = {r["id"]: r["status"] for r in listed.json()["items"]}
    assert statuses == {resource["id"]: "retired", first.json()["id"]: "active"}
    closed = client.post(f"/api/v1/resources/{resource['id']}/check-ins",
                         headers=tenant.integration, json={"outcome": "done"})
    assert closed.status_code == 409


def test_change_its_form_switches_modality_and_tracking(client, tenant, signed_in):
    c, resource = _item(client, tenant, modality="paper")
    draft = _draft_api(client, tenant, _follow_up(client, signed_in, c, resource, kind="form",
                                                  modality="voice_note"))
    new = draft["revision"]["worksheet"]
    assert new["modality"] == "voice_note"
    voice = get_template(new["template_id"]).variations.voice_note
    assert new["tracking"].startswith(voice), "logged the way the template's variation says"
    assert new["tracking"] != resource["worksheet"]["tracking"]
    assert new["task"] == resource["worksheet"]["task"]
    assert draft["follows_resource_id"] == resource["id"]


def test_another_cue_needs_a_cue_and_stays_hidden_until_approved(client, tenant, signed_in):
    c, resource = _item(client, tenant)
    empty = _follow_up(client, signed_in, c, resource, kind="cue", cue="  ")
    assert empty.status_code == 422 and 'role="alert"' in empty.text
    cue = "Right after feeding Mr Whiskers his breakfast"
    draft = _draft_api(client, tenant, _follow_up(client, signed_in, c, resource, kind="cue",
                                                  cue=cue))
    assert draft["revision"]["worksheet"]["when"] == cue
    assert draft["follows_resource_id"] == resource["id"]
    link = client.post(f"/api/v1/clients/{c['id']}/link", headers=tenant.clinician).json()
    listed = client.get(f"/api/v1/clients/{c['id']}/resources", headers=tenant.integration)
    assert [r["id"] for r in listed.json()["items"]] == [resource["id"]]
    assert cue not in client.get(link["url"]).text, "the client sees no draft"
    approved = client.post(f"/api/v1/drafts/{draft['id']}/approve",
                           json={"revision": draft["current_revision"]}, headers=tenant.clinician)
    assert approved.status_code == 201, approved.text
    assert cue in client.get(f"{link['url']}/items/{approved.json()['id']}").text
    history = client.get(f"/clients/{c['id']}").text
    assert f'follows <a href="#item-{resource["id"]}">' in history


def test_keep_it_repeats_the_task_with_a_new_review_date(client, tenant, signed_in):
    c, resource = _item(client, tenant)
    draft = _draft_api(client, tenant, _follow_up(client, signed_in, c, resource, kind="keep"))
    old, new = resource["worksheet"], draft["revision"]["worksheet"]
    assert new["review_date"] == (today() + dt.timedelta(days=7)).isoformat()
    assert {k: v for k, v in new.items() if k != "review_date"} == \
        {k: v for k, v in old.items() if k != "review_date"}
    assert draft["follows_resource_id"] == resource["id"]
    page = client.get(f"/clients/{c['id']}/next-session").text
    assert f'Already followed up: <a href="/drafts/{draft["id"]}">' in page


def test_retire_it_retires_the_item_and_records_it(client, tenant, signed_in):
    c, resource = _item(client, tenant)
    before = client.get("/api/v1/drafts", headers=tenant.clinician).json()
    response = _follow_up(client, signed_in, c, resource, kind="retire")
    assert response.status_code == 303
    assert response.headers["location"] == \
        f"/clients/{c['id']}/next-session?retired={resource['id']}"
    after = client.get(f"/api/v1/resources/{resource['id']}", headers=tenant.clinician).json()
    assert after["status"] == "retired"
    assert "resource.retired" in _actions(tenant)
    assert client.get("/api/v1/drafts", headers=tenant.clinician).json() == before  # no draft
    page = client.get(response.headers["location"]).text
    assert f'id="item-{resource["id"]}"' not in page and "is retired" in page
    assert ">retired<" in client.get(f"/clients/{c['id']}").text
    again = _follow_up(client, signed_in, c, resource, kind="keep")
    assert again.status_code == 409


def _suggests_replacing(client, c) -> bool:  # type: ignore[no-untyped-def]
    return 'data-suggest="replace"' in client.get(f"/clients/{c['id']}/next-session").text


def test_replacing_is_suggested_after_three_mostly_skipped_check_ins_only(client, tenant,
                                                                          signed_in):
    c, resource = _item(client, tenant, age=4)
    _log(client, tenant, resource, "skipped", days_ago=4)
    _log(client, tenant, resource, "skipped", days_ago=3)
    assert not _suggests_replacing(client, c), "two check-ins are not yet a pattern"
    _log(client, tenant, resource, "partial", days_ago=2)
    page = client.get(f"/clients/{c['id']}/next-session").text
    assert 'data-suggest="replace"' in page
    assert "Suggested: replace the task rather than repeat it." in page
    assert "Keep it (not suggested)" in page
    _log(client, tenant, resource, "done", days_ago=1)
    assert not _suggests_replacing(client, c), "a done day ends the pattern"


def test_partial_days_alone_do_not_make_the_pattern(client, tenant, signed_in):
    c, resource = _item(client, tenant, age=3)
    for days_ago in (3, 2, 1):
        _log(client, tenant, resource, "partial", days_ago=days_ago)
    assert not _suggests_replacing(client, c)


def test_another_organisations_clinician_gets_404(client, tenant, other_tenant):
    c, resource = _item(client, tenant)
    _log(client, tenant, resource, "skipped", note="private note")
    csrf = web_sign_in(client, other_tenant)
    for url in (f"/clients/{c['id']}", f"/clients/{c['id']}/next-session"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Alex Example" not in response.text and "private note" not in response.text
    for kind in ("retire", "keep", "nonsense"):
        assert _follow_up(client, csrf, c, resource, kind=kind).status_code == 404
    after = client.get(f"/api/v1/resources/{resource['id']}", headers=tenant.clinician).json()
    assert after["status"] == "active"


def test_another_clients_item_is_not_found_under_this_client(client, tenant, signed_in):
    _, resource = _item(client, tenant)
    other = make_client(client, tenant, external_id="NS-other", name="Someone Else")
    assert _follow_up(client, signed_in, other, resource, kind="keep").status_code == 404


def test_script_payloads_in_notes_render_escaped(client, tenant, signed_in):
    c, resource = _item(client, tenant)
    _log(client, tenant, resource, "skipped", note=SCRIPT)
    for url in (f"/clients/{c['id']}", f"/clients/{c['id']}/next-session"):
        html = client.get(url).text
        assert "<script>alert" not in html and "&lt;script&gt;" in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
        assert " style=" not in html


def test_follow_up_forms_need_the_csrf_token(client, tenant, signed_in):
    c, resource = _item(client, tenant)
    response = _follow_up(client, "forged", c, resource, kind="retire")
    assert response.status_code == 403
    assert csrf_of(client.get(f"/clients/{c['id']}/next-session").text) == signed_in


def test_the_client_list_links_history_and_next_session(client, tenant, signed_in):
    c = make_client(client, tenant)
    html = client.get("/clients").text
    assert f'href="/clients/{c["id"]}"' in html
    assert f'href="/clients/{c["id"]}/next-session"' in html


def test_the_history_page_issues_replaces_and_revokes_the_client_link(client, tenant,
                                                                      signed_in):
    c, resource = _item(client, tenant)
    page = client.get(f"/clients/{c['id']}").text
    assert "has no link" in page and "Revoke the link" not in page
    issued = client.post(f"/clients/{c['id']}/link", data={"csrf_token": signed_in})
    assert issued.status_code == 200
    first = re.search(r'id="link-url" type="text" readonly value="([^"]+)"', issued.text)
    assert first, "the new link is shown once"
    assert first.group(1).startswith("http://testserver/c/cl_")
    assert resource["content_sha256"] and client.get(first.group(1)).status_code == 200
    again = client.get(f"/clients/{c['id']}").text
    assert first.group(1) not in again, "only the hash is kept: the link is not shown again"
    assert "Replace the link" in again and "Revoke the link" in again
    replaced = client.post(f"/clients/{c['id']}/link", data={"csrf_token": signed_in}).text
    second = re.search(r'id="link-url" type="text" readonly value="([^"]+)"', replaced)
    assert second and second.group(1) != first.group(1)
    assert client.get(first.group(1)).status_code == 404, "replacing revokes the old link"
    revoked = client.post(f"/clients/{c['id']}/link/revoke", data={"csrf_token": signed_in},
                          follow_redirects=False)
    assert revoked.status_code == 303
    assert client.get(second.group(1)).status_code == 404
    assert "has no link" in client.get(f"/clients/{c['id']}").text
    assert client.post(f"/clients/{c['id']}/link").status_code == 403, "CSRF-protected"
    actions = _actions(tenant)
    assert actions.count("client_link.issued") == 2 and "client_link.revoked" in actions


def test_another_organisation_cannot_issue_this_clients_link(client, tenant, other_tenant):
    c, _ = _item(client, tenant)
    csrf = web_sign_in(client, other_tenant)
    assert client.post(f"/clients/{c['id']}/link", data={"csrf_token": csrf}).status_code == 404
    assert client.post(f"/clients/{c['id']}/link/revoke",
                       data={"csrf_token": csrf}).status_code == 404


def _keep_and_approve(http, tenant, csrf, c, resource):  # type: ignore[no-untyped-def]
    draft = _draft_api(http, tenant, _follow_up(http, csrf, c, resource, kind="keep"))
    approved = http.post(f"/api/v1/drafts/{draft['id']}/approve", headers=tenant.clinician,
                         json={"revision": draft["current_revision"]})
    assert approved.status_code == 201, approved.text
    return approved.json()


@pytest.mark.parametrize("second_period", ["skipped", "done"])
def test_replacing_is_suggested_after_three_reviews_with_little_done(client, tenant, signed_in,
                                                                     second_period):
    """Kept twice and still not happening: three review periods in a row, each with fewer
    than three check-ins (so no single item's log makes the pattern)."""
    c, first = _item(client, tenant, age=2)
    _log(client, tenant, first, "skipped", days_ago=2)
    _log(client, tenant, first, "partial", days_ago=1)
    second = _keep_and_approve(client, tenant, signed_in, c, first)
    _log(client, tenant, second, second_period)
    third = _keep_and_approve(client, tenant, signed_in, c, second)
    assert not _suggests_replacing(client, c), "the new period has its chance first"
    _log(client, tenant, third, "skipped")
    page = client.get(f"/clients/{c['id']}/next-session").text
    if second_period == "done":
        assert 'data-suggest="replace"' not in page, "a period with a done day breaks it"
        return
    assert 'data-suggest="replace"' in page
    assert "The last 3 reviews had little done" in page
    for earlier in (first, second):
        assert f'href="/clients/{c["id"]}#item-{earlier["id"]}">item {earlier["id"]}</a>' in page


def test_three_skips_on_one_day_are_one_day_not_a_pattern(client, tenant, signed_in):
    c, resource = _item(client, tenant, age=1)
    for _ in range(3):
        _log(client, tenant, resource, "skipped")
    assert not _suggests_replacing(client, c)
    _log(client, tenant, resource, "skipped", days_ago=1)
    assert not _suggests_replacing(client, c), "two days logged are not yet three"


def test_smaller_says_the_new_length_in_the_task_too(client, tenant, signed_in):
    """The task and its minutes never disagree ("one 5-minute activity" for 2 minutes)."""
    c, resource = _item(client, tenant)
    once = _draft_api(client, tenant, _follow_up(client, signed_in, c, resource, kind="smaller"))
    ws = once["revision"]["worksheet"]
    minutes = re.findall(r"(\d+(?:\.\d+)?)[- ]minutes?\b", ws["task"])
    assert all(float(m) == ws["duration_minutes"] for m in minutes), ws
