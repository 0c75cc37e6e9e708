"""Sends due outbox rows, signed per Standard Webhooks, with bounded exponential backoff.

Each pass claims rows in a short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED plus a
guarded UPDATE; SQLite: the guarded UPDATE alone), sends them with no transaction open,
and records each outcome in its own transaction. A claim is a lease: a server that dies
mid-send leaves the row due again once the lease runs out, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from service import clock
from service.config import Settings, get_settings
from service.db import rowcount, transaction
from service.errors import Invalid
from service.models import WebhookDelivery, WebhookEndpoint
from service.webhooks.endpoints import check_reachable
from service.webhooks.events import DELIVERED, FAILED, PENDING

logger = logging.getLogger("homework.webhooks")
BATCH = 20
JITTER = 0.1


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    attempts: int
    url: str
    secret: str
    event_id: str
    body: str


def backoff(attempts: int, settings: Settings) -> dt.timedelta:
    """The delay after the n-th failed attempt, jittered so retries of many rows spread out."""
    schedule = settings.webhook_retry_seconds
    base = schedule[min(attempts, len(schedule)) - 1]
    return dt.timedelta(seconds=base * random.uniform(1 - JITTER, 1 + JITTER))


def max_attempts(settings: Settings) -> int:
    return len(settings.webhook_retry_seconds) + 1


def _lease(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=BATCH * settings.webhook_timeout_seconds + 30)


def _take(session: Session, row: WebhookDelivery, at: dt.datetime,
          until: dt.datetime) -> bool:
    """The guarded UPDATE: only the server that moves next_attempt_at past `at` sends."""
    won = rowcount(session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == row.id, WebhookDelivery.status == PENDING,
               WebhookDelivery.attempts == row.attempts, WebhookDelivery.next_attempt_at <= at)
        .values(next_attempt_at=until).execution_options(synchronize_session=False)
    ))
    return won == 1


def claim_due(at: dt.datetime, settings: Settings, limit: int = BATCH) -> list[Outgoing]:
    """Claim up to `limit` due rows; rows of a deleted endpoint fail instead of being sent."""
    claimed: list[Outgoing] = []
    with transaction() as session:
        rows = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= at)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
            .with_for_update(skip_locked=True)).all()
        for row in rows:
            if not _take(session, row, at, at + _lease(settings)):
                continue
            endpoint = session.get_one(WebhookEndpoint, row.endpoint_id)
            if endpoint.deleted_at is not None:
                session.execute(update(WebhookDelivery).where(WebhookDelivery.id == row.id)
                                .values(status=FAILED, last_error="endpoint deleted"))
                continue
            body = json.dumps(row.payload, separators=(",", ":"), sort_keys=True)
            claimed.append(Outgoing(row.id, row.attempts, endpoint.url, endpoint.secret,
                                    row.event_id, body))
    return claimed


def signed_headers(item: Outgoing) -> dict[str, str]:
    """Stamped with the wall clock, not the injected one: receivers check it against theirs."""
    sent_at = clock.utcnow()
    signature = Webhook(item.secret).sign(item.event_id, sent_at, item.body)
    return {"webhook-id": item.event_id, "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature, "content-type": "application/json",
            "user-agent": "homework-webhooks/1"}


def send(http: httpx.Client, item: Outgoing, *,
         may_reach_private: bool = True) -> tuple[int | None, str | None]:
    """POST once; returns (status code, error). Redirects are not followed: a 3xx fails, and
    a host that has come to resolve to a non-public address is not contacted."""
    try:
        check_reachable(item.url, may_reach_private=may_reach_private)
    except Invalid as exc:
        return None, exc.detail[:200]
    try:
        response = http.post(item.url, content=item.body.encode(), headers=signed_headers(item))
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"receiver answered {response.status_code}"


def record_outcome(item: Outgoing, status_code: int | None, error: str | None,
                   at: dt.datetime, settings: Settings) -> None:
    with transaction() as session:
        row = session.get(WebhookDelivery, item.delivery_id)
        if row is None or row.status != PENDING or row.attempts != item.attempts:
            return  # gone, or re-claimed after the lease ran out: the newer claim records
        row.attempts += 1
        row.last_status_code = status_code
        row.last_error = error
        if error is None:
            row.status, row.delivered_at = DELIVERED, at
        elif row.attempts >= max_attempts(settings):
            row.status = FAILED
        else:
            row.next_attempt_at = at + backoff(row.attempts, settings)


def deliver_due(now: dt.datetime | None = None, *, settings: Settings | None = None,
                limit: int = BATCH) -> int:
    """One pass over the due rows, synchronously; returns how many were attempted."""
    settings = settings or get_settings()
    at = now or clock.now()
    batch = claim_due(at, settings, limit)
    if not batch:
        return 0
    with httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False,
                      trust_env=False) as http:
        for item in batch:
            status_code, error = send(http, item,
                                      may_reach_private=settings.webhooks_may_reach_private)
            record_outcome(item, status_code, error, at, settings)
    return len(batch)


async def _poll(stop: asyncio.Event, settings: Settings) -> None:
    while not stop.is_set():
        attempted = 0
        try:
            attempted = await asyncio.to_thread(deliver_due, settings=settings)
        except Exception:  # a bad pass (database gone for a moment) must not end the loop
            logger.exception("a webhook dispatch pass failed")
        if attempted < BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.webhook_poll_seconds)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[None]:
    """Poll the outbox for as long as the app's lifespan lasts; the current pass finishes."""
    if not settings.webhook_dispatch:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(_poll(stop, settings))
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
