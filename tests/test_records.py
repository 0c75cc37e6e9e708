"""Records as stored: clients keyed by external id per organisation, API keys as hashes,
refused input leaving nothing behind, and clinical decisions refused to integration keys."""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

import pytest
from sqlalchemy import String, func, select

from service.db import Base, transaction
from service.models import ApiKey, AuditEvent, Client, Draft, DraftRevision, Resource
from tests.factories import PORCH_REQUEST, make_client, make_draft
from tests.test_workflow import _fix_errors


def _clients_with(organisation_id: int, external_id: str) -> list[Client]:
    with transaction() as session:
        return list(session.scalars(select(Client).where(
            Client.organisation_id == organisation_id, Client.external_id == external_id)))


def _count(model: type[Base]) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- clients: one per (organisation, external id) ------------------------------------------


def test_the_same_external_id_in_two_organisations_is_two_clients(client, tenant, other_tenant):
    body = {"external_id": "SHARED-7", "name": "First Practice Person"}
    mine = client.put("/api/v1/clients", json=body, headers=tenant.integration)
    theirs = client.put("/api/v1/clients", json={**body, "name": "Second Practice Person"},
                        headers=other_tenant.integration)
    assert (mine.status_code, theirs.status_code) == (201, 201), (mine.text, theirs.text)
    assert mine.json()["id"] != theirs.json()["id"]
    assert [c.id for c in _clients_with(tenant.organisation_id, "SHARED-7")] == [mine.json()["id"]]
    assert [c.id for c in _clients_with(other_tenant.organisation_id, "SHARED-7")] == [
        theirs.json()["id"]]
    listed = client.get("/api/v1/clients", headers=tenant.clinician).json()["items"]
    assert [(c["id"], c["name"]) for c in listed] == [(mine.json()["id"], "First Practice Person")]


def test_a_second_put_with_the_same_external_id_updates_not_duplicates(client, tenant,
                                                                       other_tenant):
    first = make_client(client, tenant, external_id="UPD-1", name="Old Name")
    theirs = make_client(client, other_tenant, external_id="UPD-1", name="Untouched Name")
    again = client.put("/api/v1/clients", headers=tenant.integration,
                       json={"external_id": "UPD-1", "name": "New Name",
                             "preferred_name": "Newt"})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first["id"]
    assert (again.json()["name"], again.json()["preferred_name"]) == ("New Name", "Newt")
    rows = _clients_with(tenant.organisation_id, "UPD-1")
    assert [(c.id, c.name) for c in rows] == [(first["id"], "New Name")]
    fetched = client.get(f"/api/v1/clients/{first['id']}", headers=tenant.clinician).json()
    assert fetched["name"] == "New Name"
    assert [c.name for c in _clients_with(other_tenant.organisation_id, "UPD-1")] == [
        "Untouched Name"]
    assert theirs["id"] != first["id"]


def test_concurrent_puts_of_one_new_external_id_make_one_client(client, tenant):
    """Four practice-management calls for the same new client at the same moment: one
    creates it (201), the others update it (200); never a 500, never a second row."""
    threads_n = 4
    barrier = threading.Barrier(threads_n)
    answers: list[tuple[int, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def put(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.put("/api/v1/clients", headers=tenant.integration,
                                  json={"external_id": "RACE-1", "name": f"Racer {n}"})
            with lock:
                answers.append((response.status_code, response.json()))
        except BaseException as exc:  # reported below, not lost in the thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), "a PUT hung"
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 200, 200, 201], answers
    rows = _clients_with(tenant.organisation_id, "RACE-1")
    assert len(rows) == 1, [(c.id, c.name) for c in rows]
    assert {body["id"] for _, body in answers} == {rows[0].id}
    assert rows[0].name in {f"Racer {n}" for n in range(threads_n)}


# --- API keys: stored as SHA-256, shown once ------------------------------------------------


def _string_values(session: Any) -> list[str]:
    """Every string value in every table: where a raw key would be if it were stored."""
    values: list[str] = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String)]
        if columns:
            for row in session.execute(select(*columns)):
                values.extend(v for v in row if isinstance(v, str))
    return values


def test_api_keys_are_stored_as_their_sha256_only(client, tenant, other_tenant):
    keys = [tenant.clinician_key, tenant.integration_key, other_tenant.clinician_key,
            other_tenant.integration_key]
    assert all(re.fullmatch(r"hw_[A-Za-z0-9_-]{40,}", k) for k in keys), keys
    with transaction() as session:
        rows = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
        stored = _string_values(session)
    assert len(rows) == len(keys)
    assert [r.key_hash for r in rows] == [hashlib.sha256(k.encode()).hexdigest() for k in keys]
    assert all(re.fullmatch(r"[0-9a-f]{64}", r.key_hash) for r in rows)
    assert [(r.organisation_id, r.clinician_id is not None) for r in rows] == [
        (tenant.organisation_id, True), (tenant.organisation_id, False),
        (other_tenant.organisation_id, True), (other_tenant.organisation_id, False)]
    for key in keys:  # neither the key nor its random part is anywhere in the database
        secret = key.removeprefix("hw_")
        assert not [v for v in stored if secret in v]
        # and the hash alone is what lets the key in
        assert client.get("/api/v1/clients", headers={"Authorization": f"Bearer {key}"}
                          ).status_code == 200


# --- refused input leaves nothing ----------------------------------------------------------


def test_an_unknown_template_is_a_422_naming_the_field_and_stores_nothing(client, tenant):
    c = make_client(client, tenant)
    drafts_before, events_before = _count(Draft), _count(AuditEvent)
    response = client.post("/api/v1/drafts", headers=tenant.integration,
                           json={"client_id": c["id"], "request": PORCH_REQUEST,
                                 "template_id": "nope"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == "template_id"
    assert "nope" in body["detail"]
    assert _count(Draft) == drafts_before == 0
    assert _count(DraftRevision) == 0
    assert _count(AuditEvent) == events_before  # no draft.created for a draft never stored
    listed = client.get("/api/v1/drafts", headers=tenant.clinician).json()["items"]
    assert listed == []


MISSING = object()


@pytest.mark.parametrize(("body", "loc", "type_"), [
    pytest.param({"request": MISSING}, ["body", "request"], "missing", id="missing-request"),
    pytest.param({"client_id": "seven"}, ["body", "client_id"], "int_parsing",
                 id="client-id-not-an-int"),
    pytest.param({"client_id": 1.5}, ["body", "client_id"], "int_from_float",
                 id="client-id-a-fraction"),
    pytest.param({"request": ""}, ["body", "request"], "string_too_short", id="empty-request"),
    pytest.param({"client_id": 0}, ["body", "client_id"], "greater_than_equal",
                 id="client-id-zero"),
])
def test_a_bad_draft_body_names_exactly_the_field(client, tenant, body, loc, type_):
    c = make_client(client, tenant)
    sent = {k: v for k, v in {"client_id": c["id"], "request": PORCH_REQUEST, **body}.items()
            if v is not MISSING}
    response = client.post("/api/v1/drafts", json=sent, headers=tenant.integration)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [(loc, type_)]
    assert problem["detail"].startswith(f"{loc[-1]}: ")
    assert "seven" not in response.text  # the submitted value is never echoed
    assert _count(Draft) == 0


def test_a_whitespace_request_is_refused_by_the_domain_with_the_field(client, tenant):
    """Blank after trimming passes the schema's length check; the domain core names it."""
    c = make_client(client, tenant)
    response = client.post("/api/v1/drafts", headers=tenant.integration,
                           json={"client_id": c["id"], "request": "   \n\t "})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "request"
    assert "errors" not in response.json()
    assert _count(Draft) == 0


def test_several_bad_fields_are_each_named(client, tenant):
    response = client.post("/api/v1/drafts", headers=tenant.integration,
                           json={"client_id": "x", "request": "", "surprise": True})
    assert response.status_code == 422
    locs = sorted(tuple(e["loc"]) for e in response.json()["errors"])
    assert locs == [("body", "client_id"), ("body", "request"), ("body", "surprise")]


# --- clinical decisions need a clinician's own credential -----------------------------------


def _state(client, tenant, draft_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    draft = client.get(f"/api/v1/drafts/{draft_id}", headers=tenant.clinician).json()
    revisions = client.get(f"/api/v1/drafts/{draft_id}/revisions",
                           headers=tenant.clinician).json()
    return {k: draft[k] for k in ("status", "current_revision", "template_id", "instruction",
                                  "reject_reason")} | {"revisions": revisions}


def _draft_decisions(draft: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    base = f"/api/v1/drafts/{draft['id']}"
    return {
        "edit": ("PATCH", base, {"base_revision": draft["current_revision"],
                                 "worksheet": {**draft["revision"]["worksheet"],
                                               "title": "Integration edit"}}),
        "redraft": ("POST", f"{base}/redraft", {"instruction": "smaller"}),
        "reject": ("POST", f"{base}/reject", {"reason": "integration says no"}),
        "approve": ("POST", f"{base}/approve", {"revision": draft["current_revision"]}),
    }


def test_an_integration_key_cannot_make_clinical_decisions_and_changes_nothing(client,
                                                                                tenant):
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    before = _state(client, tenant, draft["id"])
    for name, (method, url, body) in _draft_decisions(draft).items():
        response = client.request(method, url, json=body, headers=tenant.integration)
        assert response.status_code == 403, (name, response.status_code, response.text)
        assert "clinician" in response.json()["detail"], name
        assert _state(client, tenant, draft["id"]) == before, name
    assert _count(Resource) == 0
    with transaction() as session:
        integration_actions = set(session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor == f"integration:{tenant.organisation_id}")))
    assert not integration_actions & {"draft.edited", "draft.redraft_requested",
                                      "draft.rejected", "draft.approved"}

    resource = client.post(f"/api/v1/drafts/{draft['id']}/approve",
                           json={"revision": draft["current_revision"]},
                           headers=tenant.clinician).json()
    retire = client.post(f"/api/v1/resources/{resource['id']}/retire",
                         headers=tenant.integration)
    assert retire.status_code == 403, retire.text
    after = client.get(f"/api/v1/resources/{resource['id']}", headers=tenant.integration).json()
    assert after["status"] == "active"
    assert after["content_sha256"] == resource["content_sha256"]


def test_a_clinician_key_can_make_each_clinical_decision(client, tenant):
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    calls = _draft_decisions(draft)

    method, url, body = calls["edit"]
    edited = client.request(method, url, json=body, headers=tenant.clinician)
    assert edited.status_code == 200, edited.text
    assert edited.json()["current_revision"] == draft["current_revision"] + 1
    assert edited.json()["revision"]["worksheet"]["title"] == "Integration edit"

    method, url, body = calls["redraft"]
    redrafted = client.request(method, url, json=body, headers=tenant.clinician)
    assert redrafted.status_code == 200, redrafted.text
    assert redrafted.json()["current_revision"] == draft["current_revision"] + 2
    assert redrafted.json()["instruction"] == "smaller"

    ready = _fix_errors(client, tenant, redrafted.json())
    approved = client.post(f"/api/v1/drafts/{draft['id']}/approve",
                           json={"revision": ready["current_revision"]},
                           headers=tenant.clinician)
    assert approved.status_code == 201, approved.text
    assert approved.json()["worksheet"] == ready["revision"]["worksheet"]

    retired = client.post(f"/api/v1/resources/{approved.json()['id']}/retire",
                          headers=tenant.clinician)
    assert retired.status_code == 200, retired.text
    assert retired.json()["status"] == "retired"

    other = make_draft(client, tenant, c["id"])
    method, url, body = _draft_decisions(other)["reject"]
    rejected = client.request(method, url, json=body, headers=tenant.clinician)
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["reject_reason"]) == (
        "rejected", "integration says no")
