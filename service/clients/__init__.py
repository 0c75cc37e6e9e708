"""Clients of an organisation, upserted by the practice-management system's external id."""

from __future__ import annotations

import datetime as dt
import re
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
    """What must never leave the service: the client's known identifiers, the date of birth
    in every spelling a clinician might type it."""
    values = [client.name, client.preferred_name, client.external_id]
    if client.date_of_birth:
        values.extend(date_spellings(client.date_of_birth))
    for name in (client.name, client.preferred_name):
        values.extend(_name_parts(name or ""))
    return [v for v in values if v]


def _name_parts(name: str) -> list[str]:
    """The words of a name on their own, and the pieces of a hyphenated one ("Mary-Jane",
    "Mary" and "Jane"), two-letter ones kept ("Li Wu"); not initials, nor a lower-case
    particle beside capitalised words ("de" of "Maria de Souza")."""
    words = name.split()
    pieces = [p for w in words for p in re.split(r"[-\u2010\u2011]+", w) if p]
    capitalised = any(not p.islower() for p in pieces)
    parts = (words if len(words) > 1 else []) + (pieces if len(pieces) > 1 else [])
    return list(dict.fromkeys(
        p for p in parts if len(p) > 1 and not (capitalised and p.islower())))


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")


def date_spellings(day: dt.date) -> list[str]:
    """12 April 1987 as 1987-04-12, 12/04/1987, 4/12/87 (d/m/y and m/d/y; / - . apart;
    zero-padded or not; four- or two-digit year), 12 April 1987, April 12, 1987, 12 Apr 87,
    12th April, April 1987 and the like (month names in English, fixed rather than the
    locale's)."""
    days = {str(day.day), f"{day.day:02d}"}
    months = {str(day.month), f"{day.month:02d}"}
    years = {str(day.year), f"{day.year % 100:02d}"}
    spellings = {day.isoformat()}
    for sep in "/-.":
        for d in days:
            for m in months:
                spellings.add(sep.join((str(day.year), m, d)))  # y/m/d
                for y in years:
                    spellings.add(sep.join((d, m, y)))  # d/m/y
                    spellings.add(sep.join((m, d, y)))  # m/d/y
    suffix = "th" if 10 <= day.day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
        day.day % 10, "th")
    full = _MONTH_NAMES[day.month - 1]
    names = {full, full[:3], f"{full[:3]}."} | ({"Sept"} if day.month == 9 else set())
    for month in names:
        # the month and year, the day left out: March 1990, Mar 1990, March '90
        spellings |= {f"{month} {day.year}", f"{month}, {day.year}",
                      f"{month} '{day.year % 100:02d}"}
        for d in (*days, f"{day.day}{suffix}"):
            spellings.add(f"{d} {month}")  # the birthday, year left out: 12 April
            if month != "May":  # but "you may 3 times a week" is no birthday
                spellings.add(f"{month} {d}")
            spellings.add(f"{d} of {month}")
            for y in years:
                spellings |= {f"{d} {month} {y}", f"{d} {month}, {y}", f"{d} of {month} {y}",
                              f"{d} of {month}, {y}", f"{month} {d} {y}", f"{month} {d}, {y}"}
    return sorted(spellings)


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


def link_principal(client: Client) -> Principal:
    """Who acts through a client's link: that client, so the audit log names them."""
    return Principal(client.organisation_id, None, "client_link", client.id)


def client_for_link(session: Session, token: str) -> Client | None:
    return session.scalar(select(Client).where(Client.link_token_hash == hash_token(token)))
