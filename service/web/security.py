"""The clinician's browser session and the CSRF token every form carries."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import update
from sqlalchemy.orm import Session

from service.api.deps import SessionDep
from service.auth.credentials import principal_for_clinician
from service.auth.principal import Principal
from service.errors import Forbidden, Unauthorized
from service.models import Clinician

CLINICIAN_KEY = "clinician_id"
GENERATION_KEY = "generation"
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
    sent: object = request.headers.get("x-csrf-token")
    if sent is None:
        sent = (await request.form()).get("csrf_token")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden("this form has expired or did not come from this site; reload the page")


def sign_in(request: Request, clinician: Clinician) -> None:
    """A fresh session on login, so a token planted before it is worthless after."""
    request.session.clear()
    request.session[CLINICIAN_KEY] = clinician.id
    request.session[GENERATION_KEY] = clinician.session_generation
    csrf_token(request)


def sign_out(request: Request, session: Session) -> None:
    """End this session and every other copy of it: the cookie is signed, not stored, so
    logging out moves the clinician's session generation on and older cookies stop working
    (on every device: logging out is logging out everywhere)."""
    clinician = _signed_in(request, session)
    if clinician is not None:
        session.execute(update(Clinician).where(Clinician.id == clinician.id).values(
            session_generation=Clinician.session_generation + 1))
    request.session.clear()


def _signed_in(request: Request, session: Session) -> Clinician | None:
    """The clinician this cookie names, if it is of their current session generation."""
    clinician_id = request.session.get(CLINICIAN_KEY)
    clinician = session.get(Clinician, clinician_id) if isinstance(clinician_id, int) else None
    if clinician is None or request.session.get(GENERATION_KEY) != clinician.session_generation:
        return None
    return clinician


def _principal(request: Request, session: SessionDep) -> Principal:
    clinician = _signed_in(request, session)
    if clinician is None:
        request.session.pop(CLINICIAN_KEY, None)
        request.session.pop(GENERATION_KEY, None)
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
