"""The scaled set-up of docs/deploy.md: two `homework serve` processes on one PostgreSQL,
each running a queue worker, with a slow LLM (the benchmark's mock) behind them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.run import Mock, Service

pytestmark = pytest.mark.postgres
N_DRAFTS = 24
DONE = {"in_review", "drafting_failed"}


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[Mock]:
    mock = Mock(tmp_path)
    try:
        mock.configure(latency_ms=300)  # long enough that both workers hold jobs at once
        yield mock
    finally:
        mock.close()


@pytest.fixture
def servers(tmp_path: Path, mock: Mock) -> Iterator[tuple[Service, Service]]:
    env = {"HOMEWORK_WEBHOOK_DISPATCH": "false", "HOMEWORK_QUEUE_CONCURRENCY": "4"}
    pair = [Service(name, tmp_path, mock, database_url=os.environ["HOMEWORK_DATABASE_URL"],
                    extra_env=env) for name in ("a", "b")]
    try:
        for server in pair:
            server.start()
        yield pair[0], pair[1]
    finally:
        for server in pair:
            server.close()


def _wait_for(server: Service, ids: list[int], timeout_s: float = 90) -> list[dict]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as http:
        while True:
            drafts = [http.get(f"/api/v1/drafts/{i}").json() for i in ids]
            if all(d["status"] in DONE for d in drafts) or time.monotonic() > deadline:
                return drafts
            time.sleep(0.25)


def test_two_app_servers_draft_each_queued_request_exactly_once(servers, mock):
    a, b = servers
    assert a.client_id == b.client_id, "one database: the upsert found the same client"
    ids = []
    for i in range(N_DRAFTS):
        server = (a, b)[i % 2]
        response = httpx.post(f"{server.url}/api/v1/drafts", json=server.draft_body(i),
                              headers={**server.headers, "Prefer": "respond-async"}, timeout=30)
        assert response.status_code == 202, response.text
        ids.append(int(response.json()["id"]))
    drafts = _wait_for(a, ids)
    assert [d["status"] for d in drafts] == ["in_review"] * N_DRAFTS, drafts
    assert all(d["llm_calls"] == 1 and d["current_revision"] == 1 for d in drafts)
    assert mock.stats()["calls"] == N_DRAFTS, "no job ran twice, on either server"
    # both servers see the same drafts, whichever took the request
    with httpx.Client(base_url=b.url, headers=b.headers, timeout=30) as http:
        assert [http.get(f"/api/v1/drafts/{i}").json()["status"] for i in ids] == \
            ["in_review"] * N_DRAFTS


def test_a_job_queued_while_no_worker_runs_is_drafted_by_the_next_server(servers, mock):
    a, b = servers
    for server in (a, b):
        server.close()
    a.start(env={"HOMEWORK_QUEUE_CONCURRENCY": "0"})  # takes requests, runs no jobs
    response = httpx.post(f"{a.url}/api/v1/drafts", json=a.draft_body(0),
                          headers={**a.headers, "Prefer": "respond-async"}, timeout=30)
    assert response.status_code == 202, response.text
    draft_id = int(response.json()["id"])
    a.close()
    assert mock.stats()["calls"] == 0, "stored and queued, not drafted"
    b.start()  # another server, worker on: it finds the waiting job
    [draft] = _wait_for(b, [draft_id])
    assert draft["status"] == "in_review" and draft["llm_calls"] == 1
    assert mock.stats()["calls"] == 1
