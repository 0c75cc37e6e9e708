"""Bad input on every way in: NUL and lone surrogates refused with a 422 naming the
problem and nothing stored; other control characters, bidi marks and emoji stored exactly and
rendered escaped; over-long form fields and oversized bodies refused (422 / 413), never 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.clock import today as clock_today
from service.db import get_engine
from service.workflow.states import DraftStatus
from tests.factories import PORCH_REQUEST, csrf_of, make_client, make_draft, web_sign_in
from tests.test_workflow import _fix_errors

NUL = "walk\x00 round the block"
ODD = "Spaziergang \u202eetirw\u202c \U0001f6b6 e\u0301 \x07bell\x1b[31m tab\there"


def _drafts(http, tenant) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return http.get("/api/v1/drafts", headers=tenant.clinician).json()["items"]  # type: ignore[no-any-return]


def test_a_nul_in_an_api_body_is_a_422_and_nothing_is_stored(client, tenant):
    c = make_client(client, tenant)
    response = client.post("/api/v1/drafts", headers=tenant.integration,
                           json={"client_id": c["id"], "request": NUL})
    assert response.status_code == 422 and "NUL" in response.json()["detail"]
    assert _drafts(client, tenant) == []
    named = client.put("/api/v1/clients", headers=tenant.integration,
                       json={"external_id": "PMS-9", "name": "Al\x00ex"})
    assert named.status_code == 422 and "NUL" in named.text
    listed = client.get("/api/v1/clients", headers=tenant.clinician).json()["items"]
    assert [row["external_id"] for row in listed] == ["PMS-1"]


def test_a_nul_in_an_edit_or_a_reason_changes_nothing(client, tenant):
    draft = make_draft(client, tenant, make_client(client, tenant)["id"])
    worksheet = {**draft["revision"]["worksheet"], "title": NUL}
    edit = client.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician,
                        json={"base_revision": draft["current_revision"], "worksheet": worksheet})
    assert edit.status_code == 422 and "NUL" in edit.text
    reject = client.post(f"/api/v1/drafts/{draft['id']}/reject", headers=tenant.clinician,
                         json={"reason": NUL})
    assert reject.status_code == 422
    after = client.get(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician).json()
    assert after["current_revision"] == draft["current_revision"]
    assert after["status"] == "in_review"


def test_a_nul_in_a_form_field_or_query_is_never_a_server_error(client, tenant):
    """On PostgreSQL (which cannot store a NUL) it is a 422 page; SQLite stores it as sent."""
    c = make_client(client, tenant)
    csrf = web_sign_in(client, tenant)
    page = client.post("/drafts", data={"csrf_token": csrf, "client_id": c["id"],
                                        "request_text": NUL}, follow_redirects=False)
    query = client.get("/api/v1/drafts", params={"status": "\x00"}, headers=tenant.clinician)
    postgres = get_engine().dialect.name == "postgresql"
    assert page.status_code == (422 if postgres else 303), page.text[:300]
    assert query.status_code == 422, query.text[:300]  # not one of the draft statuses
    if postgres:
        assert "cannot store" in page.text and _drafts(client, tenant) == []


def test_control_characters_bidi_and_emoji_are_kept_exactly_and_rendered_escaped(client,
                                                                                   tenant):
    c = make_client(client, tenant)
    request = f"{PORCH_REQUEST} {ODD} <b>bold</b>"
    draft = make_draft(client, tenant, c["id"], request=request)
    assert draft["request"] == request
    draft = _fix_errors(client, tenant, draft)
    worksheet = {**draft["revision"]["worksheet"], "title": ODD}
    edited = client.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician,
                          json={"base_revision": draft["current_revision"],
                                "worksheet": worksheet})
    assert edited.status_code == 200 and edited.json()["revision"]["worksheet"]["title"] == ODD
    web_sign_in(client, tenant)
    page = client.get(f"/drafts/{draft['id']}").text
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "\U0001f6b6" in page


@pytest.mark.parametrize(("path", "field", "limit"), [
    ("/drafts", "request_text", 8000),
    ("/drafts", "known_cues", 2000),
    ("/login", "email", 320),
])
def test_an_over_long_form_field_is_a_422_page_and_nothing_is_stored(client, tenant, path,
                                                                     field, limit):
    c = make_client(client, tenant)
    csrf = web_sign_in(client, tenant) if path != "/login" else csrf_of(client.get(path).text)
    data = {"csrf_token": csrf, "client_id": c["id"], "request_text": PORCH_REQUEST,
            "email": tenant.email, "password": "x", field: "a" * (limit + 1)}
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert _drafts(client, tenant) == []


def test_a_long_reject_reason_is_a_form_error_and_the_draft_stays(client, tenant):
    draft = make_draft(client, tenant, make_client(client, tenant)["id"])
    csrf = web_sign_in(client, tenant)
    response = client.post(f"/drafts/{draft['id']}/reject",
                           data={"csrf_token": csrf, "reason": "r" * 2001})
    assert response.status_code == 422
    assert _drafts(client, tenant)[0]["status"] == "in_review"


@pytest.mark.parametrize("path", ["/api/v1/drafts", "/drafts"])
def test_a_body_over_the_limit_is_413_before_it_is_read(client, tenant, path):
    make_client(client, tenant)
    response = client.post(path, headers={**tenant.integration,
                                          "content-type": "application/json"},
                           content=b'{"request": "' + b"a" * 1_100_000 + b'"}')
    assert response.status_code == 413
    assert response.json()["status"] == 413
    assert _drafts(client, tenant) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "   "}, "name"),
    ({"name": ""}, "name"),
    ({"name": "\t\n"}, "name"),
    ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
])
def test_a_blank_name_or_a_future_birth_date_is_a_422_naming_the_field(client, tenant, body,
                                                                        field):
    response = client.put("/api/v1/clients", headers=tenant.integration,
                          json={"external_id": "PMS-42", "name": "Alex Example", **body})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"].startswith(f"{field}:"), problem["detail"]
    assert [e["loc"] for e in problem["errors"]] == [["body", field]]
    listed = client.get("/api/v1/clients", headers=tenant.clinician).json()["items"]
    assert listed == []


def test_client_names_are_stored_stripped_and_a_past_birth_date_is_kept(client, tenant):
    response = client.put("/api/v1/clients", headers=tenant.integration, json={
        "external_id": "PMS-43", "name": "  Alex Example ", "preferred_name": "  ",
        "date_of_birth": "1990-05-17"})
    assert response.status_code == 201, response.text
    stored = response.json()
    assert (stored["name"], stored["preferred_name"]) == ("Alex Example", None)
    assert stored["date_of_birth"] == "1990-05-17"
    today = client.put("/api/v1/clients", headers=tenant.integration, json={
        "external_id": "PMS-44", "name": "Born Today", "date_of_birth": str(clock_today())})
    assert today.status_code == 201, today.text


@pytest.mark.parametrize("status", ["bogus", "IN_REVIEW", ""])
def test_an_unknown_draft_status_filter_is_a_422_not_an_empty_list(client, tenant, status):
    response = client.get("/api/v1/drafts", params={"status": status},
                          headers=tenant.clinician)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("status:")


def test_the_draft_status_filter_lists_its_values_and_still_filters(client, tenant):
    draft = make_draft(client, tenant, make_client(client, tenant)["id"])
    in_review = client.get("/api/v1/drafts", params={"status": "in_review"},
                           headers=tenant.clinician)
    assert [d["id"] for d in in_review.json()["items"]] == [draft["id"]]
    approved = client.get("/api/v1/drafts", params={"status": "approved"},
                          headers=tenant.clinician)
    assert approved.status_code == 200 and approved.json()["items"] == []
    spec = client.get("/openapi.json").json()
    params = spec["paths"]["/api/v1/drafts"]["get"]["parameters"]
    schema = next(p["schema"] for p in params if p["name"] == "status")
    text = json.dumps(schema)
    if "$ref" in text:
        for name, component in spec["components"]["schemas"].items():
            if f"#/components/schemas/{name}" in text:
                text += json.dumps(component)
    for value in DraftStatus:
        assert f'"{value.value}"' in text, (value, schema)
