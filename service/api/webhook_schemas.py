"""Request and response models of /api/v1/webhooks (the secret appears only on creation)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from service.api.schemas import Strict
from service.webhooks.events import EventType

DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookEndpointIn(Strict):
    url: str = Field(min_length=1, max_length=2000, examples=["https://pms.example.org/hooks"],
                     description="http(s) only, no credentials in the URL")
    events: list[EventType] | None = Field(
        default=None, min_length=1, description="Events to receive; omitted: all of them")


class WebhookEndpointOut(BaseModel):
    id: int
    url: str
    events: list[str]
    created_by: str
    created_at: dt.datetime


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(description="`whsec_...`; shown only in this response, keep it safe")


class WebhookDeliveryOut(BaseModel):
    id: int
    endpoint_id: int
    event_id: str = Field(description="The `webhook-id` header of this delivery")
    event_type: str
    payload: dict[str, Any] = Field(description="`{type, timestamp, data}`; data holds ids only")
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    replay_of_id: int | None
    created_at: dt.datetime
