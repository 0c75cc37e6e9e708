"""Approval: the only way a worksheet becomes a resource the client can see."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from service import audit
from service.auth.principal import Principal
from service.db import rowcount
from service.errors import Conflict, Invalid
from service.models import Approval, Draft, DraftRevision, Resource
from service.scope import load
from service.webhooks.events import emit
from service.workflow.content import canonical, changes, sha256
from service.workflow.drafts import current_revision, findings_for, revisions
from service.workflow.states import DraftStatus
from service.worksheet import Worksheet


def _check_approvable(draft: Draft, revision: DraftRevision, safety_acknowledged: bool) -> None:
    """The revision's findings as stored, and again as of today: a review date that has
    passed since the revision was saved blocks approval as it would block a new edit."""
    today_findings = findings_for(Worksheet.model_validate(revision.worksheet),
                                  draft.request_text)
    found = [*revision.findings, *(f.model_dump() for f in today_findings)]
    errors = [f for f in found if f["severity"] == "error"]
    if errors:
        codes = ", ".join(sorted({f["code"] for f in errors}))
        raise Invalid(f"revision {revision.number} has error findings ({codes}); fix them first",
                      field="findings")
    risky = any(f["code"] == "risk_content" for f in found)
    if risky and not safety_acknowledged:
        raise Invalid("this worksheet mentions risk: confirm the safety acknowledgement to approve",
                      field="safety_acknowledged")


def approve_revision(session: Session, principal: Principal, draft_id: int, *, revision: int,
                     safety_acknowledged: bool = False) -> Resource:
    """Approve exactly one named revision; concurrent approvals race on one guarded UPDATE."""
    principal.require_clinician("approval")
    draft = load(session, principal, Draft, draft_id)
    if draft.status != DraftStatus.IN_REVIEW:
        raise Conflict(f"draft {draft.id} is {draft.status}; it cannot be approved")
    if revision != draft.current_revision:
        raise Conflict(f"revision {revision} is stale; the current one is {draft.current_revision}")
    current = current_revision(session, draft)
    assert current is not None
    _check_approvable(draft, current, safety_acknowledged)
    won = rowcount(session.execute(
        update(Draft)
        .where(Draft.id == draft.id, Draft.status == DraftStatus.IN_REVIEW.value,
               Draft.current_revision == revision)
        .values(status=DraftStatus.APPROVED.value)
        .execution_options(synchronize_session=False)
    ))
    if won != 1:
        raise Conflict(f"draft {draft.id} changed while you were approving it; reload it")
    session.refresh(draft)
    return _record_approval(session, principal, draft, current, safety_acknowledged)


def _record_approval(session: Session, principal: Principal, draft: Draft,
                     revision: DraftRevision, safety_acknowledged: bool) -> Resource:
    assert principal.clinician_id is not None
    content = canonical(revision.worksheet)
    upto = [(r.author, r.worksheet) for r in revisions(session, draft)
            if r.number <= revision.number]
    approval = Approval(
        draft_id=draft.id, revision_id=revision.id, clinician_id=principal.clinician_id,
        content_sha256=sha256(content), safety_acknowledged=safety_acknowledged,
        changes_from_ai=changes(upto),
    )
    session.add(approval)
    session.flush()
    resource = Resource(organisation_id=draft.organisation_id, client_id=draft.client_id,
                        approval_id=approval.id, content=content,
                        content_sha256=approval.content_sha256)
    session.add(resource)
    session.flush()
    audit.record(session, principal, "draft.approved", "draft", draft.id,
                 client_id=draft.client_id)
    audit.record(session, principal, "resource.created", "resource", resource.id,
                 client_id=draft.client_id)
    if draft.follows_resource_id is not None:
        _replace(session, principal, draft.follows_resource_id, resource)
    emit(session, draft.organisation_id, "draft.approved",
         {"draft_id": draft.id, "client_id": draft.client_id, "revision": revision.number,
          "resource_id": resource.id})
    return resource


def _replace(session: Session, principal: Principal, old_id: int, new: Resource) -> None:
    """The approved follow-up takes the old item's place, so the client is never asked to
    keep up both; the old item keeps its check-ins. Guarded: if the item was already
    retired or replaced (by a sibling follow-up), this follow-up is out of date and the
    whole approval is refused, so two follow-ups of one item never both go live."""
    retired = rowcount(session.execute(
        update(Resource)
        .where(Resource.id == old_id, Resource.client_id == new.client_id,
               Resource.status == "active")
        .values(status="retired")
    ))
    if not retired:
        raise Conflict(f"item {old_id} was already replaced or retired, so this follow-up of "
                       f"it is out of date; reject it, or draft a new one")
    audit.record(session, principal, "resource.replaced", "resource", old_id,
                 client_id=new.client_id)
