"""Log in and out: an argon2-checked password, then a fresh signed session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from service.api.deps import SessionDep
from service.auth.credentials import authenticate_clinician
from service.errors import TooManyRequests, Unauthorized
from service.web.security import CsrfDep, sign_in, sign_out
from service.web.templating import render

router = APIRouter(include_in_schema=False)


def client_address(request: Request) -> str:
    """The caller's address as the server sees it; behind a reverse proxy, run uvicorn with
    --forwarded-allow-ips so this is the browser's address, not the proxy's."""
    return request.client.host if request.client else "unknown"


def _safe_next(target: str | None) -> str:
    """Only a path on this site, so the login page cannot become an open redirect."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "web/login.html", next=_safe_next(next), email="", error=None)


@router.post("/login", dependencies=[CsrfDep])
def login(request: Request, session: SessionDep, email: Annotated[str, Form(max_length=320)],
          password: Annotated[str, Form(max_length=1000)],
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    try:
        clinician = authenticate_clinician(session, email=email, password=password,
                                           address=client_address(request))
    except (Unauthorized, TooManyRequests) as exc:
        return render(request, "web/login.html", status_code=exc.status, next=_safe_next(next),
                      email=email, error=exc.detail)
    sign_in(request, clinician)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request, session: SessionDep) -> Response:
    sign_out(request, session)
    return RedirectResponse("/login", status_code=303)
