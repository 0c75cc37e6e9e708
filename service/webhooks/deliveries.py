"""The delivery log of an organisation, and replay (a new delivery of the same event)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import audit
from service.auth.principal import Principal
from service.clock import now
from service.errors import Conflict
from service.models import WebhookDelivery, WebhookEndpoint
from service.webhooks.endpoints import load_owned
from service.webhooks.events import PENDING, new_event_id


def list_deliveries(session: Session, principal: Principal, *, status: str | None = None,
                    after: int | None = None, limit: int = 50) -> list[WebhookDelivery]:
    """Newest first; `after` is the cursor (the last id of the previous page)."""
    query = select(WebhookDelivery).where(
        WebhookDelivery.organisation_id == principal.organisation_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if after is not None:
        query = query.where(WebhookDelivery.id < after)
    rows = list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))
    audit.record(session, principal, "webhook_delivery.list", "webhook_delivery", "*")
    return rows


def replay_delivery(session: Session, principal: Principal,
                    delivery_id: int) -> WebhookDelivery:
    """Send the same payload again as a new message (new webhook-id), due now."""
    original = load_owned(session, principal, WebhookDelivery, delivery_id)
    endpoint = session.get_one(WebhookEndpoint, original.endpoint_id)
    if endpoint.deleted_at is not None:
        raise Conflict(f"webhook endpoint {endpoint.id} was deleted; nothing is sent to it")
    replay = WebhookDelivery(
        organisation_id=original.organisation_id, endpoint_id=original.endpoint_id,
        event_id=new_event_id(), event_type=original.event_type, payload=original.payload,
        status=PENDING, attempts=0, next_attempt_at=now(), replay_of_id=original.id)
    session.add(replay)
    session.flush()
    audit.record(session, principal, "webhook_delivery.replayed", "webhook_delivery",
                 replay.id)
    return replay
