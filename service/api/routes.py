"""Routes of /api/v1: parse, call one domain service, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query, Response
from starlette.concurrency import run_in_threadpool

from service import clients, history
from service.api.convert import client_out, draft_out, page, resource_out, revision_out
from service.api.deps import PrincipalDep, SessionDep, SettingsDep
from service.api.idempotency import Idempotency, IdempotencyDep
from service.api.schemas import (
    MAX_ID,
    ApproveIn,
    CheckInIn,
    CheckInOut,
    ClientIn,
    ClientOut,
    DraftIn,
    DraftOut,
    EditIn,
    LinkOut,
    Page,
    PathId,
    RedraftIn,
    RejectIn,
    ResourceOut,
    RevisionOut,
)
from service.auth.principal import Principal
from service.db import transaction
from service.errors import Invalid
from service.models import Resource
from service.scope import load
from service.workflow import approval, drafts, queue
from service.workflow.states import DraftStatus

router = APIRouter(prefix="/api/v1")
Cursor = Annotated[str | None, Query(description="next_cursor from the previous page")]
Limit = Annotated[int, Query(ge=1, le=200)]
ClientFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_ID:
        raise Invalid("cursor is not one this API issued", field="cursor")
    return int(cursor)


@router.put("/clients", operation_id="upsert_client", tags=["clients"])
def upsert_client(body: ClientIn, session: SessionDep, principal: PrincipalDep,
                  response: Response, idempotency: IdempotencyDep) -> ClientOut:
    idempotency.claim(session)
    client, created = clients.upsert_client(session, principal, **body.model_dump())
    response.status_code = 201 if created else 200
    return idempotency.save(session, response, client_out(client))


@router.get("/clients", operation_id="list_clients", tags=["clients"])
def list_clients(session: SessionDep, principal: PrincipalDep, cursor: Cursor = None,
                 limit: Limit = 50) -> Page[ClientOut]:
    rows = clients.list_clients(session, principal, after=_cursor(cursor) or 0, limit=limit)
    return page([client_out(c) for c in rows], rows[-1].id if rows else None, limit)


@router.get("/clients/{client_id}", operation_id="get_client", tags=["clients"])
def get_client(client_id: PathId, session: SessionDep, principal: PrincipalDep) -> ClientOut:
    return client_out(clients.get_client(session, principal, client_id))


@router.post("/clients/{client_id}/link", operation_id="issue_client_link", tags=["clients"],
             status_code=201)
def issue_link(client_id: PathId, session: SessionDep, principal: PrincipalDep) -> LinkOut:
    token = clients.issue_client_link(session, principal, client_id)
    return LinkOut(url=f"/c/{token}", token=token)


@router.delete("/clients/{client_id}/link", operation_id="revoke_client_link", tags=["clients"],
               status_code=204)
def revoke_link(client_id: PathId, session: SessionDep, principal: PrincipalDep) -> None:
    clients.revoke_client_link(session, principal, client_id)


@router.post("/drafts", operation_id="create_draft", tags=["drafts"], status_code=201,
             responses={202: {"description": "Accepted; poll the Location"}})
async def create_draft(body: DraftIn, principal: PrincipalDep, settings: SettingsDep,
                       response: Response, background: BackgroundTasks,
                       idempotency: IdempotencyDep,
                       prefer: Annotated[str | None, Header()] = None) -> DraftOut:
    """The key is reserved with the stored request; the answer is kept once drafting ends.

    Async so that a slow LLM holds no worker thread; every transaction runs in the
    threadpool, never on the event loop.
    """
    draft_id = await run_in_threadpool(_store_request, body, principal, idempotency)
    if prefer and "respond-async" in prefer:
        await run_in_threadpool(queue.enqueue_drafting, draft_id, settings, background)
        response.status_code = 202
        response.headers["Location"] = f"/api/v1/drafts/{draft_id}"
    else:
        await drafts.run_drafting(draft_id, settings)
    return await run_in_threadpool(_answer, principal, draft_id, idempotency, response)


def _store_request(body: DraftIn, principal: Principal, idempotency: Idempotency) -> int:
    with transaction() as session:
        idempotency.claim(session)
        return drafts.create_draft(
            session, principal, client_id=body.client_id, request_text=body.request,
            preferences=body.preferences, next_session_date=body.next_session_date,
            template_id=body.template_id).id


def _answer(principal: Principal, draft_id: int, idempotency: Idempotency,
            response: Response) -> DraftOut:
    with transaction() as session:
        out = draft_out(session, drafts.get_draft(session, principal, draft_id))
        return idempotency.save(session, response, out)


@router.get("/drafts", operation_id="list_drafts", tags=["drafts"])
def list_drafts(session: SessionDep, principal: PrincipalDep, client_id: ClientFilter = None,
                status: DraftStatus | None = None, cursor: Cursor = None,
                limit: Limit = 50) -> Page[DraftOut]:
    rows = drafts.list_drafts(session, principal, client_id=client_id,
                              statuses=None if status is None else [status.value],
                              after=_cursor(cursor), limit=limit)
    return page([draft_out(session, d) for d in rows], rows[-1].id if rows else None, limit)


@router.get("/drafts/{draft_id}", operation_id="get_draft", tags=["drafts"])
def get_draft(draft_id: PathId, session: SessionDep, principal: PrincipalDep) -> DraftOut:
    return draft_out(session, drafts.get_draft(session, principal, draft_id))


@router.patch("/drafts/{draft_id}", operation_id="edit_draft", tags=["drafts"])
def edit_draft(draft_id: PathId, body: EditIn, session: SessionDep,
               principal: PrincipalDep) -> DraftOut:
    drafts.edit_draft(session, principal, draft_id, base_revision=body.base_revision,
                      worksheet=body.worksheet)
    return draft_out(session, drafts.get_draft(session, principal, draft_id))


@router.post("/drafts/{draft_id}/redraft", operation_id="redraft", tags=["drafts"])
async def redraft(draft_id: PathId, body: RedraftIn, principal: PrincipalDep,
                  settings: SettingsDep) -> DraftOut:
    """Re-draft on another template or with an instruction; also retries a failed draft."""
    await run_in_threadpool(_store_redraft, principal, draft_id, body)
    await drafts.run_drafting(draft_id, settings)
    return await run_in_threadpool(_read_draft, principal, draft_id)


def _store_redraft(principal: Principal, draft_id: int, body: RedraftIn) -> None:
    with transaction() as session:
        drafts.request_redraft(session, principal, draft_id, template_id=body.template_id,
                               instruction=body.instruction)


def _read_draft(principal: Principal, draft_id: int) -> DraftOut:
    with transaction() as session:
        return draft_out(session, drafts.get_draft(session, principal, draft_id))


@router.post("/drafts/{draft_id}/approve", operation_id="approve_draft", tags=["drafts"],
             status_code=201)
def approve(draft_id: PathId, body: ApproveIn, session: SessionDep,
            principal: PrincipalDep) -> ResourceOut:
    resource = approval.approve_revision(session, principal, draft_id, revision=body.revision,
                                         safety_acknowledged=body.safety_acknowledged)
    return resource_out(history.get_resource(session, principal, resource.id))


@router.post("/drafts/{draft_id}/reject", operation_id="reject_draft", tags=["drafts"])
def reject(draft_id: PathId, body: RejectIn, session: SessionDep,
           principal: PrincipalDep) -> DraftOut:
    return draft_out(session, drafts.reject_draft(session, principal, draft_id,
                                                  reason=body.reason))


@router.get("/drafts/{draft_id}/revisions", operation_id="list_revisions", tags=["drafts"])
def list_revisions(draft_id: PathId, session: SessionDep,
                   principal: PrincipalDep) -> list[RevisionOut]:
    draft = drafts.get_draft(session, principal, draft_id)
    return [revision_out(r) for r in drafts.revisions(session, draft)]


@router.get("/clients/{client_id}/resources", operation_id="list_resources", tags=["history"])
def list_resources(client_id: PathId, session: SessionDep, principal: PrincipalDep,
                   cursor: Cursor = None, limit: Limit = 50) -> Page[ResourceOut]:
    views = history.client_resources(session, principal, client_id,
                                     after=_cursor(cursor) or 0, limit=limit)
    return page([resource_out(v) for v in views], views[-1].resource.id if views else None,
                limit)


@router.get("/resources/{resource_id}", operation_id="get_resource", tags=["history"])
def get_resource(resource_id: PathId, session: SessionDep, principal: PrincipalDep) -> ResourceOut:
    return resource_out(history.get_resource(session, principal, resource_id))


@router.post("/resources/{resource_id}/check-ins", operation_id="create_check_in",
             tags=["history"], status_code=201)
def check_in(resource_id: PathId, body: CheckInIn, session: SessionDep,
             principal: PrincipalDep, response: Response,
             idempotency: IdempotencyDep) -> CheckInOut:
    idempotency.claim(session)
    resource = load(session, principal, Resource, resource_id)
    row = history.record_check_in(session, principal, resource, **body.model_dump())
    return idempotency.save(session, response, CheckInOut(
        id=row.id, check_in_date=row.check_in_date, outcome=row.outcome, note=row.note))


@router.post("/resources/{resource_id}/retire", operation_id="retire_resource",
             tags=["history"])
def retire(resource_id: PathId, session: SessionDep, principal: PrincipalDep) -> ResourceOut:
    history.retire_resource(session, principal, resource_id)
    return resource_out(history.get_resource(session, principal, resource_id))
