"""The clinician's review screen, driven through its forms as a browser would."""

from __future__ import annotations

import datetime as dt
import re

import anyio
import pytest

from service.clock import today
from service.config import get_settings
from service.workflow import drafts as workflow_drafts
from service.workflow.drafts import run_drafting
from tests.factories import PORCH_REQUEST, csrf_of, drafted, make_client, make_draft, web_sign_in

SCRIPT = "<script>alert('x')</script>"
IMAGE = "![x](https://evil.example/leak.png)"


@pytest.fixture
def signed_in(client, tenant):  # type: ignore[no-untyped-def]
    return web_sign_in(client, tenant)


def _draft(client, tenant, **extra):  # type: ignore[no-untyped-def]
    return make_draft(client, tenant, make_client(client, tenant)["id"], **extra)


def _form_of(worksheet: dict, **override: object) -> dict[str, str]:  # type: ignore[type-arg]
    """The worksheet as the draft page's form fields."""
    data = {k: str(v) for k, v in worksheet.items()
            if isinstance(v, str | int | float) and k != "template_id"}
    data["steps"] = "\n".join(worksheet.get("steps") or [])
    data["fields"] = "\n".join(worksheet.get("fields") or [])
    for i, o in enumerate(worksheet.get("obstacles") or []):
        data[f"obstacle_{i}"], data[f"plan_{i}"] = o["obstacle"], o["plan"]
    data.update({k: str(v) for k, v in override.items()})
    return data


def test_pages_need_a_login(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_wrong_password_shows_a_form_error(client, tenant):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"email": tenant.email, "password": "nope",
                                           "csrf_token": token})
    assert response.status_code == 401
    assert 'role="alert"' in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_does_not_redirect_off_site(client, tenant):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"email": tenant.email, "password": tenant.password,
                                           "csrf_token": token, "next": "//evil.example/"},
                           follow_redirects=False)
    assert response.headers["location"] == "/"


def test_forms_without_the_csrf_token_are_refused(client, tenant, signed_in):
    c = make_client(client, tenant)
    response = client.post("/drafts", data={"client_id": c["id"], "request_text": "x"})
    assert response.status_code == 403
    forged = client.post("/drafts", data={"client_id": c["id"], "request_text": "x",
                                          "csrf_token": "forged"})
    assert forged.status_code == 403
    assert client.post("/logout", follow_redirects=False).status_code == 403


def test_new_draft_is_stored_then_drafted_and_listed(client, tenant, signed_in):
    c = make_client(client, tenant)
    response = client.post("/drafts", data={
        "csrf_token": signed_in, "client_id": c["id"], "request_text": PORCH_REQUEST,
        "homework_word": "experiment", "known_cues": "coffee on the porch"},
        follow_redirects=False)
    assert response.status_code == 303
    draft_url = response.headers["location"]
    drafted(client, tenant, int(draft_url.rsplit("/", 1)[1]))
    page = client.get(draft_url)
    assert page.status_code == 200
    assert "Template: Activity scheduling (behavioural activation)" in page.text
    assert "Your experiment" in page.text  # the client preview uses the clinician's word
    inbox = client.get("/")
    assert draft_url in inbox.text and "Alex Example" in inbox.text


def test_new_draft_form_error_keeps_what_was_typed(client, tenant, signed_in):
    make_client(client, tenant)
    response = client.post("/drafts", data={"csrf_token": signed_in, "client_id": "",
                                            "request_text": "Keep this request text"})
    assert response.status_code in (404, 422)
    assert "Keep this request text" in response.text
    assert 'role="alert"' in response.text


def test_suggested_fix_is_applied_with_one_click(client, tenant, signed_in):
    draft = _draft(client, tenant)
    worksheet = draft["revision"]["worksheet"]
    # Remove the review date: the validator flags it and suggests one.
    client.post(f"/drafts/{draft['id']}/edit", data={
        "csrf_token": signed_in, "base_revision": draft["current_revision"],
        **_form_of(worksheet, review_date="")})
    page = client.get(f"/drafts/{draft['id']}").text
    fix = re.search(r'name="apply_fix" value="([^"]*review_date[^"]*)"', page)
    assert fix, "the missing review date should offer a one-click fix"
    assert "disabled" in page.split('id="approve-box"')[1].split("</section>")[0]
    revision = int(re.search(r'name="base_revision" value="(\d+)"', page).group(1))
    response = client.post(f"/drafts/{draft['id']}/edit", data={
        "csrf_token": signed_in, "base_revision": revision, "apply_fix": fix.group(1),
        **_form_of(worksheet, review_date="")}, follow_redirects=False)
    assert response.status_code == 303
    saved = client.get(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician).json()
    assert saved["current_revision"] == revision + 1
    assert saved["revision"]["worksheet"]["review_date"]
    assert not any(f["field"] == "review_date" for f in saved["revision"]["findings"])


def test_live_check_revalidates_without_saving(client, tenant, signed_in):
    draft = _draft(client, tenant)
    form = _form_of(draft["revision"]["worksheet"], confidence="3")
    response = client.post(f"/drafts/{draft['id']}/check", data=form,
                           headers={"X-CSRF-Token": signed_in})
    assert response.status_code == 200
    assert 'id="f-confidence" class="findings" aria-live="polite" hx-swap-oob="true"' in \
        response.text
    assert "low_confidence" in response.text
    assert "unsaved changes" in response.text  # approval waits for a save
    again = client.get(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician).json()
    assert again["current_revision"] == draft["current_revision"]


def test_stale_edit_is_refused_and_keeps_the_typed_text(client, tenant, signed_in):
    draft = _draft(client, tenant)
    form = _form_of(draft["revision"]["worksheet"], task="Step onto the porch with coffee")
    first = client.post(f"/drafts/{draft['id']}/edit", data={
        "csrf_token": signed_in, "base_revision": draft["current_revision"], **form})
    assert first.status_code == 200
    stale = client.post(f"/drafts/{draft['id']}/edit", data={
        "csrf_token": signed_in, "base_revision": draft["current_revision"],
        **_form_of(draft["revision"]["worksheet"], task="A conflicting typed task")})
    assert stale.status_code == 409
    assert "A conflicting typed task" in stale.text


def _approvable(client, tenant, signed_in):  # type: ignore[no-untyped-def]
    from tests.test_workflow import _fix_errors

    return _fix_errors(client, tenant, _draft(client, tenant))


def test_approve_shows_what_the_client_sees_and_keeps_provenance(client, tenant, signed_in):
    draft = _approvable(client, tenant, signed_in)
    response = client.post(f"/drafts/{draft['id']}/approve", data={
        "csrf_token": signed_in, "revision": draft["current_revision"]})
    assert response.status_code == 200
    assert "What the client sees now" in response.text
    assert draft["revision"]["worksheet"]["task"] in response.text
    assert "What changed from the AI" in response.text
    assert "<del>" in response.text  # the confidence edit is shown as provenance
    status = client.get(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician).json()
    assert status["status"] == "approved"


def test_approving_a_stale_revision_is_refused(client, tenant, signed_in):
    draft = _approvable(client, tenant, signed_in)
    response = client.post(f"/drafts/{draft['id']}/approve", data={
        "csrf_token": signed_in, "revision": draft["current_revision"] - 1})
    assert response.status_code == 409
    assert 'role="alert"' in response.text


def test_risk_content_needs_the_safety_acknowledgement(client, tenant, signed_in):
    draft = _approvable(client, tenant, signed_in)
    worksheet = draft["revision"]["worksheet"]
    form = _form_of(worksheet, rationale=worksheet["rationale"]
                    + " She mentioned thoughts of suicide last week.")
    client.post(f"/drafts/{draft['id']}/edit", data={
        "csrf_token": signed_in, "base_revision": draft["current_revision"], **form})
    page = client.get(f"/drafts/{draft['id']}").text
    assert 'name="safety_acknowledged"' in page
    revision = draft["current_revision"] + 1
    refused = client.post(f"/drafts/{draft['id']}/approve",
                          data={"csrf_token": signed_in, "revision": revision})
    assert refused.status_code == 422
    accepted = client.post(f"/drafts/{draft['id']}/approve", data={
        "csrf_token": signed_in, "revision": revision, "safety_acknowledged": "true"})
    assert accepted.status_code == 200, accepted.text


def test_reject_needs_a_reason(client, tenant, signed_in):
    draft = _draft(client, tenant)
    empty = client.post(f"/drafts/{draft['id']}/reject", data={"csrf_token": signed_in})
    assert empty.status_code == 422
    done = client.post(f"/drafts/{draft['id']}/reject",
                       data={"csrf_token": signed_in, "reason": "Not the right moment"})
    assert done.status_code == 200
    assert "Not the right moment" in done.text


def test_switching_template_redrafts_with_one_click(client, tenant, signed_in):
    draft = _draft(client, tenant)
    other = next(c["template_id"] for c in draft["candidates"]
                 if c["template_id"] != draft["template_id"])
    response = client.post(f"/drafts/{draft['id']}/template",
                           data={"csrf_token": signed_in, "template_id": other})
    assert response.status_code == 200
    after = drafted(client, tenant, draft["id"])
    assert after["template_id"] == other and after["status"] == "in_review"


def _ask(client, csrf: str, draft, **data: str):  # type: ignore[no-untyped-def]
    return client.post(f"/drafts/{draft['id']}/change", data={"csrf_token": csrf, **data})


def _current(client, tenant, draft):  # type: ignore[no-untyped-def]
    return drafted(client, tenant, draft["id"])


def test_asking_for_a_change_makes_a_new_revision_each_time(client, tenant, signed_in):
    draft = _draft(client, tenant)
    page = client.get(f"/drafts/{draft['id']}").text
    assert "Ask the drafter for a change" in page
    assert f'action="/drafts/{draft["id"]}/change"' in page
    first = draft["revision"]["worksheet"]
    assert _ask(client, signed_in, draft, kind="smaller").status_code == 200
    smaller = _current(client, tenant, draft)
    assert smaller["current_revision"] == draft["current_revision"] + 1
    assert smaller["instruction"] == "make it smaller"
    assert smaller["revision"]["worksheet"]["duration_minutes"] < first["duration_minutes"]
    assert _ask(client, signed_in, draft, kind="form", modality="voice_note").status_code == 200
    voice = _current(client, tenant, draft)
    assert voice["current_revision"] == smaller["current_revision"] + 1
    assert voice["revision"]["worksheet"]["modality"] == "voice_note"
    cue = "right after her morning coffee on the porch"
    assert _ask(client, signed_in, draft, kind="cue", cue=cue).status_code == 200
    cued = _current(client, tenant, draft)
    assert cued["current_revision"] == voice["current_revision"] + 1
    assert cue in cued["revision"]["worksheet"]["when"].lower()
    assert cued["status"] == "in_review", "a change is never an approval"


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "form", "modality": "telepathy"}, "choose a form"),
    ({"kind": "cue", "cue": " "}, "name the cue"),
    ({"kind": "bigger"}, "ask for one of"),
])
def test_a_bad_change_is_a_form_error_and_changes_nothing(client, tenant, signed_in, data,
                                                          message):
    draft = _draft(client, tenant)
    response = _ask(client, signed_in, draft, **data)
    assert response.status_code == 422 and message in response.text
    assert 'role="alert"' in response.text
    assert _current(client, tenant, draft)["current_revision"] == draft["current_revision"]


def test_another_organisations_draft_cannot_be_changed(client, tenant, other_tenant):
    draft = _draft(client, tenant)
    csrf = web_sign_in(client, other_tenant)
    assert _ask(client, csrf, draft, kind="bigger").status_code == 404
    assert _ask(client, csrf, draft, kind="smaller").status_code == 404
    assert _current(client, tenant, draft)["current_revision"] == draft["current_revision"]


def test_script_payloads_render_inert_in_every_field(client, tenant, signed_in):
    draft = _draft(client, tenant, request=f"{SCRIPT} low mood {IMAGE}")
    worksheet = draft["revision"]["worksheet"]
    text_fields = ("title", "goal", "rationale", "task", "when", "where", "frequency",
                   "done_criteria", "tracking", "backup_cue", "reward", "support_person")
    form = _form_of(worksheet, **{name: f"{name} {SCRIPT} {IMAGE}" for name in text_fields},
                    steps=SCRIPT, fields=SCRIPT, obstacle_0=SCRIPT, plan_0=SCRIPT)
    client.post(f"/drafts/{draft['id']}/edit", data={
        "csrf_token": signed_in, "base_revision": draft["current_revision"], **form})
    for url in (f"/drafts/{draft['id']}", "/"):
        html = client.get(url).text
        assert "<script>alert" not in html
        assert "&lt;script&gt;" in html or url == "/"
        assert '<img' not in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
        assert " style=" not in html
    live = client.post(f"/drafts/{draft['id']}/check", data=form,
                       headers={"X-CSRF-Token": signed_in}).text
    assert "<script>alert" not in live


def test_pages_carry_a_strict_csp(client, signed_in):
    response = client.get("/drafts/new")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"


def test_another_organisations_draft_is_not_found(client, tenant, other_tenant):
    draft = make_draft(client, other_tenant, make_client(client, other_tenant)["id"])
    web_sign_in(client, tenant)
    response = client.get(f"/drafts/{draft['id']}")
    assert response.status_code == 404
    assert "Alex Example" not in response.text


def test_logout_ends_the_session(client, signed_in):
    assert client.post("/logout", data={"csrf_token": signed_in},
                       follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


# --- the inbox --------------------------------------------------------------------------


def _api(client, tenant, draft_id: int):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/drafts/{draft_id}", headers=tenant.clinician).json()


def _reject(client, tenant, draft) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/drafts/{draft['id']}/reject", headers=tenant.clinician,
                           json={"reason": "not now"})
    assert response.status_code == 200, response.text


def _patched(client, tenant, draft, **fields):  # type: ignore[no-untyped-def]
    """The draft with some fields edited through the API (to vary its findings)."""
    response = client.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician, json={
        "base_revision": draft["current_revision"],
        "worksheet": {**draft["revision"]["worksheet"], **fields}})
    assert response.status_code == 200, response.text
    return response.json()


def _failed_draft(client, tenant, client_id: int, monkeypatch):  # type: ignore[no-untyped-def]
    async def crash(**_: object) -> None:
        raise RuntimeError("drafter bug")

    with monkeypatch.context() as m:
        m.setattr(workflow_drafts, "draft_worksheet", crash)
        draft = make_draft(client, tenant, client_id)
    assert draft["status"] == "drafting_failed", draft
    return draft


def _inbox_groups(html: str) -> list[tuple[str, list[dict[str, str]]]]:
    """(client heading, rows) per client section, in page order."""
    groups = []
    for section in html.split('<section class="card" aria-labelledby="client-')[1:]:
        name = re.search(r"<h2 [^>]*><a [^>]*>([^<]*)</a></h2>", section).group(1)
        rows = [{"id": m[0], "status": m[1], "findings": m[2]} for m in re.findall(
            r'<td><a href="/drafts/(\d+)">.*?<span class="status[^"]*">([^<]*)</span></td>\s*'
            r"<td>([^<]*)</td>", section.split("</section>")[0], re.S)]
        groups.append((name, rows))
    return groups


def _counts(draft) -> str:  # type: ignore[no-untyped-def]
    found = draft["revision"]["findings"] if draft["revision"] else []
    errors = sum(1 for f in found if f["severity"] == "error")
    warnings = len(found) - errors
    return (f"{errors} error{'' if errors == 1 else 's'}, "
            f"{warnings} warning{'' if warnings == 1 else 's'}")


def test_inbox_groups_awaiting_drafts_per_client_newest_first(client, tenant, signed_in,
                                                               monkeypatch):
    from tests.test_workflow import _fix_errors

    ann = make_client(client, tenant, "PMS-A", "Ann Alpha")
    ben = make_client(client, tenant, "PMS-B", "Ben Beta")
    a1 = make_draft(client, tenant, ann["id"])
    b1 = _patched(client, tenant, make_draft(client, tenant, ben["id"]), review_date=None,
                  confidence=3)
    a_rejected = make_draft(client, tenant, ann["id"])
    _reject(client, tenant, a_rejected)
    b2 = _fix_errors(client, tenant, make_draft(client, tenant, ben["id"]))
    a_approved = _fix_errors(client, tenant, make_draft(client, tenant, ann["id"]))
    assert client.post(f"/api/v1/drafts/{a_approved['id']}/approve", headers=tenant.clinician,
                       json={"revision": a_approved["current_revision"]}).status_code == 201
    b_failed = _failed_draft(client, tenant, ben["id"], monkeypatch)
    a2 = _patched(client, tenant, make_draft(client, tenant, ann["id"]), title="",
                  review_date=None)
    b_rejected = make_draft(client, tenant, ben["id"])  # Ben's is the newest draft of all,
    _reject(client, tenant, b_rejected)                 # but not one awaiting review

    groups = _inbox_groups(client.get("/").text)
    assert [name for name, _ in groups] == ["Ann Alpha", "Ben Beta"]
    expected = {"Ann Alpha": [a2, a1], "Ben Beta": [b_failed, b2, b1]}
    for name, rows in groups:
        assert [int(r["id"]) for r in rows] == [d["id"] for d in expected[name]], name
        for row, draft in zip(rows, expected[name], strict=True):
            api = _api(client, tenant, draft["id"])
            assert row["status"] == api["status"].replace("_", " "), row
            assert row["findings"] == _counts(api), row
    shown = {r["findings"] for _, rows in groups for r in rows}
    assert len(shown) >= 3, shown  # the counts differ between drafts, so each was read
    assert {r["status"] for _, rows in groups for r in rows} == {"in review",
                                                                  "drafting failed"}
    html = client.get("/").text
    for absent in (a_rejected, a_approved, b_rejected):
        assert f'href="/drafts/{absent["id"]}"' not in html


def test_inbox_limit_counts_only_drafts_awaiting_review(client, tenant, signed_in,
                                                        monkeypatch):
    from service.web import clinician

    monkeypatch.setattr(clinician, "INBOX_LIMIT", 2)
    c = make_client(client, tenant)
    waiting = make_draft(client, tenant, c["id"])
    for _ in range(3):
        _reject(client, tenant, make_draft(client, tenant, c["id"]))
    groups = _inbox_groups(client.get("/").text)
    assert [[int(r["id"]) for r in rows] for _, rows in groups] == [[waiting["id"]]]


# --- progress while drafting ------------------------------------------------------------


def test_progress_polls_while_drafting_then_refreshes_the_page(client, tenant, signed_in,
                                                               monkeypatch):
    from service.web import clinician

    monkeypatch.setattr(clinician, "start_drafting", lambda *args, **kwargs: None)
    c = make_client(client, tenant)
    response = client.post("/drafts", data={"csrf_token": signed_in, "client_id": c["id"],
                                            "request_text": PORCH_REQUEST},
                           follow_redirects=False)
    assert response.status_code == 303
    draft_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert _api(client, tenant, draft_id)["status"] == "requested"
    polling = (f'id="progress" class="card" role="status" hx-get="/drafts/{draft_id}/progress"'
               ' hx-trigger="every 1s" hx-swap="outerHTML"')
    assert polling in client.get(f"/drafts/{draft_id}").text
    pending = client.get(f"/drafts/{draft_id}/progress")
    assert pending.status_code == 200
    assert "hx-refresh" not in pending.headers
    assert polling in pending.text

    anyio.run(run_drafting, draft_id, get_settings())

    assert _api(client, tenant, draft_id)["status"] == "in_review"
    done = client.get(f"/drafts/{draft_id}/progress")
    assert done.status_code == 200
    assert done.headers["hx-refresh"] == "true"
    assert "hx-get" not in done.text
    page = client.get(f"/drafts/{draft_id}").text
    assert 'id="progress"' not in page and 'id="worksheet-form"' in page


def test_the_page_renders_while_the_first_revision_is_being_committed(client, tenant,
                                                                    signed_in, monkeypatch):
    """The drafting thread can commit revision 1 between the page reading the draft and
    reading its revisions (CI hit it as a 500): the page shows progress, not an error."""
    from service.web import clinician, review
    from service.workflow.states import DraftStatus

    def read_just_before_the_commit(session, draft, *args):  # type: ignore[no-untyped-def]
        session.expunge(draft)  # the draft as read just before the drafting commit
        draft.current_revision, draft.status = 0, DraftStatus.DRAFTING
        page = review.draft_page(session, draft, *args)
        assert page.revision is None and len(page.history) == 1
        return page

    draft_id = _draft(client, tenant)["id"]
    monkeypatch.setattr(clinician, "draft_page", read_just_before_the_commit)
    response = client.get(f"/drafts/{draft_id}")
    assert response.status_code == 200
    assert 'id="progress"' in response.text and 'id="worksheet-form"' not in response.text
    assert _api(client, tenant, draft_id)["current_revision"] == 1


# --- every field editable in place ------------------------------------------------------


def _control(html: str, name: str) -> str:
    """What the draft page's control for `name` carries: an input's value, a textarea's text,
    a select's selected option."""
    tag = re.search(rf'<(input|textarea|select) id="w-{name}"[^>]*>', html)
    assert tag, f"no control for {name}"
    if tag.group(1) == "input":
        return re.search(r'value="([^"]*)"', tag.group(0)).group(1)
    rest = html[tag.end():]
    if tag.group(1) == "textarea":
        return rest.split("</textarea>")[0]
    selected = re.search(r'<option value="([^"]*)" selected>', rest.split("</select>")[0])
    return selected.group(1) if selected else ""


def test_every_worksheet_field_is_editable_in_place(client, tenant, signed_in):
    draft = _draft(client, tenant)
    before = draft["revision"]["worksheet"]
    text = ("title", "goal", "rationale", "task", "when", "where", "frequency",
            "done_criteria", "tracking", "backup_cue", "reward", "support_person")
    marked: dict[str, object] = {name: f"Edited {name} marker" for name in text}
    marked |= {"duration_minutes": 17.5,
               "confidence": next(n for n in (7, 4) if n != before["confidence"]),
               "review_date": str(today() + dt.timedelta(days=23)),
               "modality": next(m for m in ("calendar", "app") if m != before["modality"]),
               "steps": ["First edited step", "Second edited step"],
               "fields": ["edited field one", "edited field two"],
               "obstacles": [{"obstacle": "Edited obstacle one", "plan": "Edited plan one"},
                             {"obstacle": "Edited obstacle two", "plan": "Edited plan two"}]}
    assert all(before.get(k) != v for k, v in marked.items())
    form = {k: str(v) for k, v in marked.items() if not isinstance(v, list)}
    form["steps"], form["fields"] = "\n".join(marked["steps"]), "\n".join(marked["fields"])
    for i, o in enumerate(marked["obstacles"]):
        form[f"obstacle_{i}"], form[f"plan_{i}"] = o["obstacle"], o["plan"]
    response = client.post(f"/drafts/{draft['id']}/edit", data={
        "csrf_token": signed_in, "base_revision": draft["current_revision"], **form},
        follow_redirects=False)
    assert response.status_code == 303, response.text

    saved = _api(client, tenant, draft["id"])
    assert saved["current_revision"] == draft["current_revision"] + 1
    for name, value in marked.items():
        assert saved["revision"]["worksheet"][name] == value, name
    page = client.get(f"/drafts/{draft['id']}").text
    for name, value in marked.items():
        if name == "obstacles":
            for i, o in enumerate(marked["obstacles"]):
                assert _control(page, f"obstacle_{i}") == o["obstacle"]
                assert _control(page, f"plan_{i}") == o["plan"]
        elif isinstance(value, list):
            assert _control(page, name) == "\n".join(value), name
        else:
            assert _control(page, name) == str(value), name


# --- the login form's CSRF token --------------------------------------------------------


def test_login_without_the_csrf_token_is_refused(client, tenant):
    credentials = {"email": tenant.email, "password": tenant.password}
    client.get("/login")  # the session holds a token; the post does not carry it
    missing = client.post("/login", data=credentials, follow_redirects=False)
    assert missing.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303
    forged = client.post("/login", data={**credentials, "csrf_token": "forged"},
                         follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def _approval_row(draft_id: int):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from service.db import transaction
    from service.models import Approval

    with transaction() as session:
        row = session.scalar(select(Approval).where(Approval.draft_id == draft_id))
        assert row is not None
        return row.changes_from_ai, row.safety_acknowledged


def test_provenance_tells_the_clinicians_edits_from_a_redraft_and_is_kept(client, tenant,
                                                                          signed_in):
    from tests.test_workflow import _fix_errors

    draft = _draft(client, tenant)
    first = draft["revision"]["worksheet"]
    asked = client.post(f"/api/v1/drafts/{draft['id']}/redraft", headers=tenant.clinician,
                        json={"instruction": "change the form: voice note"})
    assert asked.status_code == 200, asked.text
    redrafted = drafted(client, tenant, draft["id"])
    assert redrafted["revision"]["worksheet"]["modality"] == "voice_note" != first["modality"]
    fixed = _fix_errors(client, tenant, redrafted)
    worksheet = {**fixed["revision"]["worksheet"], "title": "Porch minutes, her way"}
    edited = client.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician, json={
        "base_revision": fixed["current_revision"], "worksheet": worksheet}).json()
    page = client.post(f"/drafts/{draft['id']}/approve", data={
        "csrf_token": signed_in, "revision": edited["current_revision"]})
    assert page.status_code == 200, page.text
    kept, acknowledged = _approval_row(draft["id"])
    by = {row["field"]: row["by"] for row in kept}
    assert by["title"] == ["clinician"] and by["modality"] == ["drafter"]
    assert {row["field"]: row["final"] for row in kept}["title"] == "Porch minutes, her way"
    assert acknowledged is False
    shown = client.get(f"/drafts/{draft['id']}").text
    rows = re.findall(r'<tr><th scope="row">[^<]+</th><td><del>.*?</del></td><td><ins>.*?'
                      r'</ins></td><td>([^<]*)</td></tr>', shown, flags=re.S)
    assert len(rows) == len(kept), "the page shows the provenance kept with the approval"
    assert "re-draft" in rows and "clinician" in rows


def test_the_safety_acknowledgement_is_recorded_with_the_approval(client, tenant, signed_in):
    draft = _approvable(client, tenant, signed_in)
    worksheet = draft["revision"]["worksheet"]
    form = _form_of(worksheet, rationale=worksheet["rationale"] + " She has thoughts of self-harm.")
    client.post(f"/drafts/{draft['id']}/edit", data={
        "csrf_token": signed_in, "base_revision": draft["current_revision"], **form})
    accepted = client.post(f"/drafts/{draft['id']}/approve", data={
        "csrf_token": signed_in, "revision": draft["current_revision"] + 1,
        "safety_acknowledged": "true"})
    assert accepted.status_code == 200, accepted.text
    kept, acknowledged = _approval_row(draft["id"])
    assert acknowledged is True
    assert "rationale" in {row["field"] for row in kept}


@pytest.mark.parametrize(("value", "shown"), [
    (5.0, "5"), (2.5, "2.5"), (None, "—"), ([], "—"),
    (["Sit down", "Breathe"], "Sit down; Breathe"),
    ([{"obstacle": "It rains.", "plan": "If it rains, then sit by the window."}],
     "It rains: If it rains, then sit by the window."),
    ([{"obstacle": "Tired", "plan": "do two minutes"}], "If Tired, then do two minutes"),
])
def test_diffs_and_fixes_show_values_as_a_person_reads_them(value, shown):
    from service.web.templating import field_text

    assert field_text(value) == shown
