"""What an export of an approved resource needs, loaded in the caller's organisation scope.

The exporters themselves stay pure (a `ResourceView` in, bytes or dicts out); this module is
the one place that reads the context around it (the client's practice-management id, the
approving clinician, the practice's name) and writes the audit entry of the export.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import audit, history
from service.auth.principal import Principal
from service.errors import Conflict
from service.history import ResourceView
from service.models import Approval, Client, Draft, Organisation

ExportFormat = Literal["fhir", "pdf", "ics"]
DEFAULT_WORD = "practice"


@dataclass(frozen=True)
class ExportSource:
    """An approved resource with its check-ins and the ids an EHR needs to file it."""

    view: ResourceView
    organisation_id: int
    organisation_name: str
    client_external_id: str
    clinician_id: int
    approved_at: dt.datetime
    homework_word: str


def _homework_word(preferences: object) -> str:
    """The client's own word for "homework", chosen when the draft was requested."""
    word = preferences.get("homework_word") if isinstance(preferences, dict) else None
    return str(word).strip() if word and str(word).strip() else DEFAULT_WORD


def load_export(session: Session, principal: Principal, resource_id: int, *,
                export_format: ExportFormat) -> ExportSource:
    """The resource (404 outside the caller's organisation), read and export both audited.

    A calendar of a retired practice would keep reminding the client of something the
    clinician has closed, so `.ics` answers 409 for it; the record formats stay available.
    """
    view = history.get_resource(session, principal, resource_id)
    resource = view.resource
    if export_format == "ics" and resource.status != "active":
        raise Conflict(f"resource {resource.id} is retired; it has no practice time left")
    external_id, clinician_id, approved_at, preferences, org_name = session.execute(
        select(Client.external_id, Approval.clinician_id, Approval.approved_at,
               Draft.preferences, Organisation.name)
        .select_from(Approval)
        .join(Draft, Draft.id == Approval.draft_id)
        .join(Client, Client.id == Draft.client_id)
        .join(Organisation, Organisation.id == Client.organisation_id)
        .where(Approval.id == resource.approval_id)).one()
    audit.record(session, principal, f"resource.exported.{export_format}", "resource",
                 resource.id, client_id=resource.client_id)
    return ExportSource(view=view, organisation_id=resource.organisation_id,
                        organisation_name=org_name, client_external_id=external_id,
                        clinician_id=clinician_id, approved_at=approved_at,
                        homework_word=_homework_word(preferences))
