"""The client's resource history: approved items, their check-ins and streaks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import audit
from service.auth.principal import Principal
from service.clock import today
from service.errors import Conflict, Invalid
from service.history.streak import compassionate_streak
from service.models import Approval, CheckIn, Client, DraftRevision, Resource
from service.scope import load
from service.webhooks.events import emit

Outcome = Literal["done", "partial", "skipped"]
# the server's date is UTC; a client west of it may still be on the day before
TIMEZONE_GRACE = dt.timedelta(days=1)


@dataclass(frozen=True)
class Provenance:
    """Who approved the item, and which revision of which draft: the sign-off behind it."""

    draft_id: int
    revision: int
    clinician_id: int
    approved_at: dt.datetime
    safety_acknowledged: bool


@dataclass(frozen=True)
class ResourceView:
    resource: Resource
    check_ins: list[CheckIn]
    streak: int
    approval: Provenance

    @property
    def worksheet(self) -> dict[str, object]:
        return json.loads(self.resource.content)


def _views(session: Session, resources: Sequence[Resource]) -> list[ResourceView]:
    """The resources with their check-ins, streaks and sign-offs, in two queries for the
    page rather than two per resource (the client's home lists up to 200)."""
    ids = [r.id for r in resources]
    check_ins: dict[int, list[CheckIn]] = {i: [] for i in ids}
    for c in session.scalars(select(CheckIn).where(CheckIn.resource_id.in_(ids))
                             .order_by(CheckIn.check_in_date, CheckIn.id)):
        check_ins[c.resource_id].append(c)
    signed = {row[0]: Provenance(*row[1:]) for row in session.execute(
        select(Approval.id, Approval.draft_id, DraftRevision.number, Approval.clinician_id,
               Approval.approved_at, Approval.safety_acknowledged)
        .join(DraftRevision, DraftRevision.id == Approval.revision_id)
        .where(Approval.id.in_([r.approval_id for r in resources])))}
    return [ResourceView(r, check_ins[r.id], _streak(r, check_ins[r.id]), signed[r.approval_id])
            for r in resources]


def _streak(resource: Resource, check_ins: list[CheckIn]) -> int:
    frequency = str(json.loads(resource.content).get("frequency") or "")
    practised = [c.check_in_date for c in check_ins if c.outcome in ("done", "partial")]
    return compassionate_streak(frequency, practised, today())


def list_resources(session: Session, principal: Principal, client: Client, *,
                   after: int = 0, limit: int = 50) -> list[ResourceView]:
    rows = list(session.scalars(select(Resource).where(
        Resource.client_id == client.id, Resource.id > after).order_by(Resource.id).limit(limit)))
    views = _views(session, rows)
    audit.record(session, principal, "resource.list", "client", client.id, client_id=client.id,
                 organisation_id=client.organisation_id)
    return views


def client_resources(session: Session, principal: Principal, client_id: int, *,
                     after: int = 0, limit: int = 50) -> list[ResourceView]:
    return list_resources(session, principal, load(session, principal, Client, client_id),
                          after=after, limit=limit)


def get_resource(session: Session, principal: Principal, resource_id: int) -> ResourceView:
    resource = load(session, principal, Resource, resource_id)
    audit.record(session, principal, "resource.read", "resource", resource.id,
                 client_id=resource.client_id)
    return _views(session, [resource])[0]


def record_check_in(session: Session, principal: Principal, resource: Resource, *,
                    outcome: Outcome, check_in_date: dt.date | None = None,
                    note: str | None = None) -> CheckIn:
    """A client's (or clinician's) log of one attempt; non-completion is data, not failure."""
    if resource.status != "active":
        raise Conflict(f"resource {resource.id} is retired; check-ins are closed")
    day = check_in_date or today()
    if day > today():
        raise Invalid("a check-in cannot be dated in the future", field="check_in_date")
    if day < resource.created_at.date() - TIMEZONE_GRACE:
        raise Invalid("a check-in cannot be dated before the item was approved "
                      f"({resource.created_at.date().isoformat()})", field="check_in_date")
    check_in = CheckIn(resource_id=resource.id, check_in_date=day, outcome=outcome,
                       note=(note or None))
    session.add(check_in)
    session.flush()
    audit.record(session, principal, "check_in.created", "resource", resource.id,
                 client_id=resource.client_id, organisation_id=resource.organisation_id)
    emit(session, resource.organisation_id, "resource.checked_in",
         {"resource_id": resource.id, "client_id": resource.client_id,
          "check_in_id": check_in.id})
    return check_in


def retire_resource(session: Session, principal: Principal, resource_id: int) -> Resource:
    principal.require_clinician("retiring an item")
    resource = load(session, principal, Resource, resource_id)
    resource.status = "retired"
    audit.record(session, principal, "resource.retired", "resource", resource.id,
                 client_id=resource.client_id)
    return resource
