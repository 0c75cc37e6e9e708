"""ORM rows to response models, inside the request's session."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from service.api.schemas import (
    ApprovalOut,
    CandidateOut,
    CheckInOut,
    ClientOut,
    DraftOut,
    Page,
    ResourceOut,
    RevisionOut,
)
from service.history import ResourceView
from service.models import Client, Draft, DraftRevision
from service.workflow.drafts import current_revision
from service.worksheet import Finding, Worksheet


def client_out(client: Client) -> ClientOut:
    return ClientOut(id=client.id, external_id=client.external_id, name=client.name,
                     preferred_name=client.preferred_name, date_of_birth=client.date_of_birth)


def revision_out(revision: DraftRevision) -> RevisionOut:
    findings = [Finding.model_validate(f) for f in revision.findings]
    return RevisionOut(number=revision.number, worksheet=Worksheet.model_validate(
        revision.worksheet), findings=findings, ok=not any(f.severity == "error" for f in findings),
        author=revision.author, created_at=revision.created_at)


def draft_out(session: Session, draft: Draft) -> DraftOut:
    revision = current_revision(session, draft)
    return DraftOut(
        id=draft.id, client_id=draft.client_id, status=draft.status,  # type: ignore[arg-type]
        request=draft.request_text, template_id=draft.template_id, instruction=draft.instruction,
        candidates=[CandidateOut.model_validate(c) for c in draft.candidates],
        current_revision=draft.current_revision,
        revision=revision_out(revision) if revision else None, error=draft.error,
        reject_reason=draft.reject_reason, drafter=draft.drafter, llm_calls=draft.llm_calls,
        prompt_tokens=draft.prompt_tokens, completion_tokens=draft.completion_tokens,
        cost_usd=draft.cost_usd, follows_resource_id=draft.follows_resource_id,
        created_at=draft.created_at,
    )


def resource_out(view: ResourceView, *, for_client: bool = False) -> ResourceOut:
    """The client's own view leaves out the sign-off: clinician ids are the practice's."""
    r = view.resource
    return ResourceOut(
        id=r.id, client_id=r.client_id, status=r.status, worksheet=view.worksheet,
        content_sha256=r.content_sha256, streak=view.streak, created_at=r.created_at,
        check_ins=[CheckInOut(id=c.id, check_in_date=c.check_in_date, outcome=c.outcome,
                              note=c.note) for c in view.check_ins],
        approval=None if for_client else ApprovalOut(**vars(view.approval)),
    )


T = TypeVar("T")


def page(items: list[T], cursor: int | None, limit: int) -> Page[T]:
    return Page[T](items=items, next_cursor=str(cursor) if cursor and len(items) == limit else None)
