"""Faults lose nothing: a failing LLM, the database going away mid-request and coming back,
and two clinicians racing on one draft. Every request ends in a clear status, nothing is
half-written, the clinician's request is kept, and the next request works.

The database faults are real, not mocked: on PostgreSQL the request's backend is killed
with `pg_terminate_backend` from a second connection; on SQLite the request's connection
is closed under it. Races run in threads, each with its own session, and are forced into
their worst interleaving (both read before either writes) by a hook on the draft's SELECT.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url

from service import audit
from service.auth import credentials
from service.auth.principal import Principal
from service.config import get_settings
from service.db import get_engine, transaction
from service.errors import Conflict
from service.models import Approval, AuditEvent, Clinician, Draft, DraftRevision, Resource
from service.workflow import approval, drafts
from service.worksheet import Preferences, Worksheet
from tests.factories import (
    PORCH_REQUEST,
    Tenant,
    drafted,
    make_client,
    make_draft,
    web_sign_in,
)
from tests.llm_fakes import LLM_URL, good_answer, openai_body, pipeline_llm
from tests.test_workflow import _fix_errors

ON_POSTGRES = get_engine().dialect.name == "postgresql"
HANG_GUARD_SECONDS = 30  # only ever reached if an interleaving can never happen (a bug)


# --- helpers: a second connection, killing the request's, refusing new ones -------------


def _admin() -> Any:
    """A plain psycopg connection outside the app's pool (PostgreSQL only)."""
    import psycopg

    url = make_url(str(get_engine().url.render_as_string(hide_password=False)))
    return psycopg.connect(url.set(drivername="postgresql").render_as_string(
        hide_password=False), autocommit=True)


def _terminate_all_other_backends() -> int:
    """The database goes away: every connection to it but this one is killed."""
    with _admin() as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    return len(rows)


def _kill(dbapi_connection: Any, dialect: str) -> None:
    if dialect == "postgresql":
        _terminate_all_other_backends()  # the request's backend among them
    else:
        dbapi_connection.close()  # SQLite: the connection is gone under the request


@contextlib.contextmanager
def database_lost_at(statement_start: str) -> Iterator[list[str]]:
    """Kill the connection just before the first statement starting with `statement_start`
    runs, i.e. in the middle of a transaction that has already written."""
    engine = get_engine()
    fired: list[str] = []

    def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not fired and statement.lstrip().upper().startswith(statement_start):
            fired.append(statement)
            _kill(conn.connection.dbapi_connection, conn.dialect.name)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield fired
    finally:
        event.remove(engine, "before_cursor_execute", before)


@contextlib.contextmanager
def database_down(engine: Engine) -> Iterator[None]:
    """No connection can be made until the block ends (the server is down, then back)."""

    def refuse(*_: Any) -> None:
        raise engine.dialect.loaded_dbapi.OperationalError("connection refused (test)")

    if ON_POSTGRES:
        _terminate_all_other_backends()
    engine.dispose()
    event.listen(engine, "do_connect", refuse)
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)


def _assert_503(response: httpx.Response, *, html: bool = False) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()
    assert "SELECT" not in response.text and "INSERT" not in response.text
    if html:
        assert response.headers["content-type"].startswith("text/html")
    else:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 503


def _counts() -> dict[str, int]:
    with transaction() as session:
        return {m.__name__: session.scalar(select(func.count()).select_from(m)) or 0
                for m in (Draft, DraftRevision, Approval, Resource, AuditEvent)}


def _draft_row(draft_id: int) -> Draft:
    with transaction() as session:
        return session.get_one(Draft, draft_id)


# --- the LLM fails: the request is kept and the draft is retryable -----------------------


LLM_FAULTS: dict[str, tuple[Callable[[], httpx.Response], str]] = {
    "timeout": (lambda: (_ for _ in ()).throw(httpx.ReadTimeout("slow")), "llm_timeout"),
    "429": (lambda: httpx.Response(429, json={"error": {"message": "slow down"}},
                                   headers={"retry-after": "0"}), "llm_rate_limited"),
    "5xx": (lambda: httpx.Response(503, json={"error": {"message": "overloaded"}}),
            "llm_server_error"),
    "garbage": (lambda: httpx.Response(200, json=openai_body("I'd love to help! ::: {{")),
                "llm_output"),
    "truncated": (lambda: httpx.Response(200, json=openai_body(
        '{"template_id": "behavioral_activation", "title": "Your pr', finish_reason="length")),
        "llm_output_truncated"),
}


@pytest.mark.parametrize("fault", list(LLM_FAULTS))
def test_llm_fault_keeps_the_request_and_a_retry_drafts_it(app, client, tenant, fault):
    make_fault, code = LLM_FAULTS[fault]
    healthy = threading.Event()
    c = make_client(client, tenant)
    link = client.post(f"/api/v1/clients/{c['id']}/link", headers=tenant.clinician).json()
    with pipeline_llm(app) as llm:
        llm.post(LLM_URL).mock(side_effect=lambda request: good_answer(request)
                               if healthy.is_set() else make_fault())
        draft = make_draft(client, tenant, c["id"])
        assert draft["status"] == "drafting_failed", draft
        assert (draft["error"] or "").startswith(code), draft["error"]
        assert draft["request"] == PORCH_REQUEST and draft["revision"] is None
        assert client.get(f"/api/v1/client-view/{link['token']}/resources").json() == []

        healthy.set()  # the provider recovers; the clinician retries
        retried = client.post(f"/api/v1/drafts/{draft['id']}/redraft", json={},
                              headers=tenant.clinician)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "in_review"
    assert retried.json()["drafter"] != "offline"
    assert retried.json()["request"] == PORCH_REQUEST
    assert retried.json()["revision"]["number"] == 1


# --- the database goes away mid-request ---------------------------------------------------


def test_database_lost_while_saving_an_edit_is_503_and_nothing_half_written(client, tenant):
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"])
    worksheet = {**draft["revision"]["worksheet"], "title": "Edited while the DB died"}
    body = {"base_revision": draft["current_revision"], "worksheet": worksheet}
    before = _counts()
    # The revision row and the draft's new revision number are already written when the
    # connection dies at the audit insert: all of it must be rolled back together.
    with database_lost_at("INSERT INTO AUDIT_EVENTS") as fired:
        response = client.patch(f"/api/v1/drafts/{draft['id']}", json=body,
                                headers=tenant.clinician)
    assert fired, "the fault was never injected"
    _assert_503(response)
    assert _counts() == before
    assert _draft_row(draft["id"]).current_revision == draft["current_revision"]
    again = client.patch(f"/api/v1/drafts/{draft['id']}", json=body, headers=tenant.clinician)
    assert again.status_code == 200, again.text  # the same request, retried, now works
    assert again.json()["revision"]["worksheet"]["title"] == "Edited while the DB died"
    with transaction() as session:
        assert audit.verify(session) == []


def test_database_lost_while_approving_leaves_the_draft_in_review(client, tenant):
    c = make_client(client, tenant)
    link = client.post(f"/api/v1/clients/{c['id']}/link", headers=tenant.clinician).json()
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    body = {"revision": draft["current_revision"]}
    before = _counts()
    with database_lost_at("INSERT INTO RESOURCES") as fired:
        response = client.post(f"/api/v1/drafts/{draft['id']}/approve", json=body,
                               headers=tenant.clinician)
    assert fired
    _assert_503(response)
    assert _counts() == before  # no approval without its resource, no status change
    assert _draft_row(draft["id"]).status == "in_review"
    assert client.get(f"/api/v1/client-view/{link['token']}/resources").json() == []
    approved = client.post(f"/api/v1/drafts/{draft['id']}/approve", json=body,
                           headers=tenant.clinician)
    assert approved.status_code == 201, approved.text
    shown = client.get(f"/api/v1/client-view/{link['token']}/resources").json()
    assert [r["worksheet"] for r in shown] == [draft["revision"]["worksheet"]]


def test_database_lost_while_storing_a_draft_keeps_the_request(client, tenant):
    """The request is committed before drafting; losing the database while the drafted
    revision is stored leaves it, and a retry drafts it."""
    c = make_client(client, tenant)
    with database_lost_at("INSERT INTO DRAFT_REVISIONS") as fired:
        response = client.post("/api/v1/drafts", headers=tenant.integration,
                               json={"client_id": c["id"], "request": PORCH_REQUEST})
    assert fired
    _assert_503(response)
    with transaction() as session:
        [kept] = session.scalars(select(Draft)).all()
        assert kept.request_text == PORCH_REQUEST
        assert session.scalar(select(func.count()).select_from(DraftRevision)) == 0
    retried = client.post(f"/api/v1/drafts/{kept.id}/redraft", json={},
                          headers=tenant.clinician)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "in_review"
    assert retried.json()["request"] == PORCH_REQUEST


def test_database_lost_under_a_web_form_is_a_503_page(client, tenant):
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"])
    csrf = web_sign_in(client, tenant)
    before = _counts()
    with database_lost_at("INSERT INTO AUDIT_EVENTS") as fired:
        response = client.post(f"/drafts/{draft['id']}/reject",
                               data={"csrf_token": csrf, "reason": "not now"})
    assert fired
    _assert_503(response, html=True)
    assert _counts() == before
    assert _draft_row(draft["id"]).status == "in_review"
    done = client.post(f"/drafts/{draft['id']}/reject",
                       data={"csrf_token": csrf, "reason": "not now"})
    assert done.status_code == 200
    assert _draft_row(draft["id"]).status == "rejected"


def test_database_down_is_503_with_retry_after_then_back(client, tenant):
    c = make_client(client, tenant)
    make_draft(client, tenant, c["id"])
    csrf = web_sign_in(client, tenant)
    assert client.get("/healthz").json()["status"] == "ok"
    with database_down(get_engine()):
        _assert_503(client.get("/healthz"))  # a load balancer stops sending requests here
        _assert_503(client.get("/api/v1/drafts", headers=tenant.clinician))
        _assert_503(client.post("/api/v1/drafts", headers=tenant.integration,
                                json={"client_id": c["id"], "request": "walk daily"}))
        _assert_503(client.get("/"), html=True)
        _assert_503(client.post("/drafts", data={"csrf_token": csrf, "client_id": c["id"],
                                                 "request_text": "walk"}), html=True)
    back = client.get("/api/v1/drafts", headers=tenant.clinician)
    assert back.status_code == 200 and len(back.json()["items"]) == 1
    assert client.get("/").status_code == 200  # the browser session survived the outage
    assert client.get("/healthz").status_code == 200


@pytest.mark.postgres
def test_postgres_killing_every_connection_between_requests_goes_unnoticed(client, tenant):
    """pool_pre_ping: connections the server dropped are replaced before use."""
    c = make_client(client, tenant)
    for _ in range(3):
        assert client.get(f"/api/v1/clients/{c['id']}", headers=tenant.clinician
                          ).status_code == 200
    assert _terminate_all_other_backends() >= 1
    assert get_engine().pool.checkedin() >= 1  # the pool still holds the dead connections
    response = client.get(f"/api/v1/clients/{c['id']}", headers=tenant.clinician)
    assert response.status_code == 200, response.text
    assert make_draft(client, tenant, c["id"])["status"] == "in_review"


@pytest.mark.postgres
def test_postgres_backend_killed_mid_transaction_by_a_second_connection(client, tenant):
    """The literal outage: every backend of the database terminated while a request is
    inside its transaction; it answers 503, and the very next request works."""
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"])
    with database_lost_at("SELECT PG_ADVISORY_XACT_LOCK") as fired:
        response = client.post(f"/api/v1/drafts/{draft['id']}/reject",
                               json={"reason": "x"}, headers=tenant.clinician)
    assert fired
    _assert_503(response)
    assert _draft_row(draft["id"]).status == "in_review"
    assert client.get(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician
                      ).status_code == 200


# --- two clinicians on one draft at once ---------------------------------------------------


def _second_clinician(tenant: Tenant) -> Principal:
    with transaction() as session:
        other = credentials.create_clinician(
            session, organisation_id=tenant.organisation_id, email=f"second{time.time_ns()}"
            "@example.org", name="Dr Second", password="another long password")
        return credentials.principal_for_clinician(other)


class Interleaving:
    """Forces two threads on one draft into their worst interleaving.

    The first caller, having read the draft, waits until the second has read it too (or,
    on PostgreSQL, is blocked on the first's row lock); the second, having read it, waits
    until the first has finished (or is blocked on the second's lock). Without locking,
    both act on the same stale read; with it, the database must serialise them.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.threads: dict[int, str] = {}
        self.read = {"first": threading.Event(), "second": threading.Event()}
        self.finished = threading.Event()

    def __enter__(self) -> Interleaving:
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _after(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        role = self.threads.get(threading.get_ident())
        if role is None or self.read[role].is_set():
            return
        if not (statement.lstrip().startswith("SELECT drafts.") and "FROM drafts" in statement):
            return
        self.read[role].set()
        me = conn.connection.dbapi_connection
        if role == "first":
            self._wait(lambda: self.read["second"].is_set(), me)
        else:
            self._wait(self.finished.is_set, me)

    def _wait(self, done: Callable[[], bool], me: Any) -> None:
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while not done() and not self._other_is_blocked(me):
            if time.monotonic() > deadline:
                raise AssertionError("the interleaving never happened")
            time.sleep(0.005)

    def _other_is_blocked(self, me: Any) -> bool:
        if self.engine.dialect.name != "postgresql":
            return False
        with _admin() as admin:
            return bool(admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> %s",
                (me.info.backend_pid,)).fetchone()[0])

    def run(self, first: Callable[[], object], second: Callable[[], object]) -> dict[str, str]:
        results: dict[str, str] = {}

        def attempt(role: str, call: Callable[[], object]) -> None:
            self.threads[threading.get_ident()] = role
            if role == "second":
                self.read["first"].wait(HANG_GUARD_SECONDS)
            try:
                with transaction() as session:
                    call_in(session, call)
                results[role] = "won"
            except Conflict:
                results[role] = "409"
            except Exception as exc:  # anything else is a failure the test reports
                results[role] = f"{type(exc).__name__}: {exc}"[:300]
            finally:
                if role == "first":
                    self.finished.set()

        threads = [threading.Thread(target=attempt, args=(role, call))
                   for role, call in (("first", first), ("second", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(HANG_GUARD_SECONDS * 2)
        return results


_local = threading.local()


def call_in(session: Any, call: Callable[[], object]) -> None:
    _local.session = session
    call()


def _session() -> Any:
    return _local.session


def _edit(principal: Principal, draft: dict[str, Any], title: str) -> Callable[[], object]:
    worksheet = Worksheet.model_validate({**draft["revision"]["worksheet"], "title": title})
    return lambda: drafts.edit_draft(_session(), principal, draft["id"], worksheet=worksheet,
                                     base_revision=draft["current_revision"])


def _approve(principal: Principal, draft: dict[str, Any]) -> Callable[[], object]:
    return lambda: approval.approve_revision(_session(), principal, draft["id"],
                                             revision=draft["current_revision"])


@pytest.fixture
def race(client, tenant):  # type: ignore[no-untyped-def]
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    alice = Principal(tenant.organisation_id, tenant.clinician_id, "clinician")
    return draft, alice, _second_clinician(tenant)


def _state(draft_id: int) -> tuple[Draft, list[DraftRevision], list[Approval], list[Resource]]:
    with transaction() as session:
        row = session.get_one(Draft, draft_id)
        revisions = list(session.scalars(select(DraftRevision).where(
            DraftRevision.draft_id == draft_id).order_by(DraftRevision.number)))
        approvals = list(session.scalars(select(Approval).where(Approval.draft_id == draft_id)))
        resources = list(session.scalars(select(Resource).where(
            Resource.approval_id.in_([a.id for a in approvals]))))
        return row, revisions, approvals, resources


def test_two_clinicians_edit_the_same_revision_one_wins_the_other_409(race):
    draft, alice, bob = race
    n = draft["current_revision"]
    with Interleaving(get_engine()) as forced:
        results = forced.run(_edit(alice, draft, "Alice's title"), _edit(bob, draft, "Bob's"))
    assert sorted(results.values()) == ["409", "won"], results
    winner = "Alice's title" if results["first"] == "won" else "Bob's"
    row, revisions, _, _ = _state(draft["id"])
    assert row.current_revision == n + 1
    assert [r.number for r in revisions] == [*range(1, n + 2)]  # one new revision, not two
    assert revisions[-1].worksheet["title"] == winner  # the winner's, not overwritten
    assert revisions[-2].worksheet == draft["revision"]["worksheet"]


@pytest.mark.parametrize("order", ["approve_first", "edit_first"])
def test_edit_and_approval_at_once_one_wins_and_the_approved_bytes_stay_current(race, order):
    draft, alice, bob = race
    n = draft["current_revision"]
    calls = [_approve(alice, draft), _edit(bob, draft, "Bob's late edit")]
    if order == "edit_first":
        calls.reverse()
    with Interleaving(get_engine()) as forced:
        results = forced.run(*calls)
    assert sorted(results.values()) == ["409", "won"], results
    approve_won = results["first" if order == "approve_first" else "second"] == "won"
    row, revisions, approvals, resources = _state(draft["id"])
    if approve_won:
        assert row.status == "approved"
        assert row.current_revision == n and len(revisions) == n  # the edit did not land
        [approved] = approvals
        assert approved.revision_id == revisions[-1].id
        assert [r.content_sha256 for r in resources] == [approved.content_sha256]
    else:
        assert row.status == "in_review" and row.current_revision == n + 1
        assert revisions[-1].worksheet["title"] == "Bob's late edit"
        assert approvals == [] and resources == []


def test_reject_and_approval_at_once_never_reject_an_approved_draft(race):
    draft, alice, bob = race
    reject = lambda: drafts.reject_draft(_session(), bob, draft["id"], reason="no")  # noqa: E731
    with Interleaving(get_engine()) as forced:
        results = forced.run(_approve(alice, draft), reject)
    assert sorted(results.values()) == ["409", "won"], results
    row, _, approvals, resources = _state(draft["id"])
    if results["first"] == "won":
        assert row.status == "approved" and len(approvals) == len(resources) == 1
    else:
        assert row.status == "rejected" and approvals == [] and resources == []


def test_two_clinicians_approve_at_once_exactly_one_resource(race):
    draft, alice, bob = race
    with Interleaving(get_engine()) as forced:
        results = forced.run(_approve(alice, draft), _approve(bob, draft))
    assert sorted(results.values()) == ["409", "won"], results
    _, _, approvals, resources = _state(draft["id"])
    assert len(approvals) == 1 and len(resources) == 1


def test_a_lost_race_over_http_is_409_problem(client, tenant):
    c = make_client(client, tenant)
    draft = make_draft(client, tenant, c["id"])
    body = {"base_revision": draft["current_revision"],
            "worksheet": {**draft["revision"]["worksheet"], "title": "first"}}
    assert client.patch(f"/api/v1/drafts/{draft['id']}", json=body,
                        headers=tenant.clinician).status_code == 200
    lost = client.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician,
                        json={**body, "worksheet": {**body["worksheet"], "title": "second"}})
    assert lost.status_code == 409
    assert lost.headers["content-type"].startswith("application/problem+json")
    kept = client.get(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician).json()
    assert kept["revision"]["worksheet"]["title"] == "first"


def _hold_the_audit_lock(held: threading.Event, release: threading.Event,
                         released_at: list[float]) -> None:
    """Another request mid-transaction, holding the audit chain's lock until told (or 5 s)."""
    with transaction() as session:
        audit.lock_chain(session)
        held.set()
        release.wait(5)
        released_at.append(time.monotonic())


def test_drafting_waiting_for_a_lock_never_stalls_the_event_loop(client, tenant):
    """A draft job blocked on the audit lock must leave the loop free: a request whose commit
    needs the loop would otherwise never release the lock (this hung CI on PostgreSQL)."""
    principal = Principal(tenant.organisation_id, tenant.clinician_id, "clinician")
    c = make_client(client, tenant)
    with transaction() as session:
        draft_id = drafts.create_draft(session, principal, client_id=c["id"],
                                       request_text=PORCH_REQUEST, preferences=Preferences()).id
    held, release, released_at = threading.Event(), threading.Event(), []
    holder = threading.Thread(target=_hold_the_audit_lock, args=(held, release, released_at))
    holder.start()
    assert held.wait(5)

    async def draft_while_locked() -> float:
        job = asyncio.create_task(drafts.run_drafting(draft_id, get_settings()))
        await asyncio.sleep(0.3)  # the loop must get here while the lock is still held
        loop_free_at = time.monotonic()
        release.set()
        await job
        return loop_free_at

    loop_free_at = asyncio.run(draft_while_locked())
    holder.join()
    assert loop_free_at < released_at[0], "the event loop waited for the lock"
    with transaction() as session:
        assert session.get_one(Draft, draft_id).status == "in_review"


def test_parallel_wrong_passwords_all_count_toward_the_lockout(tenant):
    """Five guesses at once lock the account just as five in a row do (no lost update)."""
    from service.auth import credentials
    from service.errors import TooManyRequests, Unauthorized

    barrier = threading.Barrier(credentials.MAX_FAILED_LOGINS)
    refused: list[str] = []

    def guess() -> None:
        barrier.wait(5)
        with transaction() as session:  # as the login route: the refusal is committed
            try:
                credentials.authenticate_clinician(session, email=tenant.email, password="no")
            except (Unauthorized, TooManyRequests) as exc:
                refused.append(type(exc).__name__)

    threads = [threading.Thread(target=guess) for _ in range(credentials.MAX_FAILED_LOGINS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refused == ["Unauthorized"] * credentials.MAX_FAILED_LOGINS, refused
    with transaction() as session:
        locked = session.get_one(Clinician, tenant.clinician_id).locked_until_at
    assert locked is not None and locked > credentials.now()


def test_a_restart_resumes_requests_and_dead_claims_but_not_live_ones(tenant):
    """The server died after storing two requests (one never started, one claimed by a
    worker that died with it) while a live worker still holds a third: starting the app
    drafts the first two, on SQLite by its own tasks and on PostgreSQL through the queue,
    and leaves the live claim to its owner."""
    from fastapi.testclient import TestClient
    from sqlalchemy import update

    from service.app import create_app
    from service.clock import now

    principal = Principal(tenant.organisation_id, tenant.clinician_id, "clinician")
    with TestClient(create_app()) as http:
        c = make_client(http, tenant)
    with transaction() as session:
        ids = [drafts.create_draft(session, principal, client_id=c["id"],
                                   request_text=PORCH_REQUEST, preferences=Preferences()).id
               for _ in range(3)]
    never_started, dead, live = ids
    with transaction() as session:
        session.execute(update(Draft).where(Draft.id == dead).values(
            status="drafting", updated_at=now() - dt.timedelta(minutes=10)))
        session.execute(update(Draft).where(Draft.id == live).values(status="drafting"))

    with TestClient(create_app()) as http:
        resumed = [drafted(http, tenant, d) for d in (never_started, dead)]
        assert [d["status"] for d in resumed] == ["in_review", "in_review"]
        assert all(d["revision"]["number"] == 1 for d in resumed)
    with transaction() as session:
        assert session.get_one(Draft, live).status == "drafting"
        assert session.scalar(select(func.count()).select_from(DraftRevision)
                              .where(DraftRevision.draft_id == live)) == 0
