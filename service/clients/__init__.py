"""Clients of an organisation, upserted by the practice-management system's external id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import audit
from service.auth.credentials import hash_token, new_token
from service.auth.principal import Principal
from service.models import Client
from service.scope import load


def upsert_client(
    session: Session, principal: Principal, *, external_id: str, name: str,
    preferred_name: str | None = None, date_of_birth: dt.date | None = None,
) -> tuple[Client, bool]:
    """Create or update by external id; returns (client, created). Two systems sending the
    same new client at once: the loser's insert meets the unique key and it updates."""
    client = _by_external_id(session, principal, external_id)
    created = client is None
    if client is None:
        try:
            with session.begin_nested():
                client = Client(organisation_id=principal.organisation_id,
                                external_id=external_id, name=name)
                session.add(client)
        except IntegrityError:
            client, created = _by_external_id(session, principal, external_id), False
            if client is None:
                raise
    client.name = name
    client.preferred_name = preferred_name
    client.date_of_birth = date_of_birth
    session.flush()
    audit.record(session, principal, "client.created" if created else "client.updated",
                 "client", client.id, client_id=client.id)
    return client, created


def _by_external_id(session: Session, principal: Principal, external_id: str) -> Client | None:
    return session.scalar(select(Client).where(
        Client.organisation_id == principal.organisation_id, Client.external_id == external_id))


def get_client(session: Session, principal: Principal, client_id: int) -> Client:
    client = load(session, principal, Client, client_id)
    audit.record(session, principal, "client.read", "client", client.id, client_id=client.id)
    return client


def list_clients(session: Session, principal: Principal, *, after: int = 0,
                 limit: int = 50, ids: Collection[int] | None = None) -> list[Client]:
    """The organisation's clients by id; `ids` narrows the page to those a view shows, so
    only they are audited as read."""
    query = select(Client).where(Client.organisation_id == principal.organisation_id,
                                 Client.id > after)
    if ids is not None:
        query = query.where(Client.id.in_(ids))
    rows = list(session.scalars(query.order_by(Client.id).limit(limit)))
    audit.list_read(session, principal, "client.list", "client", [(c.id, c.id) for c in rows])
    return rows


def identifiers(client: Client) -> list[str]:
    """What must never leave the service: the client's known identifiers."""
    values = [client.name, client.preferred_name, client.external_id]
    if client.date_of_birth:
        values.append(client.date_of_birth.isoformat())
    values.extend(part for part in client.name.split() if len(part) > 2)
    return [v for v in values if v]


def issue_client_link(session: Session, principal: Principal, client_id: int) -> str:
    """A new unguessable token replaces (and so revokes) any earlier link."""
    client = load(session, principal, Client, client_id)
    token = new_token("cl")
    client.link_token_hash = hash_token(token)
    audit.record(session, principal, "client_link.issued", "client", client.id,
                 client_id=client.id)
    return token


def revoke_client_link(session: Session, principal: Principal, client_id: int) -> None:
    client = load(session, principal, Client, client_id)
    client.link_token_hash = None
    audit.record(session, principal, "client_link.revoked", "client", client.id,
                 client_id=client.id)


def client_for_link(session: Session, token: str) -> Client | None:
    return session.scalar(select(Client).where(Client.link_token_hash == hash_token(token)))
