"""The clinician's client pages: the list, a client's history, and the next-session review
with its one-click follow-ups (each a new draft, linked to the item it follows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from service import clients
from service.api.deps import SessionDep
from service.api.schemas import PathId
from service.auth.principal import Principal
from service.errors import DomainError
from service.history.review import PATTERN_LENGTH, client_history, next_session_review
from service.models import Draft
from service.web.security import ClinicianDep, CsrfDep
from service.web.templating import render
from service.workflow import followups
from service.worksheet import MODALITIES

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])
OUTCOMES = {"done": ("✓", "done"), "partial": ("◐", "partly done"),
            "skipped": ("✗", "skipped")}
Short = Annotated[str, Form(max_length=500)]


def streak_words(weeks: int) -> str:
    """The compassionate streak as the clinician reads it: weeks, one day off allowed."""
    if weeks <= 0:
        return "No week on track yet: a fresh start, not a failure."
    return f"{weeks} week{'' if weeks == 1 else 's'} in a row on track (a day off allowed)."


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return render(request, name, status_code=status_code, outcomes=OUTCOMES,
                  streak_words=streak_words, pattern_length=PATTERN_LENGTH, **context)


@router.get("/clients")
def client_list(request: Request, session: SessionDep, principal: ClinicianDep) -> Response:
    return _page(request, "web/clients.html",
                 clients=clients.list_clients(session, principal, limit=1000))


def _history(request: Request, session: Session, principal: Principal, client_id: int,
             **extra: Any) -> Response:
    return _page(request, "web/client_history.html",
                 review=client_history(session, principal, client_id), **extra)


@router.get("/clients/{client_id}")
def history_page(request: Request, client_id: PathId, session: SessionDep,
                 principal: ClinicianDep) -> Response:
    """Every approved item, with its calendar strip of check-ins and its streak."""
    return _history(request, session, principal, client_id)


@router.post("/clients/{client_id}/link")
def issue_link(request: Request, client_id: PathId, session: SessionDep,
               principal: ClinicianDep) -> Response:
    """A new link replaces the old one. Only its hash is kept, so this page is the one time
    the clinician sees it, to send or show to the client."""
    token = clients.issue_client_link(session, principal, client_id)
    session.commit()
    return _history(request, session, principal, client_id,
                    link_url=str(request.base_url).rstrip("/") + f"/c/{token}")


@router.post("/clients/{client_id}/link/revoke")
def revoke_link(request: Request, client_id: PathId, session: SessionDep,
                principal: ClinicianDep) -> Response:
    clients.revoke_client_link(session, principal, client_id)
    session.commit()
    return RedirectResponse(f"/clients/{client_id}#client-link", status_code=303)


def _next_session(request: Request, session: Session, principal: Principal, client_id: int,
                  status_code: int = 200, **extra: Any) -> Response:
    return _page(request, "web/next_session.html", status_code=status_code,
                 review=next_session_review(session, principal, client_id),
                 modalities=MODALITIES, **extra)


@router.get("/clients/{client_id}/next-session")
def next_session_page(request: Request, client_id: PathId, session: SessionDep,
                      principal: ClinicianDep, retired: int | None = None) -> Response:
    """The homework review first; then, per item, the decision to make."""
    return _next_session(request, session, principal, client_id, retired=retired)


@router.post("/clients/{client_id}/items/{resource_id}/follow-up")
def follow_up(request: Request, client_id: PathId, resource_id: PathId, session: SessionDep,
              principal: ClinicianDep, kind: Short = "", cue: Short = "",
              modality: Short = "") -> Response:
    """One click: a new draft linked to the item (to review and approve), or its retirement."""
    try:
        made = followups.follow_up(session, principal, client_id=client_id,
                                   resource_id=resource_id, kind=kind, cue=cue or None,
                                   modality=modality or None)
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _next_session(request, session, principal, client_id, status_code=exc.status,
                             error=exc.detail, error_item=resource_id)
    if isinstance(made, Draft):
        return RedirectResponse(f"/drafts/{made.id}", status_code=303)
    return RedirectResponse(f"/clients/{client_id}/next-session?retired={made.id}",
                            status_code=303)
