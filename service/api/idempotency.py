"""Idempotency-Key on create calls: a retry gets the first answer instead of a second effect.

The key is reserved by an INSERT in the same transaction as the work it guards, so the
work and its stored answer commit together or not at all; a failed call stores nothing and
may be retried with the same key. A concurrent duplicate waits on the unique (organisation,
key) index and then replays the winner's answer rather than doing the work again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import audit
from service.api.deps import PrincipalDep
from service.auth.principal import Principal
from service.db import transaction
from service.errors import Conflict, Invalid
from service.models import IdempotencyKey

MAX_KEY_LENGTH = 200
HEADER = "Idempotency-Key"
KEPT_HEADERS = ("location",)
DESCRIPTION = (
    "Any unique string (a UUID is ideal), at most 200 visible ASCII characters. Retrying "
    "with the same key and the same body from the same credential returns the first "
    "response (status, body, Location) without doing the work again, marked "
    "`Idempotent-Replayed: true`; the same key with a different request is refused with 422. "
    "Only successful responses are kept, so a failed call can be retried with its key."
)
Model = TypeVar("Model", bound=BaseModel)


class Replayed(Exception):
    """Raised to skip the route: the stored first answer is sent instead."""

    def __init__(self, row: IdempotencyKey) -> None:
        super().__init__("replayed")
        self.status_code = row.status_code or 200
        self.body = row.response_body
        self.headers = {**(row.response_headers or {}), "Idempotent-Replayed": "true"}


@dataclass(frozen=True)
class Idempotency:
    principal: Principal
    key: str | None
    fingerprint: str
    default_status: int

    def claim(self, session: Session) -> None:
        """Reserve the key in this transaction, or raise Replayed with the first answer."""
        if self.key is None:
            return
        row = self._find(session) or self._reserve(session)
        if row is not None:
            self._refuse_or_replay(row)

    def save(self, session: Session, response: Response, body: Model) -> Model:
        """Keep the answer beside the work, in the same transaction; returns body unchanged."""
        if self.key is None:
            return body
        row = self._find(session)
        if row is None:  # the reservation is in this transaction; missing means a bug
            raise Conflict("the Idempotency-Key reservation was lost; retry the request")
        row.status_code = response.status_code or self.default_status
        row.response_body = body.model_dump(mode="json")
        row.response_headers = {k: v for k in KEPT_HEADERS if (v := response.headers.get(k))}
        session.flush()
        return body

    def _find(self, session: Session) -> IdempotencyKey | None:
        return session.scalar(select(IdempotencyKey).where(
            IdempotencyKey.organisation_id == self.principal.organisation_id,
            IdempotencyKey.key == self.key))

    def _reserve(self, session: Session) -> IdempotencyKey | None:
        """None when this request now holds the key; the concurrent winner's row otherwise."""
        assert self.key is not None
        session.add(IdempotencyKey(organisation_id=self.principal.organisation_id,
                                   key=self.key, fingerprint=self.fingerprint))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()  # nothing else was written yet: the reservation comes first
            winner = self._find(session)
            if winner is None:
                raise Conflict("a request with this Idempotency-Key failed just now; "
                               "retry it") from None
            return winner
        return None

    def _refuse_or_replay(self, row: IdempotencyKey) -> None:
        if row.fingerprint != self.fingerprint:
            raise Invalid(f"this {HEADER} was already used for a different request (another "
                          "body, path or credential); use a new key for a new request",
                          field=HEADER)
        if row.status_code is None:
            raise Conflict(f"the first request with this {HEADER} is still being processed; "
                           "retry shortly")
        with transaction() as session:  # the route's own transaction is rolled back
            audit.record(session, self.principal, "request.replayed", "idempotency_key",
                         row.id)
        raise Replayed(row)


def fingerprint(actor: str, method: str, path: str, body: bytes) -> str:
    """Same JSON in another key order or spacing is the same request."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("latin-1")
    return hashlib.sha256("\n".join([actor, method, path, canonical]).encode()).hexdigest()


async def _idempotency(
    request: Request, principal: PrincipalDep,
    key: Annotated[str | None, Header(alias=HEADER, min_length=1, max_length=MAX_KEY_LENGTH,
                                      pattern=r"^[\x21-\x7e]+$",
                                      description=DESCRIPTION)] = None,
) -> Idempotency:
    body = await request.body()
    route = request.scope.get("route")
    return Idempotency(principal=principal, key=key,
                       fingerprint=fingerprint(principal.actor, request.method,
                                               request.url.path, body),
                       default_status=getattr(route, "status_code", None) or 200)


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]


def install(app: FastAPI) -> None:
    @app.exception_handler(Replayed)
    async def _replay(_: Request, exc: Replayed) -> Response:
        return JSONResponse(exc.body, status_code=exc.status_code, headers=exc.headers)
