"""Append-only audit log of every read and change of client data, chained by hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from types import SimpleNamespace

from sqlalchemy import event as orm_event
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.clock import now
from service.db import hold_write_lock
from service.models import AuditEvent

GENESIS = "0" * 64
_PENDING = "audit_pending"


def _digest(prev_hash: str, event: AuditEvent | SimpleNamespace) -> str:
    body = json.dumps(
        [prev_hash, event.organisation_id, event.actor, event.action, event.object_type,
         event.object_id, event.client_id, event.at.replace(tzinfo=None).isoformat()],
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _newest(session: Session) -> AuditEvent | None:
    return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()


def record(
    session: Session, principal: Principal | None, action: str, object_type: str,
    object_id: object, *, client_id: int | None = None, organisation_id: int | None = None,
) -> None:
    """One event (actor, action, object id; never PHI content) in the caller's transaction."""
    record_each(session, principal, action, object_type, [(object_id, client_id)],
                organisation_id=organisation_id)


def record_each(
    session: Session, principal: Principal | None, action: str, object_type: str,
    objects: Sequence[tuple[object, int | None]], *, organisation_id: int | None = None,
) -> None:
    """One event per (object id, client id): a list read is then attributable to every
    client whose data it returned.

    The events are appended when the transaction commits (`_append_pending`), not now: the
    chain's lock is then held for the append and the commit only, instead of from the first
    read of a request to its end, which made every review read wait for the one before it.
    They are still in the request's own transaction, so a read whose audit cannot be
    written fails with it.
    """
    org = organisation_id or (principal.organisation_id if principal else None)
    actor = principal.actor if principal else "system"
    session.info.setdefault(_PENDING, []).extend(
        (org, actor, action, object_type, str(object_id), client_id)
        for object_id, client_id in objects)


def lock_chain(session: Session) -> None:
    """Serialise appends to the chain: each reads the newest hash, then links to it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7301)"))
    else:  # SQLite: no other writer of this process may append between our read and write
        hold_write_lock(session)


@orm_event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    lock_chain(session)
    # Core statements on the session's connection: the ORM's unit of work is not needed to
    # append rows nothing else in the request reads (the review page profile showed it).
    connection = session.connection()
    prev_hash = connection.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc())
                                  .limit(1)) or GENESIS
    at = now()
    rows = []
    for org, actor, action, object_type, object_id, client_id in pending:
        row = {"organisation_id": org, "actor": actor, "action": action,
               "object_type": object_type, "object_id": object_id, "client_id": client_id,
               "at": at, "prev_hash": prev_hash}
        row["hash"] = prev_hash = _digest(prev_hash, SimpleNamespace(**row))
        rows.append(row)
    connection.execute(insert(AuditEvent), rows)


@orm_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    """Rolled back work was not done, and reads in it were not shown: nothing to log."""
    session.info.pop(_PENDING, None)


def list_read(session: Session, principal: Principal, action: str, object_type: str,
              objects: Sequence[tuple[object, int | None]]) -> None:
    """Audit a list read: an event per row returned, or one `*` event for an empty page."""
    record_each(session, principal, action, object_type, objects or [("*", None)])


def head(session: Session) -> str | None:
    """`id:hash` of the newest event. Kept outside the database (a ticket, a WORM bucket),
    it lets `verify` notice what the chain alone cannot: newest rows deleted, or the whole
    log replaced by a consistent forgery."""
    last = _newest(session)
    return f"{last.id}:{last.hash}" if last else None


def verify(session: Session, anchor: str | None = None) -> list[str]:
    """Return one problem per broken link (edited, inserted or deleted rows), and one if the
    anchor (an earlier `head`) is no longer in the chain; empty if intact."""
    problems: list[str] = []
    prev_hash = GENESIS
    anchor_id, _, anchor_hash = (anchor or "").partition(":")
    anchor_found = anchor is None
    for row in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if row.prev_hash != prev_hash:
            problems.append(f"event {row.id}: link broken (a row was deleted or inserted)")
        if _digest(row.prev_hash, row) != row.hash:
            problems.append(f"event {row.id}: content does not match its hash (edited)")
        if str(row.id) == anchor_id:
            anchor_found = row.hash == anchor_hash
        prev_hash = row.hash
    if not anchor_found:
        problems.append(f"anchor {anchor_id}: not in the chain with that hash (newest events "
                        "deleted or the log replaced)")
    return problems


def list_events(
    session: Session, *, client_id: int | None = None, actor: str | None = None,
    since: dt.datetime | None = None, until: dt.datetime | None = None,
    organisation_id: int | None = None, limit: int = 1000,
) -> Sequence[AuditEvent]:
    """An administrator's view of who touched what, oldest first; filters combine with AND."""
    query = select(AuditEvent).order_by(AuditEvent.id).limit(limit)
    if client_id is not None:
        query = query.where(AuditEvent.client_id == client_id)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if organisation_id is not None:
        query = query.where(AuditEvent.organisation_id == organisation_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    return session.scalars(query).all()
