"""Every page (the non-API routes under service/web/) × every kind of caller, from the app's
own route list, deny by default; and the login's defences: argon2id, lockout, idle expiry.

Pages are classified by pattern, so pages added later are covered the day they appear:
a clinician page (`/`, `/drafts...`, `/clients...`) needs a signed-in clinician, a client
page (`/c/{token}...`) needs the client's own link. A page matching no pattern fails
`test_every_page_is_classified` until it is given a class here. The public pages (login,
logout, the health check and FastAPI's API documentation) answer every caller alike.

A bearer API key (a clinician's own, the integration key, a revoked one) is no browser
session: it opens no page, a clinician page redirects it to log in like anyone signed out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import itsdangerous.timed
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.auth import credentials
from service.auth.credentials import create_api_key, revoke_api_key
from service.db import transaction
from service.models import Clinician
from tests.factories import Tenant, csrf_of, make_client, make_draft, web_sign_in
from tests.test_access_matrix import app_routes, doc_routes
from tests.test_workflow import _fix_errors

# Public pages and the exact status every caller gets. The login form is posted with only
# the CSRF token (no email, no password): 422; logging out redirects to the login page.
PUBLIC_PAGES = {("GET", "/login"): 200, ("POST", "/login"): 422, ("POST", "/logout"): 303,
                ("GET", "/healthz"): 200,  # readiness: no credential, no client data
                ("GET", "/openapi.json"): 200, ("GET", "/docs"): 200,  # the API documentation
                ("GET", "/docs/oauth2-redirect"): 200, ("GET", "/redoc"): 200}
CLINICIAN_PAGES = re.compile(r"^/$|^/(drafts|clients)(/|$)")
CLIENT_PAGES = re.compile(r"^/c/\{token\}")
CATCH_ALL = re.compile(r"\{\w+:path\}")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
LOGIN_REDIRECT = "login"  # a 303 to /login


@dataclass(frozen=True)
class Page:
    method: str
    path: str

    @property
    def kind(self) -> str | None:
        if (self.method, self.path) in PUBLIC_PAGES:
            return "public"
        if CLIENT_PAGES.match(self.path):
            return "client"
        if CLINICIAN_PAGES.match(self.path):
            return "clinician"
        return None

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{(\w+)(?::\w+)?\}", self.path)

    @property
    def names_an_object(self) -> bool:
        """A page about one record (a draft, a client, a resource), not a list or a form."""
        return any(p not in ("token", "rest") for p in self.params)


def pages(app) -> list[Page]:  # type: ignore[no-untyped-def]
    routes = [*app_routes(app), *doc_routes(app)]
    found = [Page(m, r.path) for r in routes if not r.path.startswith("/api/")
             for m in sorted((r.methods or set()) - {"HEAD"})]
    assert len(found) >= 10, "the route walk found (almost) no pages"
    # Logging out ends the session the later cells need, so it goes last.
    return sorted(found, key=lambda p: (p.path == "/logout", p.path, p.method))


def test_every_page_is_classified(app):
    unclassified = [f"{p.method} {p.path}" for p in pages(app) if p.kind is None]
    assert not unclassified, ("pages with no access class (add a pattern in "
                              f"tests/test_web_access_matrix.py): {unclassified}")
    for page in pages(app):
        assert page.kind == "public" or page.path.startswith("/c/") or \
            all(p in IDS for p in page.params), f"{page.path}: give IDS a value for it"


HISTORY_PAGES = {  # service/web/history_pages.py: the client pages and the follow-ups
    ("GET", "/clients"), ("GET", "/clients/{client_id}"),
    ("GET", "/clients/{client_id}/next-session"),
    ("POST", "/clients/{client_id}/items/{resource_id}/follow-up"),
}


def test_client_history_pages_are_clinician_pages(app):
    """Another organisation's clinician gets 404 on each, except the list (their own)."""
    found = {(p.method, p.path): p for p in pages(app)}
    missing = HISTORY_PAGES - set(found)
    assert not missing, missing
    assert {found[key].kind for key in HISTORY_PAGES} == {"clinician"}
    assert [key for key in HISTORY_PAGES if not found[key].names_an_object] == \
        [("GET", "/clients")]


IDS = {"draft_id", "client_id", "resource_id"}
SECRET_NAME = "Wilhelmina Matrixdottir"
SECRET_REQUEST = "rides the night bus and wants a tiny evening practice"
SECRET_TITLE = "Matrix approved title"


@dataclass
class World:
    ids: dict[str, object]
    own_link: str
    other_link: str
    secrets: list[str]
    bearer: dict[str, dict[str, str]]  # the callers that send an API key instead of a session


@pytest.fixture
def world(client, tenant, other_tenant) -> World:
    c = make_client(client, tenant, external_id="W-1", name=SECRET_NAME)
    draft = make_draft(client, tenant, c["id"], request=SECRET_REQUEST)
    approvable = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    edited = client.patch(f"/api/v1/drafts/{approvable['id']}", headers=tenant.clinician, json={
        "base_revision": approvable["current_revision"],
        "worksheet": {**approvable["revision"]["worksheet"], "title": SECRET_TITLE}}).json()
    resource = client.post(f"/api/v1/drafts/{edited['id']}/approve",
                           json={"revision": edited["current_revision"]},
                           headers=tenant.clinician).json()
    link = client.post(f"/api/v1/clients/{c['id']}/link", headers=tenant.clinician).json()
    other = make_client(client, other_tenant, external_id="B-1", name="Other Person")
    other_link = client.post(f"/api/v1/clients/{other['id']}/link",
                             headers=other_tenant.clinician).json()["token"]
    with transaction() as session:
        revoked = create_api_key(session, organisation_id=tenant.organisation_id, name="old",
                                 clinician_id=tenant.clinician_id)
        revoke_api_key(session, key=revoked)
    ids = {"draft_id": draft["id"], "client_id": c["id"], "resource_id": resource["id"],
           "rest": "anything/else"}
    bearer = {"clinician_key": tenant.clinician, "integration": tenant.integration,
              "revoked": {"Authorization": f"Bearer {revoked}"}}
    return World(ids, link["token"], other_link,
                 [SECRET_NAME, SECRET_REQUEST, SECRET_TITLE, link["token"]], bearer)


@pytest.fixture
def browser(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A second browser with its own cookie jar (the app's lifespan already runs)."""
    http = TestClient(app)
    yield http
    http.close()


CALLERS = ["anonymous", "own_clinician", "other_org", "own_link", "other_link",
           "clinician_key", "integration", "revoked"]
SIGNED_OUT = ("anonymous", "own_link", "other_link", "clinician_key", "integration", "revoked")


def _expected(page: Page, caller: str) -> set[int | str] | str:
    """A cell: "allowed" is any answer but 401/403/404/5xx and a redirect to log in;
    every other cell is one exact status."""
    if page.kind == "public":
        return {PUBLIC_PAGES[(page.method, page.path)]}
    if page.kind == "clinician":
        if caller in SIGNED_OUT:
            return {LOGIN_REDIRECT}
        if caller == "other_org" and page.names_an_object:
            return {404}
        return "allowed"
    # A client page: only the client's own link opens it; a catch-all is always "not found".
    if CATCH_ALL.search(page.path):
        return {404}
    if caller == "own_link":
        return "allowed"
    if caller == "other_link" and not page.names_an_object:
        return "allowed"  # that client's own (empty) home page
    return {404}  # no link, or another client's: the same "not found" as a bad link


def _path(page: Page, world: World, caller: str) -> str:
    token = {"own_link": world.own_link, "other_link": world.other_link}.get(
        caller, "cl_not-a-real-token")
    return re.sub(r"\{(\w+)(?::\w+)?\}",
                  lambda m: str(token if m.group(1) == "token" else world.ids[m.group(1)]),
                  page.path)


def _status(response) -> int | str:  # type: ignore[no-untyped-def]
    if response.status_code == 303 and response.headers["location"].startswith("/login") \
            and not response.request.url.path.startswith(("/login", "/logout")):
        return LOGIN_REDIRECT
    return response.status_code  # type: ignore[no-any-return]


def _sign_in(http: TestClient, tenant: Tenant) -> str:
    return web_sign_in(http, tenant)


@pytest.mark.parametrize("caller", CALLERS)
def test_web_access_matrix(app, client, browser, world, tenant, other_tenant, caller):
    if caller == "own_clinician":
        csrf = _sign_in(browser, tenant)
    elif caller == "other_org":
        csrf = _sign_in(browser, other_tenant)
    else:  # an anonymous browser still holds a CSRF token, so login is what is tested
        browser.headers.update(world.bearer.get(caller, {}))  # a key, where the caller has one
        csrf = csrf_of(browser.get("/login").text)
    failures = []
    for page in pages(app):
        data = {"csrf_token": csrf} if page.method in UNSAFE else None
        response = browser.request(page.method, _path(page, world, caller), data=data,
                                   follow_redirects=False)
        got, expected = _status(response), _expected(page, caller)
        ok = (got not in (401, 403, 404, LOGIN_REDIRECT) and isinstance(got, int) and got < 500
              if expected == "allowed" else got in expected)
        if not ok:
            failures.append(f"{page.method} {page.path} → {got}, expected {expected}")
        if caller not in ("own_clinician", "own_link"):
            leaked = [s for s in world.secrets if s in response.text]
            if leaked:
                failures.append(f"{page.method} {page.path} leaked {leaked}")
    assert not failures, "\n".join(failures)


def test_every_form_needs_the_csrf_token(app, browser, world, tenant):
    """Signed in, but without the session's token: every unsafe page refuses (403)."""
    _sign_in(browser, tenant)
    failures = []
    for page in pages(app):
        if page.method not in UNSAFE:
            continue
        for caller in ("own_clinician", "own_link"):
            response = browser.request(page.method, _path(page, world, caller),
                                       data={"csrf_token": "forged"}, follow_redirects=False)
            if CATCH_ALL.search(page.path) and response.status_code == 404:
                continue
            if response.status_code != 403:
                failures.append(f"{page.method} {page.path} as {caller} → "
                                f"{response.status_code}, expected 403")
    assert not failures, "\n".join(failures)


# --- the login ------------------------------------------------------------------------


def _login(http: TestClient, email: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_of(http.get("/login").text)
    return http.post("/login", data={"email": email, "password": password, "csrf_token": token},
                     follow_redirects=False)


def test_passwords_are_stored_as_argon2id(tenant):
    with transaction() as session:
        stored = session.scalar(select(Clinician.password_hash).where(
            Clinician.id == tenant.clinician_id))
    assert stored is not None and stored.startswith("$argon2id$")
    assert tenant.password not in stored


def test_unknown_email_wrong_password_and_locked_account_answer_alike(client, tenant,
                                                                      other_tenant):
    """Guessing must not tell which accounts exist, nor which one it has locked."""
    for _ in range(credentials.MAX_FAILED_LOGINS):
        _login(client, other_tenant.email, "not the password")
    answers = [_login(client, "nobody@example.org", "whatever password"),
               _login(client, tenant.email, "whatever password"),
               _login(client, other_tenant.email, other_tenant.password)]  # locked
    assert {a.status_code for a in answers} == {401}
    pages = {re.sub(r'value="[^"]*"', "", a.text) for a in answers}  # minus the typed email
    assert len(pages) == 1 and credentials.REFUSED in answers[0].text


def test_five_failed_logins_lock_the_account_for_15_minutes(client, tenant, monkeypatch):
    for _ in range(credentials.MAX_FAILED_LOGINS):
        assert _login(client, tenant.email, "not the password").status_code == 401
    locked = _login(client, tenant.email, tenant.password)  # even the right password
    assert locked.status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303

    later = credentials.now() + credentials.LOCKOUT + dt.timedelta(seconds=1)
    monkeypatch.setattr(credentials, "now", lambda: later)
    assert _login(client, tenant.email, tenant.password).status_code == 303
    assert client.get("/").status_code == 200


def test_one_address_guessing_across_accounts_is_stopped(client, tenant, monkeypatch):
    """Spreading guesses over many emails dodges each account's lockout; the per-address
    limit catches it, even for a right password, and only for that address."""
    for n in range(credentials.MAX_FAILURES_PER_ADDRESS):
        assert _login(client, f"guess{n}@example.org", "password1234").status_code == 401
    stopped = _login(client, tenant.email, tenant.password)
    assert stopped.status_code == 429 and "from this network" in stopped.text
    with transaction() as session:  # another address is not held up
        assert credentials.authenticate_clinician(
            session, email=tenant.email, password=tenant.password, address="192.0.2.7")

    later = credentials.now() + credentials.ADDRESS_WINDOW + dt.timedelta(seconds=1)
    monkeypatch.setattr(credentials, "now", lambda: later)
    assert _login(client, tenant.email, tenant.password).status_code == 303


def test_logging_out_ends_every_copy_of_the_session(client, tenant):
    """A copied cookie (another tab, device, or a thief) stops working at logout."""
    web_sign_in(client, tenant)
    copied = TestClient(client.app, cookies=dict(client.cookies))
    assert copied.get("/", follow_redirects=False).status_code == 200
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert copied.get("/", follow_redirects=False).status_code == 303  # to the login page
    web_sign_in(client, tenant)  # and a fresh login works again
    assert client.get("/", follow_redirects=False).status_code == 200


def test_a_success_resets_the_failure_count(client, tenant):
    for _ in range(credentials.MAX_FAILED_LOGINS - 1):
        _login(client, tenant.email, "not the password")
    assert _login(client, tenant.email, tenant.password).status_code == 303
    for _ in range(credentials.MAX_FAILED_LOGINS - 1):
        _login(client, tenant.email, "not the password")
    assert _login(client, tenant.email, tenant.password).status_code == 303


class Clock:
    """The signed session cookie's clock (itsdangerous), moved by hand."""

    def __init__(self) -> None:
        self.now = 1_900_000_000

    def advance(self, minutes: int) -> None:
        self.now += minutes * 60


def test_session_expires_after_inactivity_not_while_in_use(client, tenant, monkeypatch):
    from service.config import get_settings

    idle = get_settings().session_idle_minutes
    clock = Clock()
    signer = itsdangerous.timed.TimestampSigner
    monkeypatch.setattr(signer, "get_timestamp", lambda _signer: clock.now)
    web_sign_in(client, tenant)
    for _ in range(3):  # in use for three idle periods: still signed in
        clock.advance(idle - 1)
        assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(idle + 1)  # then idle for longer than the limit
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get("/drafts/new", follow_redirects=False).status_code == 303
