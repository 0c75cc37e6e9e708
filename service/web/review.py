"""What the draft page shows, gathered from the domain: findings per field, provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.catalog import get_catalog
from service.models import Approval, Client, Draft, DraftRevision, Resource
from service.workflow.content import changes
from service.workflow.drafts import current_revision, findings_for, revisions
from service.workflow.states import DraftStatus
from service.worksheet import Finding, Worksheet

PENDING = (DraftStatus.REQUESTED, DraftStatus.DRAFTING)
AWAITING = (*PENDING, DraftStatus.DRAFTING_FAILED, DraftStatus.IN_REVIEW)


@dataclass
class DraftPage:
    draft: Draft
    client: Client
    revision: DraftRevision | None
    worksheet: dict[str, Any]
    findings: list[Finding]
    history: list[DraftRevision]
    provenance: list[dict[str, Any]]
    approval: Approval | None = None
    resource: Resource | None = None
    unsaved: bool = False
    by_field: dict[str, list[Finding]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def needs_safety_ack(self) -> bool:
        return any(f.code == "risk_content" for f in self.findings)

    @property
    def pending(self) -> bool:
        return self.draft.status in PENDING

    @property
    def blocked_because(self) -> str | None:
        """Why Approve is disabled, in words the clinician can act on."""
        if self.draft.status != DraftStatus.IN_REVIEW:
            return f"This draft is {self.draft.status.replace('_', ' ')}."
        if self.unsaved:
            return "You have unsaved changes: save them to approve the saved revision."
        if self.errors:
            return (f"{len(self.errors)} error finding(s) must be fixed first: "
                    + ", ".join(sorted({f.code for f in self.errors})) + ".")
        return None

    @property
    def homework_word(self) -> str:
        return str(self.draft.preferences.get("homework_word") or "practice")

    @property
    def client_sees(self) -> dict[str, Any]:
        """After approval, the stored resource itself: the exact bytes the client is shown."""
        return json.loads(self.resource.content) if self.resource else self.worksheet

    @property
    def template_names(self) -> dict[str, str]:
        return {tid: t.name for tid, t in get_catalog().items()}


def _group(findings: list[Finding], fields: set[str]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        key = finding.field.split(".")[0].split("[")[0]
        grouped.setdefault(key if key in fields else "_general", []).append(finding)
    return grouped


def draft_page(session: Session, draft: Draft, edited: Worksheet | None = None) -> DraftPage:
    """The saved revision, or the clinician's unsaved edit re-validated live."""
    history = revisions(session, draft)
    revision = next((r for r in history if r.number == draft.current_revision), None)
    saved = revision.worksheet if revision else {}
    if edited is not None:
        worksheet = edited.model_dump(mode="json")
        findings = findings_for(edited, draft.request_text)
    else:
        worksheet = saved
        findings = [Finding.model_validate(f) for f in revision.findings] if revision else []
    page = DraftPage(
        draft=draft, client=session.get_one(Client, draft.client_id), revision=revision,
        worksheet=worksheet, findings=findings, history=history,
        # the drafting thread may commit revision 1 after `draft` was read: its current
        # revision, not the newest row, bounds what the page shows
        provenance=changes([(r.author, r.worksheet) for r in history
                            if r.number <= draft.current_revision]),
        unsaved=edited is not None and worksheet != saved)
    if draft.status == DraftStatus.APPROVED:  # only an approved draft has an approval
        page.approval = session.scalar(select(Approval).where(Approval.draft_id == draft.id))
    if page.approval is not None:  # provenance as kept with the approval, not recomputed
        page.provenance = page.approval.changes_from_ai
        page.resource = session.scalar(
            select(Resource).where(Resource.approval_id == page.approval.id))
    page.by_field = _group(findings, set(Worksheet.model_fields))
    return page


def finding_counts(session: Session, draft: Draft) -> tuple[int, int]:
    """(errors, warnings) of the current revision, for the inbox."""
    revision = current_revision(session, draft)
    found = revision.findings if revision else []
    errors = sum(1 for f in found if f["severity"] == "error")
    return errors, len(found) - errors
