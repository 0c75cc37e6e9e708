"""Every API route that reads or changes client data writes an audit event naming the caller
(actor) and the client; the routes that touch no client record are listed with the reason.

It walks the same route list and builds the same per-cell objects as the access matrix
(`tests/test_access_matrix.py`), for every kind of caller: an allowed call must write its
events, attributed to the caller and the client; a refused call must not be logged as the
read or change it was refused. After the whole walk the hash chain must still verify.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from service import audit
from service.cli import main
from service.clients import client_for_link
from service.db import transaction
from service.models import AuditEvent
from tests.test_access_matrix import CALLERS, MATRIX, NEEDS, Cell, World, _call, _cells
from tests.test_access_matrix import world as world  # the matrix's fixture, used by name


@dataclass(frozen=True)
class Audited:
    """The events an allowed call must write.

    `client`: whose client the events must name: "cell" (the cell's own client), "created"
    (the client the call returned), "listed" (a list read: one event per row, the cell's
    client among them) or None (organisation records, no client: webhook management).
    `needs`: cell objects to build before the call, so they are not built (and audited)
    inside it and a list has the cell's row to show."""

    actions: tuple[str, ...]
    client: str | None = "cell"
    needs: tuple[str, ...] = ()


AUDITED: dict[tuple[str, str], Audited] = {
    ("PUT", "/api/v1/clients"): Audited(("client.created",), client="created"),
    ("GET", "/api/v1/clients"): Audited(("client.list",), client="listed", needs=("client",)),
    ("GET", "/api/v1/clients/{client_id}"): Audited(("client.read",)),
    ("POST", "/api/v1/clients/{client_id}/link"): Audited(("client_link.issued",)),
    ("DELETE", "/api/v1/clients/{client_id}/link"): Audited(("client_link.revoked",)),
    ("GET", "/api/v1/clients/{client_id}/resources"): Audited(("resource.list",)),
    ("POST", "/api/v1/drafts"): Audited(("draft.created", "draft.read"), needs=("client",)),
    ("GET", "/api/v1/drafts"): Audited(("draft.list",), client="listed", needs=("draft",)),
    ("GET", "/api/v1/drafts/{draft_id}"): Audited(("draft.read",)),
    ("PATCH", "/api/v1/drafts/{draft_id}"): Audited(("draft.edited", "draft.read")),
    ("POST", "/api/v1/drafts/{draft_id}/redraft"): Audited(("draft.redraft_requested",
                                                            "draft.read")),
    ("POST", "/api/v1/drafts/{draft_id}/approve"): Audited(("draft.approved",
                                                           "resource.created")),
    ("POST", "/api/v1/drafts/{draft_id}/reject"): Audited(("draft.rejected",)),
    ("GET", "/api/v1/drafts/{draft_id}/revisions"): Audited(("draft.read",)),
    ("GET", "/api/v1/resources/{resource_id}"): Audited(("resource.read",)),
    ("POST", "/api/v1/resources/{resource_id}/check-ins"): Audited(("check_in.created",)),
    ("POST", "/api/v1/resources/{resource_id}/retire"): Audited(("resource.retired",)),
    ("GET", "/api/v1/resources/{resource_id}/fhir"): Audited(("resource.exported.fhir",)),
    ("GET", "/api/v1/resources/{resource_id}/pdf"): Audited(("resource.exported.pdf",)),
    ("GET", "/api/v1/resources/{resource_id}/ics"): Audited(("resource.exported.ics",)),
    ("GET", "/api/v1/client-view/{token}/resources"): Audited(("resource.list",)),
    ("POST", "/api/v1/client-view/{token}/resources/{resource_id}/check-ins"): Audited(
        ("check_in.created",)),
    # Webhook management holds no client record (payloads are ids only), but it is the
    # organisation's configuration and its delivery log: audited, with no client.
    ("POST", "/api/v1/webhooks/endpoints"): Audited(("webhook_endpoint.created",), client=None),
    ("GET", "/api/v1/webhooks/endpoints"): Audited(("webhook_endpoint.list",), client=None),
    ("DELETE", "/api/v1/webhooks/endpoints/{endpoint_id}"): Audited(
        ("webhook_endpoint.deleted",), client=None),
    ("GET", "/api/v1/webhooks/deliveries"): Audited(("webhook_delivery.list",), client=None),
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/replay"): Audited(
        ("webhook_delivery.replayed",), client=None),
}

_CATALOG = "reads the template catalog only; no client record, no credential needed"
_DOCS = "the API's own documentation; no data"
EXEMPT: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/templates"): _CATALOG,
    ("GET", "/api/v1/templates/{template_id}"): _CATALOG,
    ("GET", "/api/v1/templates/{template_id}/printable"): _CATALOG,
    ("POST", "/api/v1/templates/select"): "ranks templates for the text it is sent; stores "
                                          "nothing and reads no client record",
    ("POST", "/api/v1/worksheets/validate"): "judges the worksheet it is sent; stores nothing "
                                             "and reads no client record",
    ("GET", "/openapi.json"): _DOCS,
    ("GET", "/docs"): _DOCS,
    ("GET", "/docs/oauth2-redirect"): _DOCS,
    ("GET", "/redoc"): _DOCS,
}

# Events a call causes that are the service's own work, not the caller's: the drafter
# writing the revision (create and re-draft draft in the request, then record it as system).
SYSTEM_ACTIONS = {"draft.drafted"}
# What a link holder does is recorded as that client's link ("client_link:<client id>").
LINK_ACTOR = "client_link"


def _caller(world: World, caller: str) -> tuple[str, int]:
    """(actor, organisation) an allowed call of this caller must be recorded under."""
    own, other = world.tenant, world.other_tenant
    return {"own_clinician": (f"clinician:{own.clinician_id}", own.organisation_id),
            "integration": (f"integration:{own.organisation_id}", own.organisation_id),
            "other_org": (f"clinician:{other.clinician_id}", other.organisation_id),
            "other_integration": (f"integration:{other.organisation_id}",
                                  other.organisation_id),
            "own_link": (LINK_ACTOR, own.organisation_id),
            "other_link": (LINK_ACTOR, other.organisation_id)}[caller]


def test_every_route_is_audited_or_exempt_with_a_reason(app):
    served = {(method, path) for method, path, _ in _cells(app)}
    both = sorted(set(AUDITED) & set(EXEMPT))
    assert not both, f"routes both audited and exempt: {both}"
    unclassified = sorted(served - set(AUDITED) - set(EXEMPT))
    assert not unclassified, f"routes neither audited nor exempt (classify them): {unclassified}"
    stale = sorted((set(AUDITED) | set(EXEMPT)) - served)
    assert not stale, f"rows for routes the app no longer serves: {stale}"
    assert all(reason.strip() for reason in EXEMPT.values())
    assert not [key for key in EXEMPT if "{client_id}" in key[1] or "{draft_id}" in key[1]
                or "{resource_id}" in key[1] or "{token}" in key[1]], (
        "a route naming a client's object cannot be exempt")


def _client_of_link(token: str) -> int:
    with transaction() as session:
        linked = client_for_link(session, token)
        assert linked is not None, "a link the matrix made is live"
        return linked.id


def _newest_id() -> int:
    with transaction() as session:
        return session.scalar(select(func.max(AuditEvent.id))) or 0


def _events_after(event_id: int) -> list[AuditEvent]:
    with transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.id > event_id)
                                    .order_by(AuditEvent.id)))


def _prepare(cell: Cell, path: str, op: str, row: Audited | None) -> None:
    """Build every object the call will use, so its own events are the only new ones."""
    for name in re.findall(r"\{(\w+)\}", path):
        cell.param(name)
    for name in (*NEEDS.get(op, ()), *(row.needs if row else ())):
        getattr(cell, name)


def _check_allowed(cell: Cell, row: Audited, response: Any, events: list[AuditEvent],
                   label: str) -> list[str]:
    actor, org = _caller(cell.world, cell.caller)
    if actor == LINK_ACTOR:
        actor = f"{LINK_ACTOR}:{_client_of_link(cell.token)}"
    problems = []
    own = [e for e in events if e.action not in SYSTEM_ACTIONS]
    missing = [a for a in row.actions if a not in {e.action for e in own}]
    if missing:
        problems.append(f"{label}: no {missing} event (wrote {[e.action for e in events]})")
    for e in own:
        if e.actor != actor:
            problems.append(f"{label}: {e.action} attributed to {e.actor}, not {actor}")
        if e.organisation_id != org:
            problems.append(f"{label}: {e.action} in organisation {e.organisation_id}")
    return problems + _check_client(cell, row, response, events, own, label)


def _check_client(cell: Cell, row: Audited, response: Any, events: list[AuditEvent],
                  own: list[AuditEvent], label: str) -> list[str]:
    """The events name the client the call touched (or none, for organisation records)."""
    problems = []
    outsider = _caller(cell.world, cell.caller)[1] != cell.world.tenant.organisation_id
    if row.client is None:
        named = [e.client_id for e in own if e.client_id is not None]
        return [f"{label}: names clients {named} it did not touch"] if named else []
    if row.client == "created":
        expected = response.json()["id"]
    elif cell.caller in ("own_link", "other_link"):
        expected = _client_of_link(cell.token)  # the link holder's own client
    else:
        expected = cell.client["id"]
    if row.client == "listed":
        listed = {e.client_id for e in own if e.action in row.actions}
        if outsider and expected in listed:
            problems.append(f"{label}: another organisation's list names client {expected}")
        elif not outsider and expected not in listed:
            problems.append(f"{label}: the list showed client {expected} but no event names it")
        # an empty page is one `*` event with no client; a row shown always names its client
        unnamed = [e.action for e in own if e.client_id is None and e.object_id != "*"]
        if unnamed:
            problems.append(f"{label}: list events with no client: {unnamed}")
    else:
        wrong = [(e.action, e.client_id) for e in events if e.client_id != expected]
        if wrong:
            problems.append(f"{label}: events not naming client {expected}: {wrong}")
    return problems


def test_every_client_data_route_writes_an_attributable_event(app, client, world, capsys):
    """All routes × all callers; then `homework audit verify` over everything written."""
    failures: list[str] = []
    checked: set[tuple[str, str]] = set()
    for caller in CALLERS:
        for method, path, op in _cells(app):
            key = (method, path)
            row = AUDITED.get(key)
            cell = Cell(client, world, caller)
            _prepare(cell, path, op, row)
            before = _newest_id()
            response = _call(cell, method, path, op)
            events = _events_after(before)
            label = f"{method} {path} [{caller}] → {response.status_code}"
            if response.status_code != MATRIX[key][caller]:
                failures.append(f"{label}: expected {MATRIX[key][caller]} (access matrix)")
                continue
            if row is None:
                continue  # exempt: touches no client record
            if response.is_success:
                failures.extend(_check_allowed(cell, row, response, events, label))
                checked.add(key)
            else:
                logged = [e.action for e in events if e.action in row.actions]
                if logged:
                    failures.append(f"{label}: refused, yet logged as done: {logged}")
    assert not failures, "\n".join(failures)
    # every audited route was allowed (and so checked) for at least one caller
    assert checked == set(AUDITED), sorted(set(AUDITED) - checked)

    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) > len(checked)
        assert audit.verify(session) == []
    capsys.readouterr()
    main(["audit", "verify"])
    assert capsys.readouterr().out.strip() == "audit log intact"
