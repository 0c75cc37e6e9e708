"""Every API route × every kind of caller, each cell one exact status (deny by default).

`MATRIX` holds one row per (method, path) the app serves under /api/v1, plus the public
API documentation, and one expected status per caller. The routes are walked from the app's
own route list: a route with no row, or a row whose route is gone, fails
`test_every_api_route_is_classified`, so no route can escape the matrix.

An allowed cell expects the route's own success status (the one it declares), never "any
answer but 401/403/404". So every cell runs against objects built for it alone (its own
client, draft, resource, link, webhook endpoint or delivery, made on first use): no earlier
cell can have retired, approved, edited or deleted what it needs, and a 404 for an outsider
means "out of scope", never "already gone".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from service.auth.credentials import create_api_key, revoke_api_key
from service.db import transaction
from service.webhooks.events import emit
from tests.factories import PORCH_REQUEST, Tenant, make_client, make_draft
from tests.test_workflow import _fix_errors

CALLERS = ("anonymous", "own_clinician", "integration", "other_org", "other_integration",
           "revoked", "own_link", "other_link")
COLUMNS = {"ano": "anonymous", "own": "own_clinician", "int": "integration",
           "oth": "other_org", "oin": "other_integration", "rev": "revoked",
           "lnk": "own_link", "olk": "other_link"}

# ano:  no credential        own: a clinician of the organisation (personal key)
# int:  its integration key  oth: a clinician of another organisation
# oin:  another organisation's integration key
# rev:  a revoked key of it  lnk: the link of the client the objects belong to
# olk:  the link of another organisation's client
#
# A key route answers 401 to every caller without a live key (a client link is no key). A
# route naming an object answers 404 to another organisation; a collection (no id in the
# path) answers it within its own organisation, so it gets the success status but none of
# the first organisation's data (checked below); creating a draft for the first
# organisation's client is 404. Clinical decisions (approve, edit, re-draft, reject,
# retire) need a clinician's own credential: any integration key gets 403, before any
# object is looked up; an integration brings clients and requests in and reads results.
# The catalog, selection, validation and the API documentation touch no client record:
# 200 for everyone. A client-view route answers only a link: everyone else sends a token
# that is no link (404); another client's link sees its own (empty) list but cannot check
# in on this client's resource (404).
MATRIX_TEXT = """
method path                                                          ano own int oth oin rev lnk olk
PUT    /api/v1/clients                                               401 201 201 201 201 401 401 401
GET    /api/v1/clients                                               401 200 200 200 200 401 401 401
GET    /api/v1/clients/{client_id}                                   401 200 200 404 404 401 401 401
POST   /api/v1/clients/{client_id}/link                              401 201 201 404 404 401 401 401
DELETE /api/v1/clients/{client_id}/link                              401 204 204 404 404 401 401 401
GET    /api/v1/clients/{client_id}/resources                         401 200 200 404 404 401 401 401
POST   /api/v1/drafts                                                401 201 201 404 404 401 401 401
GET    /api/v1/drafts                                                401 200 200 200 200 401 401 401
GET    /api/v1/drafts/{draft_id}                                     401 200 200 404 404 401 401 401
PATCH  /api/v1/drafts/{draft_id}                                     401 200 403 404 403 401 401 401
POST   /api/v1/drafts/{draft_id}/redraft                             401 200 403 404 403 401 401 401
POST   /api/v1/drafts/{draft_id}/approve                             401 201 403 404 403 401 401 401
POST   /api/v1/drafts/{draft_id}/reject                              401 200 403 404 403 401 401 401
GET    /api/v1/drafts/{draft_id}/revisions                           401 200 200 404 404 401 401 401
GET    /api/v1/resources/{resource_id}                               401 200 200 404 404 401 401 401
POST   /api/v1/resources/{resource_id}/check-ins                     401 201 201 404 404 401 401 401
POST   /api/v1/resources/{resource_id}/retire                        401 200 403 404 403 401 401 401
GET    /api/v1/resources/{resource_id}/fhir                          401 200 200 404 404 401 401 401
GET    /api/v1/resources/{resource_id}/pdf                           401 200 200 404 404 401 401 401
GET    /api/v1/resources/{resource_id}/ics                           401 200 200 404 404 401 401 401
POST   /api/v1/webhooks/endpoints                                    401 201 201 201 201 401 401 401
GET    /api/v1/webhooks/endpoints                                    401 200 200 200 200 401 401 401
DELETE /api/v1/webhooks/endpoints/{endpoint_id}                      401 204 204 404 404 401 401 401
GET    /api/v1/webhooks/deliveries                                   401 200 200 200 200 401 401 401
POST   /api/v1/webhooks/deliveries/{delivery_id}/replay              401 202 202 404 404 401 401 401
GET    /api/v1/templates                                             200 200 200 200 200 200 200 200
GET    /api/v1/templates/{template_id}                               200 200 200 200 200 200 200 200
GET    /api/v1/templates/{template_id}/printable                     200 200 200 200 200 200 200 200
POST   /api/v1/templates/select                                      200 200 200 200 200 200 200 200
POST   /api/v1/worksheets/validate                                   200 200 200 200 200 200 200 200
GET    /api/v1/client-view/{token}/resources                         404 404 404 404 404 404 200 200
POST   /api/v1/client-view/{token}/resources/{resource_id}/check-ins 404 404 404 404 404 404 201 404
GET    /openapi.json                                                 200 200 200 200 200 200 200 200
GET    /docs                                                         200 200 200 200 200 200 200 200
GET    /docs/oauth2-redirect                                         200 200 200 200 200 200 200 200
GET    /redoc                                                        200 200 200 200 200 200 200 200
"""

# The API documentation FastAPI serves itself (plain routes, not APIRoutes): public by design.
DOCS_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# Success statuses the route does not declare but sets itself; the cell makes them happen.
UNDECLARED_SUCCESS = {("PUT", "/api/v1/clients"): 201}  # 201 created (200 when it updates)


def _parse(text: str) -> dict[tuple[str, str], dict[str, int]]:
    header, *rows = [line.split() for line in text.strip().splitlines()]
    callers = [COLUMNS[name] for name in header[2:]]
    assert sorted(callers) == sorted(CALLERS), "the matrix needs one column per caller"
    matrix: dict[tuple[str, str], dict[str, int]] = {}
    for method, path, *statuses in rows:
        assert (method, path) not in matrix, f"{method} {path} has two rows"
        assert len(statuses) == len(callers), f"{method} {path} needs {len(callers)} cells"
        matrix[(method, path)] = dict(zip(callers, map(int, statuses), strict=True))
    return matrix


MATRIX = _parse(MATRIX_TEXT)

_seq = itertools.count(1)
SECRET_NAME = "Wilhelmina Matrixdottir"
NOT_A_LINK = "cl_not-a-real-token"
HOOK_URL = "http://127.0.0.1:9/hook"


@dataclass
class World:
    """What every cell shares: the two organisations, the keys, and the first organisation's
    data that no outsider may ever see (so a collection that leaks it is caught)."""

    tenant: Tenant
    other_tenant: Tenant
    revoked_key: str
    other_link: str
    secrets: list[str]

    def headers(self, caller: str) -> dict[str, str]:
        return {"own_clinician": self.tenant.clinician, "integration": self.tenant.integration,
                "other_org": self.other_tenant.clinician,
                "other_integration": self.other_tenant.integration,
                "revoked": {"Authorization": f"Bearer {self.revoked_key}"}}.get(caller, {})


def _approved(http, tenant: Tenant, client_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    draft = _fix_errors(http, tenant, make_draft(http, tenant, client_id))
    response = http.post(f"/api/v1/drafts/{draft['id']}/approve",
                         json={"revision": draft["current_revision"]}, headers=tenant.clinician)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _link(http, tenant: Tenant, client_id: int) -> str:  # type: ignore[no-untyped-def]
    response = http.post(f"/api/v1/clients/{client_id}/link", headers=tenant.clinician)
    assert response.status_code == 201, response.text
    return response.json()["token"]  # type: ignore[no-any-return]


def _endpoint(http, tenant: Tenant) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = http.post("/api/v1/webhooks/endpoints", json={"url": HOOK_URL},
                         headers=tenant.integration)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def world(client, tenant, other_tenant) -> World:
    hook = _endpoint(client, tenant)  # its events fill the delivery log
    c = make_client(client, tenant, external_id="MX-0-secret", name=SECRET_NAME)
    resource = _approved(client, tenant, c["id"])
    link = _link(client, tenant, c["id"])
    other = make_client(client, other_tenant, external_id="B-1", name="Other Person")
    other_link = _link(client, other_tenant, other["id"])
    with transaction() as session:
        revoked = create_api_key(session, organisation_id=tenant.organisation_id, name="old")
        revoke_api_key(session, key=revoked)
    secrets = [c["external_id"], SECRET_NAME, PORCH_REQUEST[:40], resource["content_sha256"],
               link, hook["secret"]]
    return World(tenant, other_tenant, revoked, other_link, secrets)


class Cell:
    """The objects one cell needs, each built on first use, all in the first organisation."""

    def __init__(self, http, world: World, caller: str) -> None:  # type: ignore[no-untyped-def]
        self.http, self.world, self.caller = http, world, caller
        self.tenant = world.tenant
        self.n = next(_seq)
        self.secrets: list[str] = []

    @cached_property
    def client(self) -> dict[str, Any]:
        c = make_client(self.http, self.tenant, external_id=f"MX-{self.n}-secret",
                        name=SECRET_NAME)
        self.secrets.append(c["external_id"])
        return c  # type: ignore[no-any-return]

    @cached_property
    def draft(self) -> dict[str, Any]:
        """In review, its current revision without error findings: it can be approved."""
        return _fix_errors(self.http, self.tenant,  # type: ignore[no-any-return]
                           make_draft(self.http, self.tenant, self.client["id"]))

    @cached_property
    def resource(self) -> dict[str, Any]:
        """Approved and active (an .ics of a retired one is 409), of this cell's client."""
        resource = _approved(self.http, self.tenant, self.client["id"])
        self.secrets.append(resource["content_sha256"])
        return resource

    @cached_property
    def link(self) -> str:
        token = _link(self.http, self.tenant, self.client["id"])
        self.secrets.append(token)
        return token

    @cached_property
    def endpoint(self) -> dict[str, Any]:
        hook = _endpoint(self.http, self.tenant)
        self.secrets.append(hook["secret"])
        return hook

    @cached_property
    def delivery_id(self) -> int:
        """A delivery to this cell's (live) endpoint, queued through the outbox."""
        endpoint_id = self.endpoint["id"]
        with transaction() as session:
            rows = emit(session, self.tenant.organisation_id, "resource.checked_in",
                        {"check_in_id": self.n})
            return next(r.id for r in rows if r.endpoint_id == endpoint_id)

    @property
    def token(self) -> str:
        if self.caller == "own_link":
            return self.link
        return self.world.other_link if self.caller == "other_link" else NOT_A_LINK

    def param(self, name: str) -> object:
        return {
            "client_id": lambda: self.client["id"], "draft_id": lambda: self.draft["id"],
            "resource_id": lambda: self.resource["id"], "token": lambda: self.token,
            "endpoint_id": lambda: self.endpoint["id"], "delivery_id": lambda: self.delivery_id,
            "template_id": lambda: "behavioral_activation",
        }[name]()


def _edit(cell: Cell) -> dict[str, object]:
    return {"base_revision": cell.draft["current_revision"],
            "worksheet": {**cell.draft["revision"]["worksheet"], "title": "Matrix edit"}}


# The body each operation is called with; a callable is given the cell. The collections
# another organisation may use get neutral values, so its answer can hold no secret.
BODIES: dict[str, dict[str, object] | Callable[[Cell], dict[str, object]]] = {
    "upsert_client": lambda cell: {"external_id": f"NEW-{cell.n}", "name": "Matrix Newcomer"},
    "create_draft": lambda cell: {"client_id": cell.client["id"],
                                  "request": "low mood, walk after breakfast"},
    "edit_draft": _edit,
    "redraft": {},
    "approve_draft": lambda cell: {"revision": cell.draft["current_revision"]},
    "reject_draft": {"reason": "matrix"},
    "create_check_in": {"outcome": "done"},
    "client_view_check_in": {"outcome": "done"},
    "select_template": {"request": "panic in supermarkets"},
    "validate_worksheet": {"template_id": "behavioral_activation"},
    "create_webhook_endpoint": {"url": HOOK_URL},
}
# Objects a route needs although its path does not name them.
NEEDS: dict[str, tuple[str, ...]] = {"revoke_client_link": ("link",)}


def app_routes(app) -> list[APIRoute]:  # type: ignore[no-untyped-def]
    """Every APIRoute the app serves, included routers flattened.

    From FastAPI 0.16x, `app.routes` holds one `_IncludedRouter` per `include_router`, not
    the routes themselves, so a plain walk of `app.routes` finds none and would pass vacuously.
    """
    return [r for r in _all_routes(app) if isinstance(r, APIRoute)]


def _all_routes(app) -> list[object]:  # type: ignore[no-untyped-def]
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(app.routes)
    return [c.original_route for c in iter_route_contexts(app.routes)]


def doc_routes(app) -> list[Route]:  # type: ignore[no-untyped-def]
    """The plain (non-API) routes: FastAPI's own OpenAPI schema and documentation pages."""
    return [r for r in _all_routes(app) if isinstance(r, Route) and not isinstance(r, APIRoute)]


def _methods(route: Route) -> list[str]:
    return sorted((route.methods or set()) - {"HEAD"})


def _api_routes(app) -> list[APIRoute]:  # type: ignore[no-untyped-def]
    routes = [r for r in app_routes(app) if r.path.startswith("/api/v1/")]
    assert len(routes) >= 20, "the route walk found (almost) no API routes"
    return routes


def _cells(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(method, path, operation id) of every route the matrix covers, from the app."""
    api = [(m, r.path, r.operation_id or "") for r in _api_routes(app) for m in _methods(r)]
    docs = [(m, r.path, r.name) for r in doc_routes(app) for m in _methods(r)]
    assert {path for _, path, _ in docs} == DOCS_PATHS, "the API documentation moved"
    return api + docs


def test_every_api_route_is_classified(app):
    served = {(method, path) for method, path, _ in _cells(app)}
    missing = sorted(served - set(MATRIX))
    assert not missing, f"routes with no row in MATRIX_TEXT (classify them): {missing}"
    stale = sorted(set(MATRIX) - served)
    assert not stale, f"rows in MATRIX_TEXT for routes the app no longer serves: {stale}"
    for key, row in MATRIX.items():
        assert set(row) == set(CALLERS), f"{key} lacks a cell for {set(CALLERS) - set(row)}"
    for route in _api_routes(app):
        assert route.operation_id, f"{route.path} has no stable operation id"
        for method in _methods(route):
            row = MATRIX[(method, route.path)]
            declared = UNDECLARED_SUCCESS.get((method, route.path), route.status_code or 200)
            success = row["own_link"] if "{token}" in route.path else row["own_clinician"]
            assert success == declared, (
                f"{method} {route.path}: the matrix expects {success} on success, the route "
                f"declares {declared}")
            assert set(row.values()) <= {declared, 401, 403, 404}, (method, route.path, row)


def _call(cell: Cell, method: str, path: str, op: str):  # type: ignore[no-untyped-def]
    for name in NEEDS.get(op, ()):
        getattr(cell, name)
    url = re.sub(r"\{(\w+)\}", lambda m: str(cell.param(m.group(1))), path)
    body = BODIES.get(op, {})
    headers = cell.world.headers(cell.caller)
    if method in ("GET", "DELETE"):
        return cell.http.request(method, url, headers=headers)
    return cell.http.request(method, url, headers=headers,
                             json=body(cell) if callable(body) else body)


OUTSIDERS = ("anonymous", "revoked", "other_org", "other_integration", "other_link")


@pytest.mark.parametrize("caller", CALLERS)
def test_access_matrix(app, client, world, caller):
    failures = []
    for method, path, op in _cells(app):
        cell = Cell(client, world, caller)  # a fresh world of objects for every cell
        response = _call(cell, method, path, op)
        expected = MATRIX[(method, path)][caller]
        if response.status_code != expected:
            failures.append(f"{method} {path} [{op}] → {response.status_code}, expected "
                            f"{expected}: {response.text[:200]}")
        if caller in OUTSIDERS and path not in DOCS_PATHS:
            leaked = [s for s in world.secrets + cell.secrets if s in response.text]
            if leaked:
                failures.append(f"{method} {path} [{op}] leaked {leaked}")
    assert not failures, "\n".join(failures)


def test_the_api_documentation_is_public(client, world):
    """The schema and both documentation pages: 200 for every caller, and what they are."""
    for caller in CALLERS:
        headers = world.headers(caller)
        schema = client.get("/openapi.json", headers=headers)
        assert schema.status_code == 200, (caller, schema.status_code)
        assert "/api/v1/drafts/{draft_id}/approve" in schema.json()["paths"]
        for page in ("/docs", "/redoc"):
            response = client.get(page, headers=headers)
            assert response.status_code == 200, (caller, page, response.status_code)
            assert response.headers["content-type"].startswith("text/html")
            assert "/openapi.json" in response.text
