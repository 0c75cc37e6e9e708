"""The client's own view, by an unguessable revocable link: approved resources only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from service import history
from service.api.convert import resource_out
from service.api.deps import SessionDep
from service.api.schemas import CheckInIn, CheckInOut, PathId, ResourceOut
from service.clients import client_for_link, link_principal
from service.errors import NotFound
from service.models import Client, Resource

router = APIRouter(prefix="/api/v1/client-view", tags=["client view"])
Token = Annotated[str, Path(max_length=200)]


def _client(session: SessionDep, token: str) -> Client:
    client = client_for_link(session, token)
    if client is None:
        raise NotFound("this link is not valid (it may have been revoked)")
    return client


@router.get("/{token}/resources", operation_id="client_view_resources")
def client_resources(token: Token, session: SessionDep) -> list[ResourceOut]:
    client = _client(session, token)
    views = history.list_resources(session, link_principal(client), client, limit=200)
    return [resource_out(v, for_client=True) for v in views]


@router.post("/{token}/resources/{resource_id}/check-ins", operation_id="client_view_check_in",
             status_code=201)
def client_check_in(token: Token, resource_id: PathId, body: CheckInIn,
                    session: SessionDep) -> CheckInOut:
    client = _client(session, token)
    resource = session.get(Resource, resource_id)
    if resource is None or resource.client_id != client.id:
        raise NotFound(f"resource {resource_id} not found")
    row = history.record_check_in(session, link_principal(client), resource, **body.model_dump())
    return CheckInOut(id=row.id, check_in_date=row.check_in_date, outcome=row.outcome,
                      note=row.note)
