"""Idempotency-Key on create calls: a retried request gets the first answer, once."""

from __future__ import annotations

from sqlalchemy import func, select

from service.db import transaction
from service.models import CheckIn, Draft
from tests.factories import PORCH_REQUEST, make_client, make_draft
from tests.test_workflow import _fix_errors


def _key(value: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": value}


def _count(model: type) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_same_key_and_body_replays_the_first_draft(client, tenant):
    c = make_client(client, tenant)
    body = {"client_id": c["id"], "request": PORCH_REQUEST}
    first = client.post("/api/v1/drafts", json=body, headers=_key("k-1", tenant.integration))
    again = client.post("/api/v1/drafts", json=dict(reversed(body.items())),
                        headers=_key("k-1", tenant.integration))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _count(Draft) == 1


def test_same_key_with_another_body_is_422_and_does_nothing(client, tenant):
    c = make_client(client, tenant)
    client.post("/api/v1/drafts", json={"client_id": c["id"], "request": PORCH_REQUEST},
                headers=_key("k-2", tenant.integration))
    other = client.post("/api/v1/drafts", json={"client_id": c["id"], "request": "panic"},
                        headers=_key("k-2", tenant.integration))
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    assert _count(Draft) == 1


def test_async_draft_replays_the_202_and_its_location(client, tenant):
    c = make_client(client, tenant)
    headers = {**_key("k-3", tenant.integration), "Prefer": "respond-async"}
    body = {"client_id": c["id"], "request": PORCH_REQUEST}
    first = client.post("/api/v1/drafts", json=body, headers=headers)
    again = client.post("/api/v1/drafts", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["location"] == first.headers["location"]
    assert _count(Draft) == 1


def test_a_failed_call_keeps_nothing_so_the_key_can_be_retried(client, tenant):
    body = {"client_id": 999_999, "request": PORCH_REQUEST}
    assert client.post("/api/v1/drafts", json=body,
                       headers=_key("k-4", tenant.integration)).status_code == 404
    c = make_client(client, tenant)
    retry = client.post("/api/v1/drafts", json={**body, "client_id": c["id"]},
                        headers=_key("k-4", tenant.integration))
    assert retry.status_code == 201


def test_keys_belong_to_one_organisation(client, tenant, other_tenant):
    mine, theirs = make_client(client, tenant), make_client(client, other_tenant, "B-1")
    a = client.post("/api/v1/drafts", json={"client_id": mine["id"], "request": PORCH_REQUEST},
                    headers=_key("shared", tenant.integration))
    b = client.post("/api/v1/drafts", json={"client_id": theirs["id"], "request": "panic"},
                    headers=_key("shared", other_tenant.integration))
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


def test_check_in_retry_logs_one_attempt(client, tenant):
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    resource = client.post(f"/api/v1/drafts/{draft['id']}/approve",
                           json={"revision": draft["current_revision"]},
                           headers=tenant.clinician).json()
    url = f"/api/v1/resources/{resource['id']}/check-ins"
    answers = [client.post(url, json={"outcome": "partial", "note": "rain"},
                           headers=_key("ci-1", tenant.integration)) for _ in range(3)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(CheckIn) == 1


def test_bad_key_is_422_naming_the_header(client, tenant):
    c = make_client(client, tenant)
    response = client.post("/api/v1/drafts", json={"client_id": c["id"], "request": "x y z"},
                           headers=_key("x" * 201, tenant.integration))
    assert response.status_code == 422 and "idempotency-key" in response.text.lower()
