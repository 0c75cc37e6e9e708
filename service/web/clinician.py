"""The clinician's review screen: inbox, new draft, and the draft view with approval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from service import clients
from service.api.deps import SessionDep, SettingsDep
from service.api.schemas import PathId
from service.auth.principal import Principal
from service.catalog import get_catalog
from service.config import Settings
from service.errors import DomainError
from service.models import Draft
from service.web.forms import FormErrors, PostedForm, apply_fix, worksheet_from_form
from service.web.review import AWAITING, draft_page, finding_counts
from service.web.security import ClinicianDep, CsrfDep
from service.web.templating import render
from service.workflow import approval, drafts, queue
from service.worksheet import MODALITIES, Preferences

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])
Text = Annotated[str, Form(max_length=8000)]
INBOX_LIMIT = 200  # drafts awaiting review shown at once


def start_drafting(background: BackgroundTasks, draft_id: int, settings: Settings) -> None:
    """Drafting runs in the background (the job queue on PostgreSQL), so the page can show
    progress meanwhile."""
    queue.enqueue_drafting(draft_id, settings, background)


def _see(draft_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/drafts/{draft_id}{anchor}", status_code=303)


@router.get("/")
def inbox(request: Request, session: SessionDep, principal: ClinicianDep) -> Response:
    """Drafts awaiting review, grouped per client, newest first; only those clients' names
    are read."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for draft in drafts.list_drafts(session, principal, statuses=AWAITING, limit=INBOX_LIMIT):
        errors, warnings = finding_counts(session, draft)
        groups.setdefault(draft.client_id, []).append(
            {"draft": draft, "errors": errors, "warnings": warnings})
    names = {c.id: c.preferred_name or c.name for c in clients.list_clients(
        session, principal, ids=set(groups), limit=max(len(groups), 1))}
    return render(request, "web/inbox.html", groups=groups, names=names)


def _new_form(request: Request, session: Session, principal: Principal, status_code: int = 200,
              **values: Any) -> Response:
    return render(request, "web/draft_new.html", status_code=status_code,
                  clients=clients.list_clients(session, principal, limit=1000),
                  modalities=MODALITIES, templates=get_catalog(),
                  values=values, error=values.pop("error", None))


@router.get("/drafts/new")
def new_draft_page(request: Request, session: SessionDep, principal: ClinicianDep,
                   client_id: int | None = None) -> Response:
    return _new_form(request, session, principal, client_id=client_id)


@router.post("/drafts")
def create_draft(request: Request, session: SessionDep, principal: ClinicianDep,
                 settings: SettingsDep, background: BackgroundTasks,
                 client_id: Annotated[str, Form()] = "", request_text: Text = "",
                 homework_word: Annotated[str, Form(max_length=40)] = "",
                 preferred_modality: Annotated[str, Form()] = "",
                 known_cues: Annotated[str, Form(max_length=2000)] = "",
                 next_session_date: Annotated[str, Form()] = "",
                 template_id: Annotated[str, Form()] = "") -> Response:
    """The request is stored before any drafting; a form error keeps what was typed."""
    values = {"client_id": client_id, "request_text": request_text,
              "homework_word": homework_word, "preferred_modality": preferred_modality,
              "known_cues": known_cues, "next_session_date": next_session_date,
              "template_id": template_id}
    try:
        preferences = Preferences(
            homework_word=homework_word.strip() or "practice",
            preferred_modality=preferred_modality or None,  # type: ignore[arg-type]
            known_cues=[c.strip() for c in known_cues.splitlines() if c.strip()])
        draft = drafts.create_draft(
            session, principal, client_id=int(client_id) if client_id.isdigit() else 0,
            request_text=request_text, preferences=preferences,
            next_session_date=dt.date.fromisoformat(next_session_date)
            if next_session_date else None, template_id=template_id or None)
    except (DomainError, ValidationError, ValueError) as exc:
        session.rollback()
        message = exc.detail if isinstance(exc, DomainError) else _first_error(exc)
        return _new_form(request, session, principal, status_code=422, error=message, **values)
    session.commit()
    start_drafting(background, draft.id, settings)
    return _see(draft.id)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return "a date must look like 2026-12-31"


def _draft_view(request: Request, session: Session, principal: Principal, draft_id: int,
                status_code: int = 200, **extra: Any) -> Response:
    draft = drafts.get_draft(session, principal, draft_id)
    page = extra.pop("page", None) or draft_page(session, draft)
    return render(request, "web/draft.html", status_code=status_code, page=page,
                  modalities=MODALITIES, **extra)


@router.get("/drafts/{draft_id}")
def draft_view(request: Request, draft_id: PathId, session: SessionDep,
               principal: ClinicianDep) -> Response:
    return _draft_view(request, session, principal, draft_id)


@router.get("/drafts/{draft_id}/progress")
def progress(request: Request, draft_id: PathId, session: SessionDep,
             principal: ClinicianDep) -> Response:
    """Polled by htmx while drafting; once done, the whole page reloads."""
    draft = drafts.get_draft(session, principal, draft_id)
    page = draft_page(session, draft)
    response = render(request, "web/_progress.html", page=page)
    if not page.pending:
        response.headers["HX-Refresh"] = "true"
    return response


@router.post("/drafts/{draft_id}/check")
def live_check(request: Request, draft_id: PathId, session: SessionDep,
               principal: ClinicianDep, form: PostedForm) -> Response:
    """Live re-validation as the clinician types; nothing is saved."""
    draft = drafts.get_draft(session, principal, draft_id)
    try:
        page = draft_page(session, draft, worksheet_from_form(form, draft.template_id))
    except FormErrors as exc:
        return render(request, "web/_findings.html", page=draft_page(session, draft),
                      form_errors=exc.errors, live=True)
    return render(request, "web/_findings.html", page=page, form_errors={}, live=True)


@router.post("/drafts/{draft_id}/edit")
def save_edit(request: Request, draft_id: PathId, session: SessionDep,
              principal: ClinicianDep, form: PostedForm) -> Response:
    """Save the form as a new revision; `apply_fix` also applies one suggested fix."""
    draft = drafts.get_draft(session, principal, draft_id)
    try:
        worksheet = worksheet_from_form(form, draft.template_id)
    except FormErrors as exc:
        return _draft_view(request, session, principal, draft_id, status_code=422,
                           form_errors=exc.errors)
    fix_key = form.get("apply_fix")
    if isinstance(fix_key, str) and fix_key:
        fix = next((f.suggested_fix for f in draft_page(session, draft, worksheet).findings
                    if f"{f.code}:{f.field}" == fix_key and f.suggested_fix), None)
        worksheet = apply_fix(worksheet, fix) if fix else worksheet
    base = form.get("base_revision")
    try:
        drafts.edit_draft(session, principal, draft_id, worksheet=worksheet,
                          base_revision=int(base) if isinstance(base, str) and base.isdigit()
                          else -1)
    except DomainError as exc:
        session.rollback()
        return _draft_view(request, session, principal, draft_id, status_code=exc.status,
                           error=exc.detail, page=draft_page(session, draft, worksheet))
    return _see(draft_id, "#findings")


@router.post("/drafts/{draft_id}/template")
def switch_template(request: Request, draft_id: PathId, session: SessionDep,
                    principal: ClinicianDep, settings: SettingsDep,
                    background: BackgroundTasks,
                    template_id: Annotated[str, Form(max_length=100)] = "",
                    instruction: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Re-draft on another template (one click) or retry a failed draft."""
    return _redraft(request, session, principal, draft_id, background, settings,
                    lambda: drafts.request_redraft(session, principal, draft_id,
                                                   template_id=template_id or None,
                                                   instruction=instruction or None))


def _redraft(request: Request, session: Session, principal: Principal, draft_id: int,
             background: BackgroundTasks, settings: Settings, ask: Callable[[], Draft]
             ) -> Response:
    """Store the ask, then draft in the background; a refused ask is a form error."""
    try:
        ask()
    except DomainError as exc:
        session.rollback()
        return _draft_view(request, session, principal, draft_id, status_code=exc.status,
                           error=exc.detail)
    session.commit()
    start_drafting(background, draft_id, settings)
    return _see(draft_id)


@router.post("/drafts/{draft_id}/change")
def ask_for_change(request: Request, draft_id: PathId, session: SessionDep,
                   principal: ClinicianDep, settings: SettingsDep, background: BackgroundTasks,
                   kind: Annotated[str, Form(max_length=20)] = "",
                   modality: Annotated[str, Form(max_length=20)] = "",
                   cue: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Re-draft "smaller", in another form, or on another cue: a new revision to review."""
    return _redraft(request, session, principal, draft_id, background, settings,
                    lambda: drafts.request_change(session, principal, draft_id, kind=kind,
                                                  modality=modality, cue=cue))


@router.post("/drafts/{draft_id}/approve")
def approve(request: Request, draft_id: PathId, session: SessionDep, principal: ClinicianDep,
            revision: Annotated[int, Form(ge=0)] = 0,
            safety_acknowledged: Annotated[bool, Form()] = False) -> Response:
    """Approves exactly the revision the clinician was looking at; stale ones are refused.

    A missing revision is left to the domain (as 0, never current) so that a draft of another
    organisation answers 404 before any form check could tell it exists.
    """
    try:
        approval.approve_revision(session, principal, draft_id, revision=revision,
                                  safety_acknowledged=safety_acknowledged)
    except DomainError as exc:
        session.rollback()
        return _draft_view(request, session, principal, draft_id, status_code=exc.status,
                           error=exc.detail)
    return _see(draft_id, "#client-preview")


@router.post("/drafts/{draft_id}/reject")
def reject(request: Request, draft_id: PathId, session: SessionDep, principal: ClinicianDep,
           reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        drafts.reject_draft(session, principal, draft_id, reason=reason)
    except DomainError as exc:
        session.rollback()
        return _draft_view(request, session, principal, draft_id, status_code=exc.status,
                           reject_error=exc.detail)
    return _see(draft_id)
