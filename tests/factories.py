"""Plain factory functions for test data, through the same services production uses."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from service import clock
from service.auth import credentials
from service.db import transaction

_seq = itertools.count(1)


@dataclass(frozen=True)
class Tenant:
    organisation_id: int
    clinician_id: int
    email: str
    password: str
    clinician_key: str
    integration_key: str

    @property
    def clinician(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.clinician_key}"}

    @property
    def integration(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.integration_key}"}


def make_tenant(name: str) -> Tenant:
    n = next(_seq)
    email, password = f"clinician{n}@example.org", "correct horse battery"
    with transaction() as session:
        org = credentials.create_organisation(session, name=f"{name} {n}")
        clinician = credentials.create_clinician(session, organisation_id=org.id, email=email,
                                                 name=f"Dr {n}", password=password)
        clinician_key = credentials.create_api_key(session, organisation_id=org.id,
                                                   name="personal", clinician_id=clinician.id)
        integration_key = credentials.create_api_key(session, organisation_id=org.id,
                                                     name="pms")
        return Tenant(org.id, clinician.id, email, password, clinician_key, integration_key)


def make_client(http, tenant: Tenant, external_id: str = "PMS-1", name: str = "Alex Example"):  # type: ignore[no-untyped-def]
    response = http.put("/api/v1/clients", json={"external_id": external_id, "name": name},
                        headers=tenant.integration)
    assert response.status_code in (200, 201), response.text
    return response.json()


PORCH_REQUEST = ("She's stopped going out since the layoff; something tiny to get her moving, "
                 "she has coffee on the porch every morning.")


def make_draft(http, tenant: Tenant, client_id: int, request: str = PORCH_REQUEST,  # type: ignore[no-untyped-def]
               **extra: object):
    response = http.post("/api/v1/drafts", json={"client_id": client_id, "request": request,
                                                 **extra}, headers=tenant.integration)
    assert response.status_code == 201, response.text
    return response.json()


def drafted(http, tenant: Tenant, draft_id: int, timeout_s: float = 20.0):  # type: ignore[no-untyped-def]
    """The draft once drafting has ended. On PostgreSQL the web routes draft on the job
    queue, so right after their redirect the draft may still be in progress."""
    deadline = time.monotonic() + timeout_s
    while True:
        draft = http.get(f"/api/v1/drafts/{draft_id}", headers=tenant.clinician).json()
        if draft["status"] not in ("requested", "drafting") or time.monotonic() > deadline:
            return draft
        time.sleep(0.05)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF-protected form"
    return match.group(1)


def web_sign_in(http, tenant: Tenant) -> str:  # type: ignore[no-untyped-def]
    """Log in through the login form; returns the session's CSRF token."""
    token = csrf_of(http.get("/login").text)
    response = http.post("/login", data={"email": tenant.email, "password": tenant.password,
                                         "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(http.get("/drafts/new").text)


@contextmanager
def days_earlier(days: int) -> Iterator[None]:
    """Act as if `days` ago, through the service's injected clock: an item approved then can
    take check-ins back-dated to that day (none may predate its approval)."""
    then = clock.now() - dt.timedelta(days=days)
    previous = clock.set_clock(lambda: then)
    try:
        yield
    finally:
        clock.set_clock(previous)
