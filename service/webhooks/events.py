"""Events into the outbox: one row per subscribed endpoint, in the caller's transaction.

The row commits with the change it announces or not at all, so an event is never lost and
never announced for a change that was rolled back; no receiver is contacted here.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.clock import now
from service.models import WebhookDelivery, WebhookEndpoint

EventType = Literal["draft.ready", "draft.approved", "resource.checked_in"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def new_event_id() -> str:
    """A Standard Webhooks message id; receivers de-duplicate on it."""
    return f"msg_{secrets.token_urlsafe(18)}"


def live_endpoints(session: Session, organisation_id: int) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.organisation_id == organisation_id,
        WebhookEndpoint.deleted_at.is_(None)).order_by(WebhookEndpoint.id)))


def _thin(data: Mapping[str, int]) -> dict[str, int]:
    """Ids only: a payload with any text could carry PHI to a third party."""
    for key, value in data.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"webhook data {key!r} must be an id (int), not {type(value).__name__}")
    return dict(data)


def emit(session: Session, organisation_id: int, event_type: EventType,
         data: Mapping[str, int]) -> list[WebhookDelivery]:
    """Queue one event for every live endpoint of the organisation subscribed to it."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    at = now()
    payload = {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"),
               "data": _thin(data)}
    event_id = new_event_id()
    rows = [WebhookDelivery(organisation_id=organisation_id, endpoint_id=endpoint.id,
                            event_id=event_id, event_type=event_type, payload=payload,
                            status=PENDING, attempts=0, next_attempt_at=at)
            for endpoint in live_endpoints(session, organisation_id)
            if event_type in endpoint.events]
    session.add_all(rows)
    session.flush()
    return rows
