"""Drafts: request stored first, drafted in a second transaction, edited as new revisions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from anyio import to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import audit
from service.auth.principal import Principal
from service.catalog import get_catalog, get_template
from service.clients import identifiers
from service.clock import now, today
from service.config import Settings
from service.db import rowcount, transaction
from service.drafting import DraftOutcome, draft_worksheet
from service.errors import Conflict, Invalid
from service.models import Client, Draft, DraftRevision
from service.scope import load
from service.selection import rank_templates
from service.validation import validate_worksheet
from service.webhooks.events import emit
from service.workflow.states import DraftStatus, move
from service.worksheet import MODALITIES, Finding, Preferences, Worksheet


def create_draft(
    session: Session, principal: Principal, *, client_id: int, request_text: str,
    preferences: Preferences, next_session_date: dt.date | None = None,
    template_id: str | None = None, follows_resource_id: int | None = None,
    instruction: str | None = None,
) -> Draft:
    """Store the clinician's request and the ranked templates; no LLM is called here."""
    load(session, principal, Client, client_id)
    if not request_text.strip():
        raise Invalid("the request is empty: describe the client's need", field="request")
    candidates = [c.model_dump() for c in rank_templates(request_text)]
    chosen = _known(template_id) if template_id else candidates[0]["template_id"]
    draft = Draft(
        organisation_id=principal.organisation_id, client_id=client_id,
        created_by=principal.actor, request_text=request_text,
        preferences=preferences.model_dump(mode="json"), next_session_date=next_session_date,
        template_id=chosen, candidates=candidates, status=DraftStatus.REQUESTED.value,
        follows_resource_id=follows_resource_id, instruction=instruction,
    )
    session.add(draft)
    session.flush()
    audit.record(session, principal, "draft.created", "draft", draft.id, client_id=client_id)
    return draft


def _known(template_id: str) -> str:
    """A template the clinician names is input: unknown is a 422 naming the field."""
    if template_id not in get_catalog():
        raise Invalid(f"no template {template_id!r} in the catalog", field="template_id")
    return template_id


def findings_for(worksheet: Worksheet, request_text: str) -> list[Finding]:
    return validate_worksheet(worksheet, today=today(), request_text=request_text)


def add_revision(session: Session, draft: Draft, worksheet: Worksheet, author: str,
                  findings: list[Finding] | None = None) -> DraftRevision:
    found = findings if findings is not None else findings_for(worksheet, draft.request_text)
    draft.current_revision += 1
    revision = DraftRevision(
        draft_id=draft.id, number=draft.current_revision,
        worksheet=worksheet.model_dump(mode="json"),
        findings=[f.model_dump(mode="json") for f in found], author=author,
    )
    session.add(revision)
    move(draft, DraftStatus.IN_REVIEW)
    session.flush()
    return revision


def current_revision(session: Session, draft: Draft) -> DraftRevision | None:
    return session.scalar(select(DraftRevision).where(
        DraftRevision.draft_id == draft.id, DraftRevision.number == draft.current_revision))


def _claim(session: Session, draft_id: int) -> bool:
    """Exactly one worker wins the guarded UPDATE, so each draft is drafted once."""
    won = rowcount(session.execute(
        update(Draft).where(Draft.id == draft_id, Draft.status == DraftStatus.REQUESTED.value)
        .values(status=DraftStatus.DRAFTING.value, updated_at=now())
        .execution_options(synchronize_session=False)
    ))
    return won == 1


def _inputs(session: Session, draft: Draft, settings: Settings) -> dict[str, Any]:
    client = session.get_one(Client, draft.client_id)
    previous = current_revision(session, draft)
    if previous is not None and previous.worksheet.get("template_id") != draft.template_id:
        previous = None  # another template: draft afresh from its card, not relabel the old
    return {
        "request_text": draft.request_text, "template": get_template(draft.template_id),
        "preferences": Preferences.model_validate(draft.preferences),
        "review_date": draft.next_session_date or today() + dt.timedelta(days=7),
        "today": today(), "identifiers": identifiers(client), "settings": settings,
        "instruction": draft.instruction,
        "previous": Worksheet.model_validate(previous.worksheet) if previous else None,
    }


async def run_drafting(draft_id: int, settings: Settings) -> None:
    """Draft outside any transaction, then store the outcome in a second one.

    Both transactions run on worker threads: blocking database calls on the event loop
    would stall every request of the process, and on PostgreSQL could wait for the audit
    lock held by a request whose commit is itself waiting for the loop.
    """
    inputs = await to_thread.run_sync(_claim_inputs, draft_id, settings)
    if inputs is None:
        return
    try:
        outcome = await draft_worksheet(**inputs)
    except Exception as exc:  # the request must survive any drafter bug
        outcome = DraftOutcome(None, [], settings.llm_model or "offline",
                               error=f"drafter_crashed: {type(exc).__name__}")
    await to_thread.run_sync(_store, draft_id, outcome)


def _claim_inputs(draft_id: int, settings: Settings) -> dict[str, Any] | None:
    """The drafter's inputs if this caller won the claim, else None."""
    with transaction() as session:
        if not _claim(session, draft_id):
            return None
        return _inputs(session, session.get_one(Draft, draft_id), settings)


def _store(draft_id: int, outcome: DraftOutcome) -> None:
    with transaction() as session:
        store_outcome(session, session.get_one(Draft, draft_id), outcome)


def drafts_to_resume(session: Session, *, stale_after: dt.timedelta) -> list[int]:
    """Pending work after a restart: never-started drafts and claims older than a timeout."""
    stale = now() - stale_after
    session.execute(update(Draft).where(Draft.status == DraftStatus.DRAFTING.value,
                                        Draft.updated_at < stale)
                    .values(status=DraftStatus.REQUESTED.value)
                    .execution_options(synchronize_session=False))
    return list(session.scalars(select(Draft.id).where(
        Draft.status == DraftStatus.REQUESTED.value).order_by(Draft.id)))


def store_outcome(session: Session, draft: Draft, outcome: DraftOutcome) -> None:
    draft.drafter = outcome.drafter
    draft.llm_calls += outcome.llm_calls
    draft.prompt_tokens += outcome.prompt_tokens
    draft.completion_tokens += outcome.completion_tokens
    draft.cost_usd += outcome.cost_usd
    draft.error = outcome.error
    if outcome.worksheet is None:
        move(draft, DraftStatus.DRAFTING_FAILED)
    else:
        revision = add_revision(session, draft, outcome.worksheet, f"ai:{outcome.drafter}",
                                 outcome.findings or None)
        emit(session, draft.organisation_id, "draft.ready",  # a clinician's edit is not news
             {"draft_id": draft.id, "client_id": draft.client_id, "revision": revision.number})
    audit.record(session, None, "draft.drafted", "draft", draft.id, client_id=draft.client_id,
                 organisation_id=draft.organisation_id)


def get_draft(session: Session, principal: Principal, draft_id: int) -> Draft:
    draft = load(session, principal, Draft, draft_id)
    audit.record(session, principal, "draft.read", "draft", draft.id, client_id=draft.client_id)
    return draft


def list_drafts(session: Session, principal: Principal, *, client_id: int | None = None,
                statuses: Collection[str] | None = None, after: int | None = None,
                limit: int = 50) -> list[Draft]:
    """Newest first; `after` is the cursor (the last id of the previous page). Statuses
    filter before the limit, so old drafts still awaiting review are not crowded out."""
    query = select(Draft).where(Draft.organisation_id == principal.organisation_id)
    if client_id is not None:
        query = query.where(Draft.client_id == client_id)
    if statuses is not None:
        query = query.where(Draft.status.in_(list(statuses)))
    if after is not None:
        query = query.where(Draft.id < after)
    rows = list(session.scalars(query.order_by(Draft.id.desc()).limit(limit)))
    audit.list_read(session, principal, "draft.list", "draft",
                    [(d.id, d.client_id) for d in rows])
    return rows


def _load_for_change(session: Session, principal: Principal, draft_id: int) -> Draft:
    """Load a draft to change it, holding it until commit so no other change interleaves.

    PostgreSQL locks the row (FOR UPDATE). SQLite ignores FOR UPDATE and reads outside a
    transaction, so a guarded no-op UPDATE (same status, same revision as read) takes the
    write lock and proves nothing changed in between; if something did, 409, not a silent
    overwrite (e.g. an edit landing on a draft approved a moment before).
    """
    draft = load(session, principal, Draft, draft_id, for_update=True)
    held = rowcount(session.execute(
        update(Draft).where(Draft.id == draft.id, Draft.status == draft.status,
                            Draft.current_revision == draft.current_revision)
        .values(updated_at=now()).execution_options(synchronize_session=False)
    ))
    if held != 1:
        raise Conflict(f"draft {draft.id} changed while you were working on it; reload it")
    return draft


def revisions(session: Session, draft: Draft) -> list[DraftRevision]:
    return list(session.scalars(select(DraftRevision).where(
        DraftRevision.draft_id == draft.id).order_by(DraftRevision.number)))


def edit_draft(session: Session, principal: Principal, draft_id: int, *,
               base_revision: int, worksheet: Worksheet) -> DraftRevision:
    """A clinician's edit: a new immutable revision, re-validated; stale bases get 409."""
    principal.require_clinician("editing a draft")
    draft = _load_for_change(session, principal, draft_id)
    if draft.status != DraftStatus.IN_REVIEW:
        raise Conflict(f"draft {draft.id} is {draft.status}; only drafts in review can be edited")
    if base_revision != draft.current_revision:
        raise Conflict(f"revision {base_revision} is stale; the current one is "
                       f"{draft.current_revision}")
    revision = add_revision(session, draft, worksheet, principal.actor)
    audit.record(session, principal, "draft.edited", "draft", draft.id, client_id=draft.client_id)
    return revision


def request_redraft(session: Session, principal: Principal, draft_id: int, *,
                    template_id: str | None = None, instruction: str | None = None) -> Draft:
    """Re-draft on another template or with an instruction ("smaller", "voice note")."""
    principal.require_clinician("re-drafting")
    draft = _load_for_change(session, principal, draft_id)
    if template_id is not None:
        draft.template_id = _known(template_id)
    draft.instruction = instruction
    move(draft, DraftStatus.REQUESTED)
    audit.record(session, principal, "draft.redraft_requested", "draft", draft.id,
                 client_id=draft.client_id)
    return draft


CHANGES = ("smaller", "form", "cue")


def change_instruction(kind: str, *, modality: str = "", cue: str = "") -> str:
    """The clinician's one-click asks ("smaller", "as a voice note", "on this cue") in the
    words both drafters read: the LLM as an instruction, the offline drafter by pattern."""
    if kind == "smaller":
        return "make it smaller"
    if kind == "form":
        if modality not in MODALITIES:
            raise Invalid("choose a form: " + ", ".join(MODALITIES), field="modality")
        return f"change the form: {modality.replace('_', ' ')}"
    if kind == "cue":
        if len(cue.strip()) < 3:
            raise Invalid("name the cue, e.g. \"right after brushing your teeth\"", field="cue")
        return f"tie it to this cue: {cue.strip()[:200]}"
    raise Invalid("ask for one of: " + ", ".join(CHANGES), field="kind")


def request_change(session: Session, principal: Principal, draft_id: int, *, kind: str,
                   modality: str = "", cue: str = "") -> Draft:
    """The draft is loaded (and scoped) before the ask is judged: another organisation's
    draft is "not found" whatever the form says."""
    principal.require_clinician("asking for a change")
    _load_for_change(session, principal, draft_id)
    return request_redraft(session, principal, draft_id,
                           instruction=change_instruction(kind, modality=modality, cue=cue))


def reject_draft(session: Session, principal: Principal, draft_id: int, *, reason: str) -> Draft:
    principal.require_clinician("rejecting a draft")
    draft = _load_for_change(session, principal, draft_id)
    if not reason.strip():
        raise Invalid("say why the draft is rejected", field="reason")
    move(draft, DraftStatus.REJECTED)
    draft.reject_reason = reason
    audit.record(session, principal, "draft.rejected", "draft", draft.id, client_id=draft.client_id)
    return draft
