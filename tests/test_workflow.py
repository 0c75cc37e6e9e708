"""The whole loop through the API: request → draft → validate → approve → history → check-in."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, text, update

from service import audit
from service.auth.principal import Principal
from service.db import get_engine, transaction
from service.errors import Conflict
from service.models import AuditEvent, Draft, DraftRevision
from service.workflow.approval import approve_revision
from service.workflow.content import canonical, sha256
from tests.factories import PORCH_REQUEST, make_client, make_draft


def _approve(http, tenant, draft, **extra):  # type: ignore[no-untyped-def]
    return http.post(f"/api/v1/drafts/{draft['id']}/approve",
                     json={"revision": draft["current_revision"], **extra},
                     headers=tenant.clinician)


def _fix_errors(http, tenant, draft):  # type: ignore[no-untyped-def]
    """Accept every suggested fix, as a clinician would with one click each."""
    worksheet = dict(draft["revision"]["worksheet"])
    for finding in draft["revision"]["findings"]:
        if finding["severity"] == "error" and finding.get("suggested_fix"):
            worksheet.update(finding["suggested_fix"])
    worksheet["confidence"] = 8
    response = http.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician,
                          json={"base_revision": draft["current_revision"],
                                "worksheet": worksheet})
    assert response.status_code == 200, response.text
    return response.json()


def test_request_is_stored_and_drafted_offline(client, tenant):
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"])
    assert draft["request"] == PORCH_REQUEST
    assert draft["status"] == "in_review"
    assert draft["template_id"] == "behavioral_activation"
    assert len(draft["candidates"]) >= 3
    assert draft["drafter"] == "offline"
    assert draft["revision"]["number"] == 1


def test_full_loop_resource_is_exactly_the_approved_revision(client, tenant):
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    response = _approve(client, tenant, draft)
    assert response.status_code == 201, response.text
    resource = response.json()
    approved = draft["revision"]["worksheet"]
    assert resource["worksheet"] == approved
    assert resource["content_sha256"] == sha256(canonical(approved))
    history = client.get(f"/api/v1/clients/{c['id']}/resources", headers=tenant.integration)
    assert [r["id"] for r in history.json()["items"]] == [resource["id"]]
    check_in = client.post(f"/api/v1/resources/{resource['id']}/check-ins",
                           json={"outcome": "partial", "note": "rain"}, headers=tenant.integration)
    assert check_in.status_code == 201
    again = client.get(f"/api/v1/resources/{resource['id']}", headers=tenant.integration).json()
    assert again["check_ins"][0]["note"] == "rain"
    sign_off = again["approval"]
    assert (sign_off["draft_id"], sign_off["revision"], sign_off["clinician_id"]) == (
        draft["id"], draft["current_revision"], tenant.clinician_id)
    assert sign_off["safety_acknowledged"] is False
    assert dt.datetime.fromisoformat(sign_off["approved_at"]) <= dt.datetime.now(dt.UTC)


def test_integration_key_can_never_approve(client, tenant):
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    response = client.post(f"/api/v1/drafts/{draft['id']}/approve",
                           json={"revision": draft["current_revision"]},
                           headers=tenant.integration)
    assert response.status_code == 403
    assert client.get(f"/api/v1/drafts/{draft['id']}",
                      headers=tenant.clinician).json()["status"] == "in_review"


def test_stale_revision_gets_409(client, tenant):
    c = make_client(client, tenant)
    first = make_draft(client, tenant, c["id"])
    fixed = _fix_errors(client, tenant, first)
    response = client.post(f"/api/v1/drafts/{fixed['id']}/approve",
                           json={"revision": first["current_revision"]},
                           headers=tenant.clinician)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")


def test_revision_with_error_finding_gets_422(client, tenant):
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    worksheet = {**draft["revision"]["worksheet"], "when": "sometime"}
    edited = client.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician,
                          json={"base_revision": draft["current_revision"],
                                "worksheet": worksheet}).json()
    assert edited["current_revision"] == draft["current_revision"] + 1
    assert "missing_when" in {f["code"] for f in edited["revision"]["findings"]}
    assert _approve(client, tenant, edited).status_code == 422


def test_other_organisation_gets_404(client, tenant, other_tenant):
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"])
    for call in (
        lambda: client.get(f"/api/v1/drafts/{draft['id']}", headers=other_tenant.clinician),
        lambda: _approve(client, other_tenant, draft),
        lambda: client.get(f"/api/v1/clients/{c['id']}", headers=other_tenant.integration),
        lambda: client.post("/api/v1/drafts", headers=other_tenant.integration,
                            json={"client_id": c["id"], "request": "x"}),
    ):
        assert call().status_code == 404


def test_reject_keeps_draft_and_reason(client, tenant):
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"])
    response = client.post(f"/api/v1/drafts/{draft['id']}/reject",
                           json={"reason": "Not the right moment"}, headers=tenant.clinician)
    assert response.json()["status"] == "rejected"
    kept = client.get(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician).json()
    assert kept["reject_reason"] == "Not the right moment"
    assert kept["request"] == PORCH_REQUEST
    assert _approve(client, tenant, kept).status_code == 409


def test_nothing_visible_to_client_before_approval(client, tenant):
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    link = client.post(f"/api/v1/clients/{c['id']}/link", headers=tenant.clinician).json()
    view = f"/api/v1/client-view/{link['token']}/resources"
    assert client.get(view).json() == []
    assert client.get(f"/api/v1/clients/{c['id']}/resources",
                      headers=tenant.clinician).json()["items"] == []
    _approve(client, tenant, draft)
    assert [r["worksheet"] for r in client.get(view).json()] == [draft["revision"]["worksheet"]]
    client.delete(f"/api/v1/clients/{c['id']}/link", headers=tenant.clinician)
    assert client.get(view).status_code == 404


def test_risk_content_needs_safety_acknowledgement(client, tenant):
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"],
                       request="Low mood, has had thoughts of suicide; safety plan in place. "
                               "Something small each morning after breakfast.")
    draft = _fix_errors(client, tenant, draft)
    assert "risk_content" in {f["code"] for f in draft["revision"]["findings"]}
    assert _approve(client, tenant, draft).status_code == 422
    assert _approve(client, tenant, draft, safety_acknowledged=True).status_code == 201


def test_bad_input_names_the_field(client, tenant):
    response = client.post("/api/v1/drafts", json={"client_id": "x", "request": ""},
                           headers=tenant.integration)
    assert response.status_code == 422
    assert "client_id" in response.json()["detail"] or "request" in response.json()["detail"]
    assert client.get("/api/v1/drafts", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_two_simultaneous_approvals_exactly_one_wins(client, tenant):
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    principal = Principal(tenant.organisation_id, tenant.clinician_id, "clinician")
    barrier, results = threading.Barrier(2), []

    def attempt() -> None:
        barrier.wait()
        try:
            with transaction() as session:
                approve_revision(session, principal, draft["id"],
                                 revision=draft["current_revision"])
            results.append("won")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "won"], results  # the loser is told why: 409
    history = client.get(f"/api/v1/clients/{c['id']}/resources", headers=tenant.clinician)
    assert len(history.json()["items"]) == 1


def test_audit_chain_detects_edit_and_delete(client, tenant):
    c = make_client(client, tenant)
    make_draft(client, tenant, c["id"])
    with transaction() as session:
        assert audit.verify(session) == []
        first = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
        assert first is not None
        session.execute(update(AuditEvent).where(AuditEvent.id == first.id)
                        .values(action="client.deleted"))
    with transaction() as session:
        assert any("edited" in p for p in audit.verify(session))
    with get_engine().begin() as conn:
        conn.execute(AuditEvent.__table__.delete())
    make_draft(client, tenant, c["id"])
    with transaction() as session:
        ids = list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
        session.execute(AuditEvent.__table__.delete().where(AuditEvent.id == ids[1]))
    with transaction() as session:
        assert any("deleted" in p for p in audit.verify(session))


def test_every_read_of_client_data_is_audited(client, tenant):
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"])
    client.get(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician)
    with transaction() as session:
        actions = [(e.action, e.actor) for e in session.scalars(select(AuditEvent))]
    assert ("draft.read", f"clinician:{tenant.clinician_id}") in actions
    assert ("client.created", f"integration:{tenant.organisation_id}") in actions


def test_redraft_on_another_template_makes_a_new_revision(client, tenant):
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"])
    response = client.post(f"/api/v1/drafts/{draft['id']}/redraft",
                           json={"template_id": "values_action"}, headers=tenant.clinician)
    assert response.status_code == 200, response.text
    redrafted = response.json()
    assert redrafted["template_id"] == "values_action"
    assert redrafted["current_revision"] == 2
    assert redrafted["revision"]["worksheet"]["template_id"] == "values_action"


def test_draft_status_moves_only_along_the_table():
    from service.workflow.states import DraftStatus, move

    draft = Draft(id=1, status="approved")
    with pytest.raises(Conflict):
        move(draft, DraftStatus.IN_REVIEW)


def test_check_in_in_the_future_is_refused(client, tenant):
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    resource = _approve(client, tenant, draft).json()
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    response = client.post(f"/api/v1/resources/{resource['id']}/check-ins",
                           json={"outcome": "done", "check_in_date": tomorrow},
                           headers=tenant.integration)
    assert response.status_code == 422
    assert response.json()["field"] == "check_in_date"


def test_list_reads_are_attributable_to_each_client_they_showed(client, tenant):
    """An auditor asking "who saw this client's record?" must find list reads too."""
    first, second = (make_client(client, tenant, external_id=f"PMS-{n}", name=f"Client {n}")
                     for n in (1, 2))
    drafted_ids = {c["id"]: make_draft(client, tenant, c["id"])["id"] for c in (first, second)}
    with transaction() as session:
        session.execute(AuditEvent.__table__.delete())
    assert client.get("/api/v1/clients", headers=tenant.clinician).status_code == 200
    assert client.get("/api/v1/drafts", headers=tenant.clinician).status_code == 200
    with transaction() as session:
        for c in (first, second):
            seen = {(e.action, e.object_id, e.actor) for e in audit.list_events(
                session, client_id=c["id"])}
            actor = f"clinician:{tenant.clinician_id}"
            assert seen == {("client.list", str(c["id"]), actor),
                            ("draft.list", str(drafted_ids[c["id"]]), actor)}, seen
        assert audit.verify(session) == []  # batched events chain like single ones


def _approved_world(http, tenant):  # type: ignore[no-untyped-def]
    draft = _fix_errors(http, tenant, make_draft(http, tenant, make_client(http, tenant)["id"]))
    resource = http.post(f"/api/v1/drafts/{draft['id']}/approve", headers=tenant.clinician,
                         json={"revision": draft["current_revision"]})
    assert resource.status_code == 201, resource.text
    check_in = http.post(f"/api/v1/resources/{resource.json()['id']}/check-ins",
                         headers=tenant.integration, json={"outcome": "done"})
    assert check_in.status_code == 201, check_in.text
    return resource.json()


IMMUTABLE = [("draft_revisions", "worksheet", "'{}'"), ("approvals", "content_sha256", "'x'"),
             ("check_ins", "outcome", "'skipped'"), ("resources", "content", "'{}'")]


@pytest.mark.parametrize(("table", "column", "value"), IMMUTABLE)
def test_the_database_refuses_to_change_history(client, tenant, table, column, value):
    """Even SQL that bypasses the service (a console, a stray script) cannot rewrite an
    approved revision, an approval, a check-in or what a client was shown."""
    from sqlalchemy.exc import DBAPIError

    _approved_world(client, tenant)
    with pytest.raises(DBAPIError, match="immutable"), transaction() as session:
        session.execute(text(f"UPDATE {table} SET {column} = {value}"))


def test_the_orm_refuses_to_change_or_delete_history_but_a_resource_may_retire(client, tenant):
    from service.models import Approval, CheckIn, ImmutableRecord, Resource

    resource = _approved_world(client, tenant)
    for model, field in ((DraftRevision, "author"), (Approval, "content_sha256"),
                         (CheckIn, "note"), (Resource, "content")):
        with pytest.raises(ImmutableRecord), transaction() as session:
            row = session.scalars(select(model)).first()
            setattr(row, field, "rewritten")
        with pytest.raises(ImmutableRecord), transaction() as session:
            session.delete(session.scalars(select(model)).first())
    retired = client.post(f"/api/v1/resources/{resource['id']}/retire", headers=tenant.clinician)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert retired.json()["content_sha256"] == resource["content_sha256"]


@pytest.mark.parametrize("day", ["1900-01-01", "days before approval"])
def test_a_check_in_cannot_predate_the_items_approval(client, tenant, day):
    """Back-dated logs would fake a streak for weeks the item did not exist."""
    resource = _approved_world(client, tenant)
    if day == "days before approval":
        day = (dt.date.fromisoformat(resource["created_at"][:10])
               - dt.timedelta(days=2)).isoformat()
    refused = client.post(f"/api/v1/resources/{resource['id']}/check-ins",
                          headers=tenant.integration,
                          json={"outcome": "done", "check_in_date": day})
    assert refused.status_code == 422 and refused.json()["field"] == "check_in_date"
    after = client.get(f"/api/v1/resources/{resource['id']}", headers=tenant.clinician).json()
    assert len(after["check_ins"]) == 1  # only the one logged on the day of approval


def test_approval_judges_the_revision_as_of_today(client, tenant):
    """A revision saved clean, approved after its review date has passed: 422, not a resource
    whose review is already over."""
    from service import clock

    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    assert draft["revision"]["ok"]
    later = clock.now() + dt.timedelta(days=21)
    previous = clock.set_clock(lambda: later)
    try:
        response = _approve(client, tenant, draft)
    finally:
        clock.set_clock(previous)
    assert response.status_code == 422 and "missing_review" in response.json()["detail"]
    assert client.get(f"/api/v1/drafts/{draft['id']}",
                      headers=tenant.clinician).json()["status"] == "in_review"
