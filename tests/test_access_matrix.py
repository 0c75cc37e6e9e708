"""Every API route × every kind of caller, from the app's own route list (deny by default).

A new route that is not classified here fails the test, so none can escape the matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute

from service.auth.credentials import create_api_key, revoke_api_key
from service.db import transaction
from tests.factories import PORCH_REQUEST, make_client, make_draft
from tests.test_workflow import _fix_errors

# Routes that touch no client record (the catalog, selection and stateless validation).
PUBLIC = {"list_templates", "get_template", "print_template", "select_template",
          "validate_worksheet"}
# Routes reached with a client link token instead of a key.
CLIENT_LINK = {"client_view_resources", "client_view_check_in"}
# Routes that need a clinician's own credential.
CLINICIAN_ONLY = {"approve_draft"}
# Everything else needs a key (deny by default). A route naming no object in its path
# (a collection: list or create) answers within the caller's own organisation, so another
# organisation gets an answer, but one that must not carry any of the first one's data.

BODIES: dict[str, dict[str, object]] = {
    "upsert_client": {"external_id": "M-1", "name": "Matrix Client"},
    "create_draft": {"client_id": "{client_id}", "request": "low mood, walk after breakfast"},
    "edit_draft": {"base_revision": 1, "worksheet": {"template_id": "behavioral_activation"}},
    "redraft": {},
    "approve_draft": {"revision": "{revision}"},
    "reject_draft": {"reason": "matrix"},
    "create_check_in": {"outcome": "done"},
    "client_view_check_in": {"outcome": "done"},
    "select_template": {"request": "panic in supermarkets"},
    "validate_worksheet": {"template_id": "behavioral_activation"},
    "create_webhook_endpoint": {"url": "http://127.0.0.1:9/hook"},
}


@dataclass
class World:
    ids: dict[str, object]
    headers: dict[str, dict[str, str]]
    other_link: str
    secrets: list[str]  # text of the first organisation's records that no outsider may see


@pytest.fixture
def world(client, tenant, other_tenant) -> World:
    hook = client.post("/api/v1/webhooks/endpoints", json={"url": "http://127.0.0.1:9/hook"},
                       headers=tenant.integration).json()  # its events fill the delivery log
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    approved = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    resource = client.post(f"/api/v1/drafts/{approved['id']}/approve",
                           json={"revision": approved["current_revision"]},
                           headers=tenant.clinician).json()
    link = client.post(f"/api/v1/clients/{c['id']}/link", headers=tenant.clinician).json()
    other = make_client(client, other_tenant, external_id="B-1")
    other_link = client.post(f"/api/v1/clients/{other['id']}/link",
                             headers=other_tenant.clinician).json()["token"]
    with transaction() as session:
        revoked = create_api_key(session, organisation_id=tenant.organisation_id, name="old")
        revoke_api_key(session, key=revoked)
    ids = {"client_id": c["id"], "draft_id": draft["id"], "resource_id": resource["id"],
           "revision": draft["current_revision"], "token": link["token"],
           "template_id": "behavioral_activation", "endpoint_id": hook["id"],
           "delivery_id": client.get("/api/v1/webhooks/deliveries",
                                     headers=tenant.integration).json()["items"][0]["id"]}
    headers = {"anonymous": {}, "own_clinician": tenant.clinician,
               "integration": tenant.integration, "other_org": other_tenant.clinician,
               "revoked": {"Authorization": f"Bearer {revoked}"}}
    secrets = [c["external_id"], PORCH_REQUEST[:40], resource["content_sha256"], link["token"]]
    return World(ids, headers, other_link, secrets)


def app_routes(app) -> list[APIRoute]:  # type: ignore[no-untyped-def]
    """Every APIRoute the app serves, included routers flattened.

    From FastAPI 0.16x, `app.routes` holds one `_IncludedRouter` per `include_router`, not
    the routes themselves, so a plain walk of `app.routes` finds none and would pass vacuously.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [c.original_route for c in iter_route_contexts(app.routes)
            if isinstance(c.original_route, APIRoute)]


def _api_routes(app) -> list[APIRoute]:  # type: ignore[no-untyped-def]
    routes = [r for r in app_routes(app) if r.path.startswith("/api/")]
    assert len(routes) >= 20, "the route walk found (almost) no API routes"
    return routes


def _fill(value: object, ids: dict[str, object]) -> object:
    if isinstance(value, str) and (m := re.fullmatch(r"\{(\w+)\}", value)):
        return ids[m.group(1)]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _call(http, route: APIRoute, ids: dict[str, object], headers: dict[str, str]):  # type: ignore[no-untyped-def]
    path = route.path.format(**ids)
    method = sorted(route.methods - {"HEAD"})[0]
    body = _fill(BODIES.get(route.operation_id or "", {}), ids)
    if method in ("GET", "DELETE"):
        return http.request(method, path, headers=headers)
    return http.request(method, path, json=body, headers=headers)


def _is_collection(route: APIRoute) -> bool:
    return not re.search(r"\{\w+\}", route.path)


def _expected(route: APIRoute, caller: str) -> set[int] | str:
    """The expected statuses of one cell; "allowed" means any answer but 401/403/404."""
    op = route.operation_id or ""
    if op in PUBLIC:
        return "allowed"
    if op in CLIENT_LINK:
        # Another client's link reaches only that client's own (here: no) resources.
        if caller == "other_link" and op == "client_view_resources":
            return "allowed"
        return "allowed" if caller == "own_link" else {404}
    if caller in ("anonymous", "revoked", "own_link", "other_link"):
        return {401}
    if caller == "other_org":
        return "allowed" if _is_collection(route) and op != "create_draft" else {404}
    if caller == "integration" and op in CLINICIAN_ONLY:
        return {403}
    return "allowed"


CALLERS = ["anonymous", "own_clinician", "integration", "other_org", "revoked", "own_link",
           "other_link"]


def test_every_api_route_is_classified(app):
    for route in _api_routes(app):
        assert route.operation_id, f"{route.path} has no stable operation id"


@pytest.mark.parametrize("caller", CALLERS)
def test_access_matrix(app, client, world, caller):
    failures = []
    for route in _api_routes(app):
        op = route.operation_id or ""
        ids = dict(world.ids)
        headers = world.headers.get(caller, {})
        if caller == "other_link":
            ids["token"] = world.other_link
        elif caller != "own_link":
            ids["token"] = "cl_not-a-real-token"
        if caller in ("own_link", "other_link"):
            headers = {}
        response = _call(client, route, ids, headers)
        expected = _expected(route, caller)
        ok = (response.status_code not in (401, 403, 404) and response.status_code < 500
              if expected == "allowed" else response.status_code in expected)
        if not ok:
            failures.append(f"{route.methods} {route.path} [{op}] → {response.status_code}, "
                            f"expected {expected}")
        if caller in ("other_org", "other_link", "anonymous", "revoked"):
            leaked = [s for s in world.secrets if s in response.text]
            if leaked:
                failures.append(f"{route.methods} {route.path} [{op}] leaked {leaked}")
    assert not failures, "\n".join(failures)
