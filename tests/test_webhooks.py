"""Webhooks against a real receiver on loopback: signed per Standard Webhooks, retried with
backoff, replayable, logged, scoped to the organisation, and carrying ids only (no PHI)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from service.clock import now
from service.config import get_settings
from service.db import transaction
from service.models import WebhookDelivery
from service.webhooks import dispatcher
from tests.factories import PORCH_REQUEST, Tenant, make_client, make_draft
from tests.test_workflow import _fix_errors

CLIENT_NAME = "Philippa Underhill-Brackett"


@dataclass
class Receiver:
    """A loopback HTTP server that records each POST and answers from a script."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to give, then 200

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.answers.pop(0) if state.answers else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _register(http, tenant: Tenant, url: str, events: list[str] | None = None) -> dict:  # type: ignore[no-untyped-def]
    body: dict[str, object] = {"url": url}
    if events is not None:
        body["events"] = events
    response = http.post("/api/v1/webhooks/endpoints", headers=tenant.integration, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _approved(http, tenant: Tenant) -> dict:  # type: ignore[no-untyped-def]
    c = make_client(http, tenant, name=CLIENT_NAME)
    draft = _fix_errors(http, tenant, make_draft(http, tenant, c["id"]))
    response = http.post(f"/api/v1/drafts/{draft['id']}/approve", headers=tenant.clinician,
                         json={"revision": draft["current_revision"]})
    assert response.status_code == 201, response.text
    return response.json()


def _deliveries(http, tenant: Tenant, **params: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = http.get("/api/v1/webhooks/deliveries", headers=tenant.integration,
                        params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_events_arrive_signed_with_ids_only(client, tenant, receiver):
    endpoint = _register(client, tenant, receiver.url)
    assert endpoint["secret"].startswith("whsec_")
    resource = _approved(client, tenant)
    logged = client.post(f"/api/v1/resources/{resource['id']}/check-ins",
                         headers=tenant.integration,
                         json={"outcome": "partial", "note": "my manager phoned at 8"})
    assert logged.status_code == 201

    assert dispatcher.deliver_due() == 3
    assert [b["type"] for b in receiver.bodies()] == [
        "draft.ready", "draft.approved", "resource.checked_in"]
    verifier = Webhook(endpoint["secret"])
    for headers, body in receiver.received:
        verified = verifier.verify(body, headers)  # raises on a bad signature or stale stamp
        assert set(verified["data"]) <= {"draft_id", "client_id", "revision", "resource_id",
                                         "check_in_id"}
        assert all(isinstance(v, int) for v in verified["data"].values())
        text = body.decode()
        for phi in (CLIENT_NAME, "porch", "manager", PORCH_REQUEST[:20]):
            assert phi not in text
    approved = receiver.bodies()[1]["data"]
    assert approved["resource_id"] == resource["id"]
    assert {d["status"] for d in _deliveries(client, tenant)} == {"delivered"}


def test_a_forged_or_altered_delivery_fails_verification(client, tenant, receiver):
    endpoint = _register(client, tenant, receiver.url, events=["draft.approved"])
    _approved(client, tenant)
    dispatcher.deliver_due()
    (headers, body), = receiver.received
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(body.replace(b"draft.approved", b"draft.rejected"),
                                           headers)
    other_secret = _register(client, tenant, receiver.url)["secret"]
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(body, headers)


def test_a_failing_receiver_is_retried_with_backoff_then_marked_failed(client, tenant,
                                                                       receiver):
    _register(client, tenant, receiver.url, events=["draft.approved"])
    _approved(client, tenant)
    settings = get_settings()
    receiver.answers = [500] * 10
    start = now()
    assert dispatcher.deliver_due(start) == 1
    (row,) = _deliveries(client, tenant)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("pending", 1, 500)
    wait = dt.datetime.fromisoformat(row["next_attempt_at"]) - start
    first = settings.webhook_retry_seconds[0]
    assert first * 0.9 <= wait.total_seconds() <= first * 1.1

    assert dispatcher.deliver_due(start + dt.timedelta(seconds=first * 0.5)) == 0  # not due
    at = start
    for _ in range(dispatcher.max_attempts(settings) - 1):
        at += dt.timedelta(days=2)  # past every delay in the schedule
        assert dispatcher.deliver_due(at) == 1
    (row,) = _deliveries(client, tenant)
    assert (row["status"], row["attempts"]) == ("failed", dispatcher.max_attempts(settings))
    assert dispatcher.deliver_due(at + dt.timedelta(days=30)) == 0  # failed rows stay failed
    assert len(receiver.received) == dispatcher.max_attempts(settings)
    assert len({h["webhook-id"] for h, _ in receiver.received}) == 1  # same message each time
    assert _deliveries(client, tenant, status="failed")[0]["id"] == row["id"]
    assert _deliveries(client, tenant, status="delivered") == []


def test_a_receiver_that_recovers_gets_the_event_once(client, tenant, receiver):
    _register(client, tenant, receiver.url, events=["draft.approved"])
    _approved(client, tenant)
    receiver.answers = [503]
    start = now()
    dispatcher.deliver_due(start)
    dispatcher.deliver_due(start + dt.timedelta(hours=1))
    dispatcher.deliver_due(start + dt.timedelta(hours=2))
    (row,) = _deliveries(client, tenant)
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 2, None)
    assert len(receiver.received) == 2


def test_a_receiver_down_for_an_hour_gets_every_event_once_when_it_is_back(client, tenant,
                                                                          receiver):
    """The dispatcher polls every minute through a one-hour outage, while the service keeps
    approving: backoff keeps the retries few, nothing fails or is dropped, and once the
    receiver is back each event arrives exactly once."""
    _register(client, tenant, receiver.url, events=["draft.approved"])
    before = [_approved(client, tenant) for _ in range(2)]
    receiver.answers = [503] * 1000
    start, back_at = now(), now() + dt.timedelta(hours=1)
    at, during = start, 0
    while at < start + dt.timedelta(hours=3):
        if at >= start + dt.timedelta(minutes=30) and len(before) == 2:
            before.append(_approved(client, tenant))  # the service works on meanwhile
        if at >= back_at and receiver.answers:
            during, receiver.answers = len(receiver.received), []
        dispatcher.deliver_due(at)
        at += dt.timedelta(minutes=1)

    rows = _deliveries(client, tenant)
    assert [r["status"] for r in rows] == ["delivered"] * 3, rows
    # 30 s, 2 min, 10 min, then an hour: at most four tries each while it was down
    assert 3 <= during <= 4 * 3, during
    delivered = [json.loads(b)["data"]["resource_id"] for _, b in receiver.received[during:]]
    assert sorted(delivered) == sorted(r["id"] for r in before)  # each once, none lost
    assert len({h["webhook-id"] for h, _ in receiver.received[during:]}) == 3
    for resource in before:  # the outage touched nothing the clinicians approved
        again = client.get(f"/api/v1/resources/{resource['id']}", headers=tenant.clinician)
        assert again.json()["content_sha256"] == resource["content_sha256"]


def test_an_unreachable_receiver_is_an_error_not_a_crash(client, tenant, receiver):
    _register(client, tenant, "http://127.0.0.1:9/nothing-listens", events=["draft.approved"])
    _approved(client, tenant)
    assert dispatcher.deliver_due() == 1
    (row,) = _deliveries(client, tenant)
    assert row["status"] == "pending" and row["last_status_code"] is None
    assert row["last_error"] == "ConnectError"


def test_replay_sends_the_same_event_as_a_new_message(client, tenant, receiver):
    _register(client, tenant, receiver.url, events=["draft.approved"])
    _approved(client, tenant)
    dispatcher.deliver_due()
    (original,) = _deliveries(client, tenant)
    response = client.post(f"/api/v1/webhooks/deliveries/{original['id']}/replay",
                           headers=tenant.integration)
    assert response.status_code == 202, response.text
    replay = response.json()
    assert replay["replay_of_id"] == original["id"] and replay["status"] == "pending"
    assert dispatcher.deliver_due() == 1
    first, second = receiver.received
    assert first[1] == second[1]  # the same payload
    assert first[0]["webhook-id"] != second[0]["webhook-id"] == replay["event_id"]


def test_a_deleted_endpoint_gets_nothing_more(client, tenant, receiver):
    endpoint = _register(client, tenant, receiver.url, events=["draft.approved"])
    _approved(client, tenant)  # queued while the endpoint lived
    assert client.delete(f"/api/v1/webhooks/endpoints/{endpoint['id']}",
                         headers=tenant.integration).status_code == 204
    assert dispatcher.deliver_due() == 0
    assert receiver.received == []
    (row,) = _deliveries(client, tenant)
    assert (row["status"], row["last_error"]) == ("failed", "endpoint deleted")
    replay = client.post(f"/api/v1/webhooks/deliveries/{row['id']}/replay",
                         headers=tenant.integration)
    assert replay.status_code == 409
    assert client.get("/api/v1/webhooks/endpoints", headers=tenant.integration).json() == []
    _approved(client, tenant)  # after deletion: nothing queued at all
    assert len(_deliveries(client, tenant)) == 1


def test_the_secret_is_shown_once_and_urls_are_checked(client, tenant, receiver):
    created = _register(client, tenant, receiver.url)
    (listed,) = client.get("/api/v1/webhooks/endpoints", headers=tenant.integration).json()
    assert listed["id"] == created["id"] and "secret" not in listed
    assert set(listed["events"]) == {"draft.ready", "draft.approved", "resource.checked_in"}
    for url, word in (("ftp://example.org/x", "http"), ("https://user:pw@example.org/h",
                                                       "credentials"), ("not a url", "http")):
        response = client.post("/api/v1/webhooks/endpoints", headers=tenant.integration,
                               json={"url": url})
        assert response.status_code == 422, url
        assert word in response.text
    unknown = client.post("/api/v1/webhooks/endpoints", headers=tenant.integration,
                          json={"url": receiver.url, "events": ["client.deleted"]})
    assert unknown.status_code == 422


def test_in_production_a_receiver_is_https_on_a_public_address(client, tenant, receiver,
                                                                monkeypatch):
    monkeypatch.setattr(get_settings(), "webhook_private_urls", False)  # production's default
    dns = {"hooks.pms.example": "93.184.215.14"}
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host in dns:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (dns[host], 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    for url, word in ((receiver.url, "https"), ("https://127.0.0.1/h", "non-public"),
                      ("https://localhost/h", "non-public"), ("https://10.1.2.3/h", "non-public"),
                      ("https://169.254.169.254/latest/meta-data", "non-public"),
                      ("https://[::1]/h", "non-public"),
                      ("https://[::ffff:127.0.0.1]/h", "non-public")):
        response = client.post("/api/v1/webhooks/endpoints", headers=tenant.integration,
                               json={"url": url})
        assert response.status_code == 422, url
        assert word in response.json()["detail"], url
    _register(client, tenant, "https://hooks.pms.example/h", events=["draft.approved"])
    dns["hooks.pms.example"] = "10.0.0.7"  # the name now points inside (DNS rebinding)
    _approved(client, tenant)
    assert dispatcher.deliver_due() == 1
    (row,) = _deliveries(client, tenant)
    assert row["status"] == "pending" and "non-public address (10.0.0.7)" in row["last_error"]
    assert receiver.received == []


def test_webhooks_are_scoped_to_the_organisation(client, tenant, other_tenant, receiver):
    mine = _register(client, tenant, receiver.url, events=["draft.approved"])
    _register(client, other_tenant, receiver.url + "/other", events=["draft.approved"])
    _approved(client, tenant)
    dispatcher.deliver_due()
    assert len(receiver.received) == 1  # the other practice's endpoint heard nothing
    (row,) = _deliveries(client, tenant)
    assert row["endpoint_id"] == mine["id"]
    assert _deliveries(client, other_tenant) == []
    h = other_tenant.integration
    assert client.post(f"/api/v1/webhooks/deliveries/{row['id']}/replay",
                       headers=h).status_code == 404
    assert client.delete(f"/api/v1/webhooks/endpoints/{mine['id']}",
                         headers=h).status_code == 404


def test_a_refused_change_announces_nothing(client, tenant, receiver):
    _register(client, tenant, receiver.url)
    c = make_client(client, tenant)
    draft = _fix_errors(client, tenant, make_draft(client, tenant, c["id"]))
    stale = draft["current_revision"] - 1  # approval of a revision the clinician moved past
    response = client.post(f"/api/v1/drafts/{draft['id']}/approve", headers=tenant.clinician,
                           json={"revision": stale})
    assert response.status_code == 409, response.text
    with transaction() as session:
        assert [d.event_type for d in session.scalars(select(WebhookDelivery))] == [
            "draft.ready"]  # the drafter's revision, and nothing from the refused approval


def test_the_background_dispatcher_sends_within_its_poll_interval(client, tenant, receiver):
    _register(client, tenant, receiver.url, events=["draft.approved"])
    _approved(client, tenant)
    settings = get_settings().model_copy(update={"webhook_dispatch": True,
                                                 "webhook_poll_seconds": 0.05})

    async def run_for_a_moment() -> None:
        async with dispatcher.running(settings):
            for _ in range(100):
                if receiver.received:
                    return
                await asyncio.sleep(0.05)

    asyncio.run(run_for_a_moment())
    assert len(receiver.received) == 1
    assert _deliveries(client, tenant)[0]["status"] == "delivered"
