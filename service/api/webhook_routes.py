"""Routes of /api/v1/webhooks: endpoints, the delivery log and replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.api.convert import page
from service.api.deps import PrincipalDep, SessionDep, SettingsDep
from service.api.routes import Cursor, Limit, _cursor
from service.api.schemas import Page, PathId
from service.api.webhook_schemas import (
    DeliveryStatus,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
)
from service.models import WebhookDelivery, WebhookEndpoint
from service.webhooks import deliveries, endpoints

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
StatusFilter = Annotated[DeliveryStatus | None, Query()]


def _endpoint_out(row: WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut.model_validate(row, from_attributes=True)


def _delivery_out(row: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut.model_validate(row, from_attributes=True)


@router.post("/endpoints", operation_id="create_webhook_endpoint", status_code=201)
def create_endpoint(body: WebhookEndpointIn, session: SessionDep, principal: PrincipalDep,
                    settings: SettingsDep) -> WebhookEndpointCreated:
    row = endpoints.create_endpoint(session, principal, url=body.url, events=body.events,
                                    may_reach_private=settings.webhooks_may_reach_private)
    return WebhookEndpointCreated.model_validate(row, from_attributes=True)


@router.get("/endpoints", operation_id="list_webhook_endpoints")
def list_endpoints(session: SessionDep, principal: PrincipalDep) -> list[WebhookEndpointOut]:
    return [_endpoint_out(e) for e in endpoints.list_endpoints(session, principal)]


@router.delete("/endpoints/{endpoint_id}", operation_id="delete_webhook_endpoint",
               status_code=204)
def delete_endpoint(endpoint_id: PathId, session: SessionDep, principal: PrincipalDep) -> None:
    endpoints.delete_endpoint(session, principal, endpoint_id)


@router.get("/deliveries", operation_id="list_webhook_deliveries")
def list_deliveries(session: SessionDep, principal: PrincipalDep, status: StatusFilter = None,
                    cursor: Cursor = None, limit: Limit = 50) -> Page[WebhookDeliveryOut]:
    rows = deliveries.list_deliveries(session, principal, status=status,
                                      after=_cursor(cursor), limit=limit)
    return page([_delivery_out(d) for d in rows], rows[-1].id if rows else None, limit)


@router.post("/deliveries/{delivery_id}/replay", operation_id="replay_webhook_delivery",
             status_code=202)
def replay_delivery(delivery_id: PathId, session: SessionDep,
                    principal: PrincipalDep) -> WebhookDeliveryOut:
    """Queue the same event again as a new message (new webhook-id); sent within a second."""
    return _delivery_out(deliveries.replay_delivery(session, principal, delivery_id))
