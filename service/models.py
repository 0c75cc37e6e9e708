"""The data model: every table of the service, one place for the schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column
from sqlalchemy.types import TypeDecorator

from service.clock import now
from service.db import Base


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite drops the offset and PostgreSQL answers in the session's time zone; normalising
    here keeps API timestamps RFC 3339 and the audit hash chain identical on both engines.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else _as_utc(value)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else _as_utc(value)


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _id() -> Mapped[int]:
    return mapped_column(Integer, primary_key=True, autoincrement=True)


def _created() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime(), default=now, nullable=False)


def _org() -> Mapped[int]:
    return mapped_column(ForeignKey("organisations.id"), index=True, nullable=False)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = _created()


class Clinician(Base):
    __tablename__ = "clinicians"
    id: Mapped[int] = _id()
    organisation_id: Mapped[int] = _org()
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_until_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Each session cookie carries the generation it was issued in; logging out moves it on,
    # so every copy of an earlier cookie (a stolen one too) stops working at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                                    nullable=False)
    created_at: Mapped[dt.datetime] = _created()


class LoginFailure(Base):
    """A failed login from a network address: the per-address limit counts these, so one
    address cannot try password after password across many accounts."""

    __tablename__ = "login_failures"
    id: Mapped[int] = _id()
    address: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now, index=True,
                                            nullable=False)


class ApiKey(Base):
    """A bearer key, stored as its SHA-256; a clinician key may approve, an org key never."""

    __tablename__ = "api_keys"
    id: Mapped[int] = _id()
    organisation_id: Mapped[int] = _org()
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinicians.id"))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = _created()


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("organisation_id", "external_id"),)
    id: Mapped[int] = _id()
    organisation_id: Mapped[int] = _org()
    external_id: Mapped[str] = mapped_column(String(200), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    preferred_name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    link_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = _created()


class Draft(Base):
    __tablename__ = "drafts"
    id: Mapped[int] = _id()
    organisation_id: Mapped[int] = _org()
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True, nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    request_text: Mapped[str] = mapped_column(Text, nullable=False)
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    next_session_date: Mapped[dt.date | None] = mapped_column(Date)
    template_id: Mapped[str] = mapped_column(String(100), nullable=False)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    instruction: Mapped[str | None] = mapped_column(String(500))
    # The earlier item this draft follows up (smaller, another form or cue, kept). The FK
    # closes a cycle (resources -> approvals -> drafts), so it is added after the tables
    # (use_alter), and SET NULL lets a resource row go without orphaning its follow-ups.
    follows_resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("resources.id", name="fk_drafts_follows_resource_id", use_alter=True,
                   ondelete="SET NULL"), index=True)
    current_revision: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(String(500))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    drafter: Mapped[str | None] = mapped_column(String(200))
    llm_calls: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=now, onupdate=now, nullable=False
    )


class DraftRevision(Base):
    """Immutable: an edit is a new row, never an update."""

    __tablename__ = "draft_revisions"
    __table_args__ = (UniqueConstraint("draft_id", "number"),)
    id: Mapped[int] = _id()
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True, nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    worksheet: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    author: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = _created()


class Approval(Base):
    __tablename__ = "approvals"
    id: Mapped[int] = _id()
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), unique=True, nullable=False)
    revision_id: Mapped[int] = mapped_column(ForeignKey("draft_revisions.id"), nullable=False)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    safety_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    changes_from_ai: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    approved_at: Mapped[dt.datetime] = _created()


class Resource(Base):
    """An item in the client's history; only ever created from an approval."""

    __tablename__ = "resources"
    id: Mapped[int] = _id()
    organisation_id: Mapped[int] = _org()
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True, nullable=False)
    approval_id: Mapped[int] = mapped_column(
        ForeignKey("approvals.id"), unique=True, nullable=False
    )
    content: Mapped[str] = mapped_column(Text, nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(20), default="active", nullable=False)
    created_at: Mapped[dt.datetime] = _created()


class CheckIn(Base):
    __tablename__ = "check_ins"
    id: Mapped[int] = _id()
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id"), index=True, nullable=False
    )
    check_in_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    outcome: Mapped[str] = mapped_column(String(10), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _created()


class AuditEvent(Base):
    """Append-only; each row's hash covers the previous row's hash."""

    __tablename__ = "audit_events"
    id: Mapped[int] = _id()
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    object_type: Mapped[str] = mapped_column(String(50), nullable=False)
    object_id: Mapped[str] = mapped_column(String(100), nullable=False)
    client_id: Mapped[int | None] = mapped_column(Integer, index=True)
    at: Mapped[dt.datetime] = _created()
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class IdempotencyKey(Base):
    """The first answer to a create call, replayed when a client retries with the same key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("organisation_id", "key"),)
    id: Mapped[int] = _id()
    organisation_id: Mapped[int] = _org()
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while the first is running
    response_body: Mapped[Any | None] = mapped_column(JSON)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = _created()


class WebhookEndpoint(Base):
    """A receiver of one organisation; deleting keeps the row so the delivery log stays whole."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = _id()
    organisation_id: Mapped[int] = _org()
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    events: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    secret: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = _created()
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """The outbox: written in the domain change's transaction, sent later by the dispatcher."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = _id()
    organisation_id: Mapped[int] = _org()
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id"), index=True, nullable=False
    )
    event_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(50), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True,
                                                         nullable=False)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    replay_of_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = _created()


class ImmutableRecord(Exception):
    """A change to a record that is only ever added to: a bug, never a user error."""


def _refuse(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    raise ImmutableRecord(f"{type(target).__name__} {target.id} is immutable: add a new one")


def _refuse_content_change(mapper: Mapper[Any], connection: Any, target: Resource) -> None:
    """A resource may be retired; what it holds (the approved content) never changes."""
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in ("content", "approval_id")):
        _refuse(mapper, connection, target)


# Revisions, approvals and check-ins are history: an edit is a new row. The database's
# triggers (migration 0005) refuse the same for code that bypasses the ORM.
for _model in (DraftRevision, Approval, CheckIn):
    event.listen(_model, "before_update", _refuse)
    event.listen(_model, "before_delete", _refuse)
event.listen(Resource, "before_update", _refuse_content_change)
event.listen(Resource, "before_delete", _refuse)
