"""The clinician's browser session and the CSRF token every form carries."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from service.api.deps import SessionDep
from service.auth.credentials import principal_for_clinician
from service.auth.principal import Principal
from service.errors import Forbidden, Unauthorized
from service.models import Clinician

CLINICIAN_KEY = "clinician_id"
CSRF_KEY = "csrf"
SEEN_KEY = "seen"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Unauthorized):
    """Raised by pages that need a clinician; rendered as a redirect to the login page."""


def csrf_token(request: Request) -> str:
    """One random token per browser session (anonymous ones too, for the client's page)."""
    token = request.session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return str(token)


async def verify_csrf(request: Request) -> None:
    """Synchroniser-token check: the form field or the X-CSRF-Token header (htmx)."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get(CSRF_KEY)
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        sent = (await request.form()).get("csrf_token")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden("this form has expired or did not come from this site; reload the page")


def sign_in(request: Request, clinician: Clinician) -> None:
    """A fresh session on login, so a token planted before it is worthless after."""
    request.session.clear()
    request.session[CLINICIAN_KEY] = clinician.id
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def _principal(request: Request, session: SessionDep) -> Principal:
    clinician_id = request.session.get(CLINICIAN_KEY)
    clinician = session.get(Clinician, clinician_id) if isinstance(clinician_id, int) else None
    if clinician is None:
        request.session.pop(CLINICIAN_KEY, None)
        raise LoginRequired("please log in")
    principal = principal_for_clinician(clinician)
    request.state.actor = principal.actor
    # Touch the session so its cookie is re-signed with a fresh timestamp: the signed
    # cookie's max_age (HOMEWORK_SESSION_IDLE_MINUTES) then counts from the last request,
    # an idle timeout, instead of logging out a clinician who is mid-review.
    request.session[SEEN_KEY] = True
    return principal


ClinicianDep = Annotated[Principal, Depends(_principal)]
CsrfDep = Depends(verify_csrf)
